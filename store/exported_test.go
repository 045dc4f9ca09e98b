package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStore_EveryExportedMethodIsCalledByATest pins the conformance suite:
// every exported function of package store, and every exported method of
// its exported types, is called by one of store's own tests (which run on
// both databases). A method added without a test fails here by name.
func TestStore_EveryExportedMethodIsCalledByATest(t *testing.T) {
	api := exportedAPI(t, ".")
	calls := testCalls(t, ".", api)
	var missing []string
	for _, m := range api.list {
		if !calls[m] {
			missing = append(missing, m)
		}
	}
	t.Logf("%d of %d exported functions and methods are called by store tests", len(api.list)-len(missing), len(api.list))
	for _, m := range missing {
		t.Errorf("store.%s is exported but no store test calls it: add it to the conformance suite (store/<file>_conformance_test.go)", m)
	}
	// The pin itself must see something: a parse that found nothing would
	// pass any package.
	if len(api.list) < 100 {
		t.Errorf("found only %d exported functions and methods in package store", len(api.list))
	}
}

// storeAPI is what package store exports: "Open", "DB.Account", ...
type storeAPI struct {
	list    []string
	types   map[string]bool     // exported type names
	byName  map[string][]string // method name -> "T.M" of every type that has it
	funcs   map[string]bool     // exported package-level functions
	methods map[string]bool     // "T.M"
}

// exportedAPI parses the package's non-test files.
func exportedAPI(t *testing.T, dir string) storeAPI {
	t.Helper()
	api := storeAPI{types: map[string]bool{}, byName: map[string][]string{}, funcs: map[string]bool{}, methods: map[string]bool{}}
	fset := token.NewFileSet()
	for _, f := range parseDir(t, fset, dir, false) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						api.types[ts.Name.Name] = true
					}
				}
			}
		}
	}
	for _, f := range parseDir(t, fset, dir, false) {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			if fd.Recv == nil {
				api.funcs[fd.Name.Name] = true
				api.list = append(api.list, fd.Name.Name)
				continue
			}
			recv := typeName(fd.Recv.List[0].Type)
			if !api.types[recv] {
				continue // a method of an unexported type (an interface's)
			}
			m := recv + "." + fd.Name.Name
			api.methods[m] = true
			api.byName[fd.Name.Name] = append(api.byName[fd.Name.Name], m)
			api.list = append(api.list, m)
		}
	}
	slices.Sort(api.list)
	return api
}

// typeName is T of T, *T, store.T or *store.T ("" otherwise).
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "store" {
			return e.Sel.Name
		}
	}
	return ""
}

func parseDir(t *testing.T, fset *token.FileSet, dir string, tests bool) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") != tests {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no %s files in %s", map[bool]string{false: "source", true: "test"}[tests], dir)
	}
	return out
}

// testCalls returns the entries of api that the test files call. A call
// x.M(...) counts for T.M when x is declared in an enclosing function as a
// store.T or *store.T (a parameter, a var, or a composite literal), or,
// when x's type is not known from the syntax, when only one exported type
// has a method M. x declared with another package's type counts for
// nothing, and so does a call on another imported package (sql.Open is
// not store.Open). So tx.Account covers Tx.Account, not DB.Account.
func testCalls(t *testing.T, dir string, api storeAPI) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	calls := map[string]bool{}
	for _, f := range parseDir(t, fset, dir, true) {
		imports := map[string]bool{}
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			name := p[strings.LastIndex(p, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = true
		}
		var scopes []map[string]string // identifier -> store type ("" for another type)
		declare := func(names []*ast.Ident, typ ast.Expr) {
			if len(scopes) == 0 {
				return
			}
			tn := ""
			if api.types[typeName(typ)] && isStoreType(typ) {
				tn = typeName(typ)
			}
			for _, n := range names {
				scopes[len(scopes)-1][n.Name] = tn
			}
		}
		lookup := func(name string) (string, bool) {
			for i := len(scopes) - 1; i >= 0; i-- {
				if tn, ok := scopes[i][name]; ok {
					return tn, true
				}
			}
			return "", false
		}
		visit := func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncType:
				if n.Params != nil {
					for _, p := range n.Params.List {
						declare(p.Names, p.Type)
					}
				}
			case *ast.ValueSpec:
				if n.Type != nil {
					declare(n.Names, n.Type)
				}
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE && len(n.Lhs) == len(n.Rhs) {
					for i, r := range n.Rhs {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							if cl, ok := unparen(r).(*ast.CompositeLit); ok && cl.Type != nil {
								declare([]*ast.Ident{id}, cl.Type)
							} else if u, ok := unparen(r).(*ast.UnaryExpr); ok && u.Op == token.AND {
								if cl, ok := u.X.(*ast.CompositeLit); ok && cl.Type != nil {
									declare([]*ast.Ident{id}, cl.Type)
								}
							}
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					break
				}
				name := sel.Sel.Name
				x, isIdent := unparen(sel.X).(*ast.Ident)
				if isIdent {
					if _, declared := lookup(x.Name); !declared && imports[x.Name] {
						if x.Name == "store" && api.funcs[name] {
							calls[name] = true
						}
						break // a call on another package
					}
					if tn, declared := lookup(x.Name); declared {
						if tn != "" && api.methods[tn+"."+name] {
							calls[tn+"."+name] = true
						}
						break // x's type is known: it counts for that type alone
					}
				}
				if ms := api.byName[name]; len(ms) == 1 {
					calls[ms[0]] = true
				}
			}
			return true
		}
		// ast.Inspect gives no "leaving" callback: walk function bodies
		// with a scope each by hand.
		var walk func(n ast.Node)
		walk = func(n ast.Node) {
			ast.Inspect(n, func(c ast.Node) bool {
				switch c := c.(type) {
				case *ast.FuncLit:
					scopes = append(scopes, map[string]string{})
					visit(c.Type)
					walk(c.Body)
					scopes = scopes[:len(scopes)-1]
					return false
				case *ast.FuncDecl:
					scopes = append(scopes, map[string]string{})
					if c.Recv != nil {
						visit(&ast.FuncType{Params: c.Recv})
					}
					visit(c.Type)
					if c.Body != nil {
						walk(c.Body)
					}
					scopes = scopes[:len(scopes)-1]
					return false
				}
				return visit(c)
			})
		}
		walk(f)
	}
	return calls
}

// isStoreType reports whether e names a type of package store as the
// external test package writes it (store.T or *store.T).
func isStoreType(e ast.Expr) bool {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "store"
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
