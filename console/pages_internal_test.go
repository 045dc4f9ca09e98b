package console

import (
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
