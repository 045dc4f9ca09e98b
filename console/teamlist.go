package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// The Team page at any size: the members and the pending invitations,
// each searched, filtered, sorted and paged by the service (keyset, on its
// cursors), every choice in the query string so that a page of the list
// is a link. A filter or a cursor the page does not understand is never an
// error page: the list shows its first page and says why.

func init() {
	// thousands writes a count as a person reads it: 10,000.
	funcs["thousands"] = thousands
	// inviteForms is the data of the invite forms (partials/invite-forms.html):
	// the same forms in the Team page's dialog and on the invite page.
	funcs["inviteForms"] = func(p *page, dialog bool) inviteFormsPart {
		return inviteFormsPart{P: p, Dialog: dialog, Roles: roster.Roles[1:], DefaultRole: roster.LeastPowerful.String(), MaxBatch: service.MaxInviteBatch}
	}
}

// inviteFormsPart is what the invite forms are drawn from; in the dialog
// their headings are one level lower.
type inviteFormsPart struct {
	P           *page
	Dialog      bool
	Roles       []roster.Role
	DefaultRole string
	MaxBatch    int
}

// teamPageSize is how many rows a page of either list shows.
const teamPageSize = 50

// maxSearch is the longest search the page passes on, in characters:
// the service's bound (an address is at most 254).
const maxSearch = service.ListMaxSearch

// The query-string keys of each list. The invitations' keys are prefixed
// so that paging one list keeps the other where it is.
var (
	memberKeys     = listKeys{"q", "role", "status", "mfa", "sort", "order", "after", "before"}
	invitationKeys = listKeys{Q: "iq", Role: "irole", Status: "istatus", Sort: "isort", Order: "iorder", After: "iafter", Before: "ibefore"}
)

// listKeys names one list's query-string keys.
type listKeys struct{ Q, Role, Status, MFA, Sort, Order, After, Before string }

// listForm is a list's search form as shown: the values the list was
// read with (a value refused is shown as its default).
type listForm struct {
	Q, Role, Status, MFA, Sort, Order string
}

// pager is a list's position and its links: "1–50 of 10,000", First,
// Previous, Next and Last. A link is "" where there is nowhere to go.
type pager struct {
	From, To, Total, All    int
	First, Prev, Next, Last string
	Filtered                bool // a search or a filter narrows the list
}

type teamData struct {
	Members     []roster.Member
	Invitations []roster.Invitation
	Roles       []roster.Role // the roles an invitation or a role change offers (every role but owner)
	AllRoles    []roster.Role // the roles a filter offers
	CanEdit     bool
	Committed   bool
	Me          int64
	DefaultRole string // the invite form's choice unless another is made
	OnlyMember  bool   // the caller is the account's only member
	// The lists' forms, positions and what was not understood.
	MF, IF             listForm
	MPage, IPage       pager
	MNotice, INotice   string
	MHidden, IHidden   []hiddenField // the other list's state, carried by each list's form
	MSorts, ISorts     []listOption
	MStatuses, IStates []listOption
	InviteHref         string
	MaxSearch          int
	// The outcome of a bulk invite, line by line, when one was just sent.
	Batch        []batchRow
	BatchCreated int
	MaxBatch     int
}

type hiddenField struct{ Name, Value string }

type listOption struct{ Value, Label string }

var (
	memberSorts       = []listOption{{"", "Owner first, then joined"}, {"name", "Name"}, {"role", "Role"}, {"joined", "Joined"}}
	invitationSorts   = []listOption{{"", "Newest sent first"}, {"email", "Address"}, {"role", "Role"}, {"sent", "Sent"}, {"expires", "Expires"}}
	memberStatuses    = []listOption{{"", "Any status"}, {string(roster.MemberActive), "Active"}, {string(roster.MemberSuspended), "Suspended"}, {string(roster.MemberDeactivated), "Deactivated"}}
	invitationStatues = []listOption{{"", "Any status"}, {string(roster.InvitationPending), "Pending"},
		{string(roster.InvitationExpired), "Expired"}, {string(roster.InvitationSuspended), "Suspended"}}
)

// teamData reads both lists as the request's query string asks.
func (c *Console) teamData(r *http.Request, x *actx) (teamData, error) {
	v := r.URL.Query()
	d := teamData{Roles: roster.Roles[1:], AllRoles: roster.Roles, Me: x.u.ID, MaxBatch: service.MaxInviteBatch,
		CanEdit: x.caller.Can(roster.TeamEdit), Committed: x.a.Plan == roster.PlanCommitted,
		DefaultRole: roster.LeastPowerful.String(), InviteHref: x.path("/team/invite"), MaxSearch: maxSearch,
		MSorts: memberSorts, ISorts: invitationSorts, MStatuses: memberStatuses, IStates: invitationStatues}

	mq, mf, mbad := memberQuery(v)
	ml, err := c.svc.MemberList(r.Context(), x.a, mq)
	for try := 0; roster.ErrorCode(err) == roster.EINVALID && try < 2; try++ {
		if mq.After != "" || mq.Before != "" {
			mq.After, mq.Before = "", ""
			mbad = "That page of the member list no longer exists (the link was old or altered), so this is the first page."
		} else {
			mq, mf = roster.MemberQuery{Limit: teamPageSize}, listForm{}
			mbad = "The member list could not be searched that way, so it shows every member."
		}
		ml, err = c.svc.MemberList(r.Context(), x.a, mq)
	}
	if err != nil {
		return teamData{}, err
	}
	iq, inf, ibad := invitationQuery(v)
	il, err := c.svc.InvitationList(r.Context(), x.a, iq)
	for try := 0; roster.ErrorCode(err) == roster.EINVALID && try < 2; try++ {
		if iq.After != "" || iq.Before != "" {
			iq.After, iq.Before = "", ""
			ibad = "That page of the invitations no longer exists (the link was old or altered), so this is the first page."
		} else {
			iq, inf = roster.InvitationQuery{Limit: teamPageSize}, listForm{}
			ibad = "The invitations could not be searched that way, so the list shows every pending invitation."
		}
		il, err = c.svc.InvitationList(r.Context(), x.a, iq)
	}
	if err != nil {
		return teamData{}, err
	}
	d.Members, d.Invitations, d.MF, d.IF, d.MNotice, d.INotice = ml.Members, il.Invitations, mf, inf, mbad, ibad
	d.OnlyMember = ml.All == 1 && len(ml.Members) == 1 && ml.Members[0].UserID == x.u.ID
	base := x.path("/team")
	d.MPage = pagerOf(base, v, memberKeys, ml.Start, len(ml.Members), ml.Total, ml.All, ml.Prev, ml.Next, "#members-heading")
	d.MPage.Filtered = mf.Q != "" || mf.Role != "" || mf.Status != "" || mf.MFA != ""
	d.IPage = pagerOf(base, v, invitationKeys, il.Start, len(il.Invitations), il.Total, il.All, il.Prev, il.Next, "#invitations-heading")
	d.IPage.Filtered = inf.Q != "" || inf.Role != "" || inf.Status != ""
	d.MHidden, d.IHidden = hiddenOf(v, invitationKeys), hiddenOf(v, memberKeys)
	return d, nil
}

// memberQuery reads the member list's query from the query string: the
// query, the form as shown, and, when a value was not understood, what
// the page says about it (the value is dropped, the rest kept).
func memberQuery(v url.Values) (roster.MemberQuery, listForm, string) {
	k := memberKeys
	q := roster.MemberQuery{Limit: teamPageSize, After: v.Get(k.After), Before: v.Get(k.Before)}
	var bad []string
	f := listForm{}
	q.Search, f.Q = search(v.Get(k.Q), &bad)
	if s := v.Get(k.Role); s != "" {
		if r, err := roster.ParseRole(s); err == nil {
			q.Role, f.Role = r, s
		} else {
			bad = append(bad, "there is no such role")
		}
	}
	switch s := roster.MemberStatus(v.Get(k.Status)); s {
	case "", roster.MemberActive, roster.MemberSuspended, roster.MemberDeactivated:
		q.Status, f.Status = s, string(s)
	default:
		bad = append(bad, "there is no such status")
	}
	switch s := v.Get(k.MFA); s {
	case "", "on", "off":
		q.MFA, f.MFA = s, s
	default:
		bad = append(bad, "two-factor sign-in is either on or off")
	}
	switch s := v.Get(k.Sort); s {
	case "", "name", "role", "joined":
		q.Sort, f.Sort = s, s
	default:
		bad = append(bad, "the list sorts by name, role or joined date")
	}
	q.Desc, f.Order = order(v.Get(k.Order), &bad)
	return q, f, notice(bad, "member")
}

// invitationQuery is memberQuery for the pending invitations.
func invitationQuery(v url.Values) (roster.InvitationQuery, listForm, string) {
	k := invitationKeys
	q := roster.InvitationQuery{Limit: teamPageSize, After: v.Get(k.After), Before: v.Get(k.Before)}
	var bad []string
	f := listForm{}
	q.Search, f.Q = search(v.Get(k.Q), &bad)
	if s := v.Get(k.Role); s != "" {
		if r, err := roster.ParseRole(s); err == nil {
			q.Role, f.Role = r, s
		} else {
			bad = append(bad, "there is no such role")
		}
	}
	switch s := roster.InvitationStatus(v.Get(k.Status)); s {
	case "", roster.InvitationPending, roster.InvitationExpired, roster.InvitationSuspended:
		q.Status, f.Status = s, string(s)
	default:
		bad = append(bad, "there is no such status")
	}
	switch s := v.Get(k.Sort); s {
	case "", "email", "role", "sent", "expires":
		q.Sort, f.Sort = s, s
	default:
		bad = append(bad, "the list sorts by address, role, sent or expiry date")
	}
	q.Desc, f.Order = order(v.Get(k.Order), &bad)
	return q, f, notice(bad, "invitation")
}

func search(s string, bad *[]string) (string, string) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxSearch {
		*bad = append(*bad, "a search is at most "+strconv.Itoa(maxSearch)+" characters")
		return "", ""
	}
	return s, s
}

func order(s string, bad *[]string) (bool, string) {
	switch s {
	case "", "asc":
		return false, s
	case "desc":
		return true, s
	}
	*bad = append(*bad, "the order is ascending or descending")
	return false, ""
}

// notice words what was not understood: "Part of the search was not
// understood (there is no such role), so it was left out."
func notice(bad []string, what string) string {
	if len(bad) == 0 {
		return ""
	}
	return "Part of the " + what + " search was not understood (" + strings.Join(bad, "; ") + "), so it was left out."
}

// pagerOf builds a list's position and links. Each link keeps the query
// string but for the list's cursors (other's keys are kept as they are).
func pagerOf(base string, v url.Values, k listKeys, start, n, total, all int, prev, next, anchor string) pager {
	p := pager{Total: total, All: all}
	if n > 0 {
		p.From, p.To = start, start+n-1
	}
	link := func(key, cursor string) string {
		w := url.Values{}
		for name, vals := range v {
			if name == k.After || name == k.Before {
				continue
			}
			for _, s := range vals {
				if s != "" {
					w.Add(name, s)
				}
			}
		}
		if key != "" {
			w.Set(key, cursor)
		}
		if len(w) == 0 {
			return base + anchor
		}
		return base + "?" + w.Encode() + anchor
	}
	if prev != "" {
		p.First, p.Prev = link("", ""), link(k.Before, prev)
	}
	if next != "" {
		p.Next, p.Last = link(k.After, next), link(k.Before, roster.LastPage)
	}
	return p
}

// hiddenOf carries a list's search state (not its cursors) through the
// other list's form, so that searching one keeps the other as it was.
func hiddenOf(v url.Values, k listKeys) []hiddenField {
	var out []hiddenField
	for _, name := range []string{k.Q, k.Role, k.Status, k.MFA, k.Sort, k.Order} {
		if s := v.Get(name); name != "" && s != "" {
			out = append(out, hiddenField{name, s})
		}
	}
	return out
}

// thousands writes n with a comma every three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (c *Console) team(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.teamData(r, x)
	if err != nil {
		return err
	}
	if st := x.p.State; st != nil && st.Batch != nil {
		// The bulk invite's outcome, line by line (inviteBatch), and the
		// refused lines back in the bulk form, to be corrected.
		d.Batch = st.Batch
		for _, row := range st.Batch {
			if row.Created {
				d.BatchCreated++
			}
		}
		if st.Form != nil {
			x.p.Form = st.Form
		}
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "team", x.p)
	return nil
}

// inviteData is the invite page's: the forms of the Team page's dialog,
// on a page of their own for a browser without JavaScript.
type inviteData struct {
	Roles       []roster.Role
	Committed   bool
	DefaultRole string
	MaxBatch    int
}

// invitePeople is the invite dialog's own page: the single and the bulk
// invite, and where a refused invite is shown again with what was typed.
func (c *Console) invitePeople(w http.ResponseWriter, r *http.Request, x *actx) error {
	x.p.Data = inviteData{Roles: roster.Roles[1:], Committed: x.a.Plan == roster.PlanCommitted,
		DefaultRole: roster.LeastPowerful.String(), MaxBatch: service.MaxInviteBatch}
	c.render(w, http.StatusOK, "invite-people", x.p)
	return nil
}
