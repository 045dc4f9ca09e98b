package authz_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

// specMatrix is SPEC's file, beside the repository in ../shared/.
var specMatrix = filepath.Join("..", "..", "shared", "spec", "permissions.csv")

// specCopy is a copy of SPEC's file kept with the tests, so a clone alone
// still holds the matrix against the contract (and not against itself).
const specCopy = "testdata/spec-permissions.csv"

// readSpec returns SPEC's matrix: from ../shared when it is there (and
// then the kept copy must equal it), else the kept copy.
func readSpec(t *testing.T) []byte {
	t.Helper()
	kept, err := os.ReadFile(specCopy)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := os.ReadFile(specMatrix)
	if os.IsNotExist(err) {
		t.Logf("%s is not here (a clone without shared/): using %s", specMatrix, specCopy)
		return kept
	} else if err != nil {
		t.Fatal(err)
	}
	if string(shared) != string(kept) {
		t.Errorf("%s differs from SPEC's permissions.csv: copy SPEC's file over it", specCopy)
	}
	return shared
}

// TestMatrix_MatchesSpecCellByCell holds the project's matrix against
// SPEC's permissions.csv, every cell.
func TestMatrix_MatchesSpecCellByCell(t *testing.T) {
	data := readSpec(t)
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows)-1, roster.NumPermissions; got != want {
		t.Fatalf("spec has %d permissions, the project %d", got, want)
	}
	if got, want := len(rows[0])-1, len(roster.Roles); got != want {
		t.Fatalf("spec has %d roles, the project %d", got, want)
	}
	cells := 0
	for _, row := range rows[1:] {
		p, ok := roster.ParsePermission(row[0])
		if !ok {
			t.Errorf("spec permission %q unknown to the project", row[0])
			continue
		}
		for i, cell := range row[1:] {
			r, err := roster.ParseRole(rows[0][i+1])
			if err != nil {
				t.Fatalf("spec role %q: %v", rows[0][i+1], err)
			}
			if want := cell == "1"; authz.Allowed(r, p) != want {
				t.Errorf("%s × %s: project says %v, spec says %s", r, p, authz.Allowed(r, p), cell)
			}
			cells++
		}
	}
	if cells != roster.NumPermissions*len(roster.Roles) {
		t.Errorf("compared %d cells", cells)
	}
}

func TestMatrix_EmbeddedCopyIsSpecFile(t *testing.T) {
	spec := readSpec(t)
	embedded, err := os.ReadFile("permissions.csv")
	if err != nil {
		t.Fatal(err)
	}
	if string(spec) != string(embedded) {
		t.Error("authz/permissions.csv differs from SPEC's permissions.csv: copy it over")
	}
}

func TestMatrix_RolesFromSeeds(t *testing.T) {
	for _, tc := range []struct {
		role roster.Role
		want string
	}{
		{roster.RoleFinanceAnalyst, "billing.view billing.edit pricing.view"},
		{roster.RoleSupport, "numbers.view billing.view settings.view settings.edit applications.view logs.view"},
		{roster.RoleDeveloper, "numbers.view numbers.edit settings.view settings.edit credentials.view credentials.edit applications.view applications.edit logs.view"},
		{roster.RoleNone, ""},
	} {
		var got []string
		for _, p := range authz.Permissions(tc.role) {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v, want %s", tc.role, got, tc.want)
		}
	}
	if authz.Mask(roster.RoleAdmin) != authz.Mask(roster.RoleOwner) {
		t.Error("admin and owner differ")
	}
}

func TestParseMatrix_RefusesBadFiles(t *testing.T) {
	good, _ := os.ReadFile("permissions.csv")
	for name, data := range map[string]string{
		"bad cell":       strings.Replace(string(good), "numbers.view,1", "numbers.view,yes", 1),
		"unknown perm":   strings.Replace(string(good), "numbers.view", "numbers.delete", 1),
		"missing row":    strings.Replace(string(good), "audit.view,1,1,0,0,0\n", "", 1),
		"unknown role":   strings.Replace(string(good), "support", "intern", 1),
		"repeated role":  strings.Replace(string(good), "support", "admin", 1),
		"not the header": "role,owner\n",
	} {
		if _, err := authz.ParseMatrix(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := authz.ParseMatrix(string(good)); err != nil {
		t.Errorf("the shipped matrix: %v", err)
	}
}
