package roster_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is this module's path (go.mod).
const module = "github.com/rosterhq/roster"

// storeImporters are the only packages whose non-test code may import
// store: the door and its rooms (service/...), store's own helpers
// (store/...), the wiring (server; cmd/roster to open and migrate the
// database) and the load generator. Everyone else goes through service.
func storeImporter(pkg string) bool {
	for _, p := range []string{"service", "store", "loadtest"} {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return pkg == "server" || pkg == "cmd/roster"
}

// edgeForbidden is what each edge may not import: the edges call service,
// never the storage or the matrix (the gate hands out what a caller may
// do: Caller.Can, Caller.Permissions), and the admin listener reads even
// the decision reasons and the database pool through service.
var edgeForbidden = map[string][]string{
	"httpapi": {"store", "authz"},
	"console": {"store", "authz"},
	"grpcapi": {"store", "authz"},
	"admin":   {"store", "authz"},
	"scimapi": {"store", "authz"},
}

// TestImports_TheDoor pins the door of issue 20: only the packages of
// storeImporter import store, and no edge imports what edgeForbidden
// lists. It reads the non-test imports of every package in the module
// (build constraints applied, as go build would).
func TestImports_TheDoor(t *testing.T) {
	imports := map[string][]string{} // package (module-relative) -> module-relative imports
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		} else if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		rel := filepath.ToSlash(path)
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports[rel] = append(imports[rel], r)
			}
		}
		if _, ok := imports[rel]; !ok {
			imports[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk found the module: a test that reads nothing passes nothing.
	for _, pkg := range []string{"service", "store", "server", "cmd/roster", "admin", "httpapi", "console", "grpcapi"} {
		if _, ok := imports[pkg]; !ok {
			t.Fatalf("package %s not found from the module root: the walk is broken", pkg)
		}
	}
	for _, v := range doorViolations(imports) {
		t.Error(v)
	}
}

// doorViolations names each import the door forbids, sorted.
func doorViolations(imports map[string][]string) []string {
	var out []string
	for pkg, imps := range imports {
		if slices.Contains(imps, "store") && !storeImporter(pkg) {
			out = append(out, pkg+" imports store: only service/..., server, cmd/roster (opening and migrating) and loadtest/... may; go through service")
		}
		edge, _, _ := strings.Cut(pkg, "/") // grpcapi/authzv1 is grpcapi's
		for _, bad := range edgeForbidden[edge] {
			for _, imp := range imps {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					out = append(out, "the edge "+pkg+" imports "+imp+": it calls service instead")
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestImports_PinCanFail: the rule names an edge importing store or authz
// (from a package under it too), and a package outside the door importing
// store, and nothing else.
func TestImports_PinCanFail(t *testing.T) {
	got := doorViolations(map[string][]string{
		"console":         {"service", "store"},
		"grpcapi/authzv1": {"authz"},
		"admin":           {"service"},
		"mail":            {"store"},
		"service/team":    {"store", "authz"},
		"httpapistore":    {"roster"},
	})
	want := []string{
		"console imports store: only service/..., server, cmd/roster (opening and migrating) and loadtest/... may; go through service",
		"mail imports store: only service/..., server, cmd/roster (opening and migrating) and loadtest/... may; go through service",
		"the edge console imports store: it calls service instead",
		"the edge grpcapi/authzv1 imports authz: it calls service instead",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
