package console

import "net/http"

// confirmation is the console's one pattern for what cannot be undone: a
// page that says what will happen, an optional choice (the rotation's
// grace period), the button that does it, and a way back. The action
// happens only when that page's form is posted.
type confirmation struct {
	Heading  string   // "Remove Ada Lovelace from this account?"
	Lead     string   // the first, bold sentence: "This is irreversible."
	Body     []string // what happens, one paragraph each
	Action   string   // where the form posts
	Button   string   // the button's words: "Remove from this account"
	ButtonID string   // the button's id, for tests: "confirm-delete"
	Back     string   // where Cancel goes
	Choice   *choice  // asked before the action, or nil
	// Warning is what the action leaves undone and the person should
	// know first (a removed member may have read the Auth Token), one
	// paragraph each, shown above the form with Link, when set.
	Warning []string
	Link    *link
}

// link is a way to the next thing to do.
type link struct {
	Href, Text, ID string
}

// choice is one question on a confirmation page, answered with radio
// buttons; the option marked Default is checked.
type choice struct {
	Name, Legend string
	Options      []option
}

type option struct {
	Value, Label, Hint string
	Default            bool
}

// confirm shows cf as the page.
func (c *Console) confirm(w http.ResponseWriter, x *actx, cf confirmation) error {
	x.p.Data = cf
	c.render(w, http.StatusOK, "confirm", x.p)
	return nil
}
