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
	for _, p := range []string{"service", "store"} {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return pkg == "server" || pkg == "cmd/roster" || pkg == "loadtest"
}

// edgeForbidden is what each edge may not import: the edges call service,
// never the storage, and the admin listener reads even the decision
// reasons and the database pool through service. (httpapi, console and
// grpcapi still ask authz themselves until the gate hands out what a
// caller may do; add "authz" to their lists then.)
var edgeForbidden = map[string][]string{
	"httpapi": {"store"},
	"console": {"store"},
	"grpcapi": {"store"},
	"admin":   {"store", "authz"},
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
	for pkg, imps := range imports {
		if slices.Contains(imps, "store") && !storeImporter(pkg) {
			t.Errorf("%s imports store: only service/..., server, cmd/roster (opening and migrating) and loadtest may; go through service", pkg)
		}
		for _, bad := range edgeForbidden[pkg] {
			if slices.Contains(imps, bad) {
				t.Errorf("the edge %s imports %s: it calls service instead", pkg, bad)
			}
		}
	}
}
