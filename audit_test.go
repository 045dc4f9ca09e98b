package roster_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// rootConstants reads the root package's string constants: name -> value.
func rootConstants(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							out[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	return out
}

// writtenVocabulary reads the module's source for every word written to
// the audit log (store's Tx.Audit, its 4th argument, or the service's
// auditUser helper, its 5th) or emitted as a webhook event (Emit, its 5th).
// Each must be a root constant named with prefix (roster.ActionX,
// roster.EventX): a bare string, or anything else, fails the test.
func writtenVocabulary(t *testing.T, calls map[string]int, prefix string) map[string]string {
	t.Helper()
	consts := rootConstants(t)
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
				return false // the helper passes its callers' constant on
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			case *ast.Ident:
				name = fn.Name
			}
			at, ok := calls[name]
			if !ok || len(call.Args) <= at {
				return true
			}
			var ident string
			switch a := call.Args[at].(type) {
			case *ast.SelectorExpr:
				if x, ok := a.X.(*ast.Ident); ok && x.Name == "roster" {
					ident = a.Sel.Name
				}
			case *ast.Ident:
				if strings.HasPrefix(path, "./") || !strings.Contains(path, "/") {
					ident = a.Name // in the root package itself
				}
			}
			value, known := consts[ident]
			if !strings.HasPrefix(ident, prefix) || !known {
				t.Errorf("%s: %s is given %s, not a roster.%s... constant", fset.Position(call.Pos()), name, types(call.Args[at]), prefix)
				return true
			}
			out[value] = fset.Position(call.Pos()).String()
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// types says what kind of expression e is, for a failure message.
func types(e ast.Expr) string {
	if lit, ok := e.(*ast.BasicLit); ok {
		return "the bare " + lit.Value
	}
	return "an expression"
}

func writtenActions(t *testing.T) map[string]string {
	return writtenVocabulary(t, map[string]int{"Audit": 3, "auditUser": 4}, "Action")
}

// TestWebhookEvents_EmittedAreTheRootList: every event the service emits
// is a roster.Event constant listed in roster.WebhookEvents (what a webhook
// may subscribe to), and every listed event is emitted somewhere.
func TestWebhookEvents_EmittedAreTheRootList(t *testing.T) {
	emitted := writtenVocabulary(t, map[string]int{"Emit": 4}, "Event")
	if len(emitted) < 5 {
		t.Fatalf("found only %d events in the source: the scan is broken (%v)", len(emitted), emitted)
	}
	for e, at := range emitted {
		if !slices.Contains(roster.WebhookEvents, e) {
			t.Errorf("%s emits %q, which roster.WebhookEvents does not list", at, e)
		}
	}
	for _, e := range roster.WebhookEvents {
		if _, ok := emitted[e]; !ok {
			t.Errorf("%s is listed but nothing emits it", e)
		}
	}
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
