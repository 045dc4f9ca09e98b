package store_test

import (
	"go/ast"
	"go/token"
	"testing"
)

// rowsHelper is the one function of the store that may step through a
// query's rows (store/query.go): it always closes them and checks
// rows.Err, which a hand-written loop can forget.
const rowsHelper = "eachRow"

// TestQueryIdiom_OnlyTheHelperStepsThroughRows pins the one query idiom:
// no function in the store's source but eachRow calls Next() on a value
// (a *sql.Rows in practice: the store has no other kind of Next), so a
// hand-written `for rows.Next()` loop cannot come back; read rows with
// collect or eachRow instead.
func TestQueryIdiom_OnlyTheHelperStepsThroughRows(t *testing.T) {
	fset := token.NewFileSet()
	helperSteps := false
	for _, f := range parseDir(t, fset, ".", false) {
		for _, decl := range f.Decls {
			name := "(package level)"
			if fd, ok := decl.(*ast.FuncDecl); ok {
				name = fd.Name.Name
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Next" {
					return true
				}
				if name == rowsHelper {
					helperSteps = true
					return true
				}
				t.Errorf("%s: %s calls .Next() by hand: read the rows with collect or eachRow (store/query.go), which close them and check rows.Err",
					fset.Position(call.Pos()), name)
				return true
			})
		}
	}
	if !helperSteps {
		t.Errorf("%s calls no .Next(): the helper was renamed or moved; update rowsHelper", rowsHelper)
	}
}
