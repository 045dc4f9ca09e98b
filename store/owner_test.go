package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestOwnerRule_SchemaSpellsRoleOwner: the schema writes the owner as the
// number roster.RoleOwner is (the one-owner index and the member list's
// order index, on both databases), as the store's queries do from the
// constant. A renumbering of the roles fails here, not in production.
func TestOwnerRule_SchemaSpellsRoleOwner(t *testing.T) {
	want := "role = " + string(rune('0'+roster.RoleOwner))
	for _, dir := range []string{"sqlite", "postgres"} {
		var found int
		for _, f := range []string{"00001_core.sql", "00005_member_order.sql"} {
			b, err := os.ReadFile(filepath.Join("migrations", dir, f))
			if err != nil {
				t.Fatal(err)
			}
			found += strings.Count(string(b), want)
		}
		if found < 2 {
			t.Errorf("%s: the schema's owner indexes say %q %d times, want both indexes to", dir, want, found)
		}
	}
}
