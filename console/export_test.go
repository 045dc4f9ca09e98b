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

// FormRoute is a form's route of the tables: its pattern, and whether a
// GET page has the same pattern.
type FormRoute struct {
	Pattern string // "POST /accounts/{id}/team/invite"
	HasGET  bool
}

// FormRoutes lists every POST route of both page tables, so a form added
// later is covered by the post/redirect/get tests too.
func FormRoutes() []FormRoute {
	var patterns []string
	for _, pg := range userPages() {
		patterns = append(patterns, pg.pattern)
	}
	for _, pg := range accountPages() {
		patterns = append(patterns, pg.pattern)
	}
	var out []FormRoute
	for _, p := range patterns {
		rest, ok := strings.CutPrefix(p, "POST ")
		if !ok {
			continue
		}
		out = append(out, FormRoute{Pattern: p, HasGET: contains(patterns, "GET "+rest)})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// IsPage reports whether a GET page of the tables has path.
func IsPage(path string) bool { return isPage(path) }
