package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// Every account page names what it needs: the zero Permission means "not
// declared", and the gate would refuse it for everyone.
func TestPages_EveryAccountPageDeclaresAPermission(t *testing.T) {
	seen := map[string]bool{}
	for _, pg := range accountPages() {
		if pg.perm == roster.PermissionNone {
			t.Errorf("%s declares no permission", pg.pattern)
		}
		if !strings.Contains(pg.pattern, "/accounts/{id}") {
			t.Errorf("%s is in the account page table but not under /accounts/{id}", pg.pattern)
		}
		if seen[pg.pattern] {
			t.Errorf("%s is in the table twice", pg.pattern)
		}
		seen[pg.pattern] = true
	}
	for _, n := range navigation {
		if n.perm == roster.PermissionNone {
			t.Errorf("navigation entry %s declares no permission", n.key)
		}
	}
}

// destructive matches the last segment of a route that cannot be undone.
var destructive = regexp.MustCompile(`/(delete|revoke|leave|rotate|remove|release)$`)

// Every action that cannot be undone has its confirmation page: a GET on
// the same path, with the same permission (the one pattern, confirm.go).
// The browser walk checks the other half: no page but that one posts there.
func TestPages_EveryDestructiveActionHasAConfirmation(t *testing.T) {
	gets := map[string]roster.Permission{}
	for _, pg := range accountPages() {
		if p, ok := strings.CutPrefix(pg.pattern, "GET "); ok {
			gets[p] = pg.perm
		}
	}
	n := 0
	for _, pg := range accountPages() {
		p, ok := strings.CutPrefix(pg.pattern, "POST ")
		if !ok || !destructive.MatchString(p) {
			continue
		}
		n++
		if perm, ok := gets[p]; !ok {
			t.Errorf("%s has no confirmation page (GET %s)", pg.pattern, p)
		} else if perm != pg.perm {
			t.Errorf("%s needs %s but its confirmation page needs %s", pg.pattern, pg.perm, perm)
		}
	}
	if n < 8 {
		t.Errorf("only %d destructive actions found: the pattern no longer matches the table", n)
	}
}

// formTag matches a form's opening tag; its action and enctype are read
// from it.
var (
	formTag    = regexp.MustCompile(`<form\b[^>]*>`)
	formAction = regexp.MustCompile(`action="([^"]*)"`)
)

// A form that sends a file (enctype multipart/form-data) posts to a page
// of filePages, which alone take multipart bodies (the others answer 415);
// and every page of filePages is a page some form posts a file to.
func TestPages_FormsWithFilesPostToFilePages(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	partials, err := fs.Glob(templateFS, "templates/partials/*.html")
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, partials...)
	posted := map[string]bool{}
	for _, n := range names {
		b, _ := templateFS.ReadFile(n)
		for _, tag := range formTag.FindAllString(string(b), -1) {
			if !strings.Contains(tag, `enctype="multipart/form-data"`) {
				continue
			}
			m := formAction.FindStringSubmatch(tag)
			if m == nil {
				t.Errorf("%s: a form with a file and no action: %s", n, tag)
				continue
			}
			pattern := "POST " + strings.NewReplacer("{{.Account.ID}}", "{id}", "{{$p.Account.ID}}", "{id}").Replace(m[1])
			if !filePages[pattern] {
				t.Errorf("%s: a form with a file posts to %s, which is not in filePages (it would answer 415)", n, pattern)
			}
			posted[pattern] = true
		}
	}
	for p := range filePages {
		if !posted[p] {
			t.Errorf("filePages holds %s, but no form posts a file there", p)
		}
	}
}
