package console

import (
	"strings"

	"github.com/rosterhq/roster"
)

// ViewPage is a GET account page that needs nothing but the account's ID,
// for the browser walk (ux_test.go).
type ViewPage struct {
	Key  string // the path after /accounts/{id}, without its slash: "" is the overview
	Perm roster.Permission
}

// ViewPages lists the account table's HTML pages that take no parameter
// but {id}, so pages added later are walked too.
func ViewPages() []ViewPage {
	var out []ViewPage
	for _, pg := range accountPages() {
		rest, ok := strings.CutPrefix(pg.pattern, "GET /accounts/{id}")
		if !ok || strings.Contains(rest, "{") || strings.Contains(rest, ".") {
			continue
		}
		out = append(out, ViewPage{Key: strings.TrimPrefix(rest, "/"), Perm: pg.perm})
	}
	return out
}
