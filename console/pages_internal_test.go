package console

import (
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
