package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// consoleFuncs parses the package's own .go files (not its tests) and
// calls visit with every call expression and the name of the top-level
// function it is written in ("" outside any function).
func consoleFuncs(t *testing.T, visit func(fn string, call *ast.CallExpr, stack []ast.Node, pos token.Position)) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, d := range f.Decls {
			fn := ""
			if fd, ok := d.(*ast.FuncDecl); ok {
				fn = fd.Name.Name
			}
			var stack []ast.Node
			ast.Inspect(d, func(node ast.Node) bool {
				if node == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, node)
				if call, ok := node.(*ast.CallExpr); ok {
					visit(fn, call, stack, fset.Position(call.Pos()))
				}
				return true
			})
		}
	}
	if n < 10 {
		t.Fatalf("read only %d of the console's files: the test no longer sees the package", n)
	}
}

// calledName is the name a call calls: Authenticate for
// c.svc.Authenticate(...), Handle for mux.Handle(...).
func calledName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.Ident:
		return f.Name
	}
	return ""
}

// Authentication and the CSRF check happen once, in the registration
// wrappers, never in a handler: the gate's Authenticate is called only by
// authenticate, which only the wrappers call, and checkCSRF only by the
// page tables' wrappers.
func TestPages_OnlyTheWrappersAuthenticate(t *testing.T) {
	allowed := map[string]map[string]bool{
		"Authenticate": {"authenticate": true},
		"authenticate": {"userPage": true, "accountPage": true, "signedInFirst": true},
		"checkCSRF":    {"userPage": true, "accountPage": true},
	}
	seen := map[string]int{}
	consoleFuncs(t, func(fn string, call *ast.CallExpr, _ []ast.Node, pos token.Position) {
		name := calledName(call)
		ok, watched := allowed[name]
		if !watched {
			return
		}
		seen[name]++
		if !ok[fn] {
			t.Errorf("%s: %s calls %s: only the registration wrappers may (declare the page's need in the page table instead)", pos, fn, name)
		}
	})
	for name := range allowed {
		if seen[name] == 0 {
			t.Errorf("no call of %s found: the test no longer matches the code", name)
		}
	}
}

// Every route is registered from the page tables: Register's mux.Handle
// calls are in its loop over routes() and nowhere else, and routes() is
// the static files and the two tables, entry for entry.
func TestPages_EveryRouteComesFromTheTables(t *testing.T) {
	handles := 0
	consoleFuncs(t, func(fn string, call *ast.CallExpr, stack []ast.Node, pos token.Position) {
		switch calledName(call) {
		case "Handle", "HandleFunc":
		default:
			return
		}
		if fn != "Register" {
			t.Errorf("%s: %s registers a route: routes are registered only by Register, from the page tables", pos, fn)
			return
		}
		inLoop := false
		for _, n := range stack {
			if rs, ok := n.(*ast.RangeStmt); ok {
				if c, ok := rs.X.(*ast.CallExpr); ok && calledName(c) == "routes" {
					inLoop = true
				}
			}
		}
		if !inLoop {
			t.Errorf("%s: Register adds a route outside its loop over routes(): add it to a page table", pos)
		}
		handles++
	})
	if handles == 0 {
		t.Error("no mux.Handle call found in Register: the test no longer matches the code")
	}

	c := &Console{}
	rs := c.routes()
	if want := 1 + len(userPages()) + len(accountPages()); len(rs) != want {
		t.Errorf("routes() has %d routes, the tables %d: a route is added outside the tables", len(rs), want)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.pattern] {
			t.Errorf("%s is registered twice", r.pattern)
		}
		seen[r.pattern] = true
	}
}

// The pages outside an account that hold a person's own things (Profile &
// security, Manage Accounts) need a session, and every POST that needs one
// is checked for its CSRF token by the wrapper (need session); the public
// pages read no session at all.
func TestPages_UserPagesDeclareTheirNeed(t *testing.T) {
	for _, pg := range userPages() {
		path := pg.pattern[strings.Index(pg.pattern, " ")+1:]
		own := strings.HasPrefix(path, "/profile") || strings.HasPrefix(path, "/accounts") && path != "/accounts/switch"
		if own && pg.need != session {
			t.Errorf("%s holds a person's own things but does not need a session", pg.pattern)
		}
		if strings.HasPrefix(path, "/accounts/{id}") {
			t.Errorf("%s is an account page: it belongs in accountPages, with its permission", pg.pattern)
		}
		if pg.next != nil && pg.need != session {
			t.Errorf("%s names a login page to return to but needs no session", pg.pattern)
		}
	}
}
