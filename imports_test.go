package roster_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The door, pinned: the edges reach the database and the permission
// matrix only through service, so a rule (the gate's decision, the check's
// validation, what a caller may do) is written once, behind it.

const module = "github.com/rosterhq/roster"

// pinAdmin pins admin too. It is off while admin still imports store
// and authz (it moves behind the door on its own branch): turning it on
// is this one line.
const pinAdmin = false

// edges are the packages that answer the outside world and must go
// through service.
func edges() []string {
	e := []string{"httpapi", "console", "grpcapi"}
	if pinAdmin {
		e = append(e, "admin")
	}
	return e
}

// behindTheDoor are the packages an edge must not import.
var behindTheDoor = []string{"store", "authz"}

// TestEdges_ImportNeitherStoreNorAuthz fails when an edge (or a package
// under it, such as grpcapi/authzv1) imports store or authz (or a package
// under them), directly. Its tests may: they set up what they assert
// against.
func TestEdges_ImportNeitherStoreNorAuthz(t *testing.T) {
	imports := moduleImports(t)
	for _, v := range violations(imports, edges()) {
		t.Error(v)
	}
	if _, ok := imports["admin"]; !ok {
		t.Error("admin is not a package of the module: pinAdmin names nothing")
	}
}

// The pin can fail: an edge importing store, directly or from a package
// under it, is named, and a package merely named like an edge is not.
func TestEdges_PinCatchesAnImport(t *testing.T) {
	imports := map[string][]string{
		"console":         {"service", "store"},
		"grpcapi/authzv1": {"authz/testdata"},
		"httpapi":         {"service", "edge"},
		"httpapistore":    {"store"},
		"service":         {"store", "authz"},
	}
	got := violations(imports, []string{"httpapi", "console", "grpcapi"})
	want := []string{
		"console imports store: an edge reaches store only through service",
		"grpcapi/authzv1 imports authz/testdata: an edge reaches authz only through service",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// violations names each import of store or authz by an edge or a package
// under one, sorted.
func violations(imports map[string][]string, edges []string) []string {
	var out []string
	for pkg, deps := range imports {
		for _, edge := range edges {
			if pkg != edge && !strings.HasPrefix(pkg, edge+"/") {
				continue
			}
			for _, dep := range deps {
				for _, banned := range behindTheDoor {
					if dep == banned || strings.HasPrefix(dep, banned+"/") {
						out = append(out, pkg+" imports "+dep+": an edge reaches "+banned+" only through service")
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// moduleImports maps each package of the module (its path inside the
// module, "" for the root) to its non-test imports inside the module, from
// go list.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	local := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		rest, ok := strings.CutPrefix(path, module+"/")
		return rest, ok
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, ok := local(fields[0])
		if !ok {
			continue
		}
		imports[pkg] = []string{}
		for _, dep := range fields[1:] {
			if d, ok := local(dep); ok {
				imports[pkg] = append(imports[pkg], d)
			}
		}
	}
	if len(imports["httpapi"]) == 0 {
		t.Fatalf("go list named no imports of httpapi: %s", out)
	}
	return imports
}
