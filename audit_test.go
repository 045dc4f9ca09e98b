package roster_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// writtenActions reads the module's source for every action written to the
// audit log: the literal passed to store's Tx.Audit (its 4th argument) or
// to the service's auditUser helper (its 5th). A call whose action is not a
// literal fails the test: the table could not be checked against it.
func writtenActions(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && fd.Name.Name == "auditUser" {
				return false // the helper passes its callers' literal on
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			at := -1
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				switch fn.Sel.Name {
				case "Audit":
					at = 3
				case "auditUser":
					at = 4
				}
			case *ast.Ident:
				if fn.Name == "auditUser" {
					at = 4
				}
			}
			if at < 0 || len(call.Args) <= at {
				return true
			}
			lit, ok := call.Args[at].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: an audit action that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			code, _ := strconv.Unquote(lit.Value)
			out[code] = fset.Position(call.Pos()).String()
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditActions_CoverEveryActionWritten(t *testing.T) {
	written := writtenActions(t)
	if len(written) < 20 {
		t.Fatalf("found only %d audit actions in the source: the scan is broken (%v)", len(written), written)
	}
	for code, at := range written {
		if _, ok := roster.AuditActionLabel(code); !ok {
			t.Errorf("%s writes the audit action %q, which roster.AuditActions does not list (and so has no words)", at, code)
		}
	}
	seen := map[string]bool{}
	labels := map[string]string{}
	for _, a := range roster.AuditActions {
		if seen[a.Code] {
			t.Errorf("%s is listed twice", a.Code)
		}
		seen[a.Code] = true
		if a.Label == "" {
			t.Errorf("%s has no words", a.Code)
		}
		if other, dup := labels[a.Label]; dup {
			t.Errorf("%s and %s share the words %q", a.Code, other, a.Label)
		}
		labels[a.Label] = a.Code
		if _, ok := written[a.Code]; !ok {
			t.Errorf("%s is listed but nothing writes it", a.Code)
		}
	}
}
