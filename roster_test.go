package roster_test

import (
	"testing"

	"github.com/rosterhq/roster"
)

func TestRolesAndPermissions_HaveWordsForPeople(t *testing.T) {
	for _, r := range roster.Roles {
		if r.Label() == "" || r.Description() == "" {
			t.Errorf("role %s: label %q, description %q", r, r.Label(), r.Description())
		}
	}
	seen := map[string]roster.Permission{}
	for _, p := range roster.AllPermissions {
		ph := p.Phrase()
		if ph == "" || ph == p.String() {
			t.Errorf("permission %s has no phrase (%q)", p, ph)
		}
		if q, dup := seen[ph]; dup {
			t.Errorf("permissions %s and %s share the phrase %q", p, q, ph)
		}
		seen[ph] = p
	}
	if roster.LeastPowerful == roster.RoleOwner || roster.LeastPowerful == roster.RoleAdmin {
		t.Errorf("LeastPowerful is %s", roster.LeastPowerful)
	}
}
