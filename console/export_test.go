package console

import (
	"strings"

	"github.com/rosterhq/roster"
)

// ViewPage is a GET account page, for the browser walk (ux_test.go).
type ViewPage struct {
	// Key is the path after /accounts/{id}, without its slash ("" is the
	// overview), with the table's other parameters left in: "numbers/{number}/edit".
	Key  string
	Perm roster.Permission
}

// ViewPages lists the account table's HTML pages (not the CSV exports),
// so pages added later are walked too.
func ViewPages() []ViewPage {
	var out []ViewPage
	for _, pg := range accountPages() {
		rest, ok := strings.CutPrefix(pg.pattern, "GET /accounts/{id}")
		if !ok || strings.HasSuffix(rest, ".csv") {
			continue
		}
		out = append(out, ViewPage{Key: strings.TrimPrefix(rest, "/"), Perm: pg.perm})
	}
	return out
}
