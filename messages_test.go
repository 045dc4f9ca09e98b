package roster_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// messageArg is the argument of call that is a message for a person, and
// the argument naming its field (nil when none): roster.Errorf's format,
// FieldErrorf's and Retry's, core.DBErr's not-found words, and the
// floor's request limit's format (guard.Limit's last argument).
func messageArg(call *ast.CallExpr) (msg, field ast.Expr) {
	name, pkg := "", ""
	switch f := call.Fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
		if id, ok := f.X.(*ast.Ident); ok {
			pkg = id.Name
		}
	}
	rooted := pkg == "roster" || pkg == ""
	switch {
	case name == "Errorf" && rooted && len(call.Args) >= 2:
		return call.Args[1], nil
	case name == "FieldErrorf" && rooted && len(call.Args) >= 3:
		return call.Args[2], call.Args[0]
	case name == "Retry" && rooted && len(call.Args) >= 3:
		return call.Args[2], nil
	case name == "DBErr" && len(call.Args) == 2:
		return call.Args[1], nil
	case name == "Limit" && len(call.Args) == 7:
		return call.Args[6], nil
	}
	return nil, nil
}

// firstWords is the leading string literal of a message (the left end of
// a concatenation), resolving a constant by name; ok is false when the
// message is built some other way (a parameter passed on).
func firstWords(e ast.Expr, consts map[string]string) (string, bool) {
	for {
		switch x := e.(type) {
		case *ast.BinaryExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		case *ast.Ident:
			s, ok := consts[x.Name]
			return s, ok
		default:
			return "", false
		}
	}
}

// forwarders are the functions whose message is a parameter checked at
// their callers (messageArg reads the limit's callers).
var forwarders = map[string]bool{"Limit": true, "Errorf": true, "FieldErrorf": true, "Retry": true, "DBErr": true}

// fieldKey is a field's key as a program writes it: "card_number",
// "checks[3]" (or its format, "Checks[%d]").
var fieldKey = regexp.MustCompile(`(?i)\b[a-z]+(_[a-z0-9]+)+\b|\b[a-z]+\[(%d|\d+)\]`)

// TestMessages_CapitalAndNoFieldKeys reads the module's source for every
// message an application error carries and holds it to the words rule: it
// starts with a capital letter and names no field key ("card_number"; a
// role's API name such as finance_analyst is what a person types, so it
// may appear). A field key passed as the message's argument fails too.
func TestMessages_CapitalAndNoFieldKeys(t *testing.T) {
	fset := token.NewFileSet()
	type file struct {
		path string
		f    *ast.File
	}
	var files []file
	consts := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "test/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, file{path, f})
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, fl := range files {
		ast.Inspect(fl.f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && forwarders[fd.Name.Name] {
				return false // its message is its caller's, checked there
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			msg, field := messageArg(call)
			if msg == nil {
				return true
			}
			pos := fset.Position(msg.Pos())
			words, ok := firstWords(msg, consts)
			if !ok {
				t.Errorf("%s: a message built from %T: start it with a string literal so its first word can be read", pos, msg)
				return true
			}
			seen++
			if strings.HasPrefix(words, "%s") && capitalized(call, msg) {
				words = strings.TrimPrefix(words, "%s")
			} else if r, _ := utf8.DecodeRuneInString(words); !unicode.IsUpper(r) {
				t.Errorf("%s: message %q does not start with a capital letter", pos, words)
			}
			for _, k := range fieldKey.FindAllString(words, -1) {
				if !strings.EqualFold(k, "finance_analyst") {
					t.Errorf("%s: message %q names the key %q: say it in words", pos, words, k)
				}
			}
			if field != nil {
				for _, a := range call.Args[3:] {
					if sameExpr(a, field) {
						t.Errorf("%s: message %q is given its own field key as an argument", fset.Position(a.Pos()), words)
					}
				}
			}
			return true
		})
	}
	if seen < 200 {
		t.Errorf("read %d messages, want the module's 200 or more: the scan lost its way", seen)
	}
}

// sameExpr reports whether a and b are the same identifier or selector.
func sameExpr(a, b ast.Expr) bool {
	switch x := a.(type) {
	case *ast.Ident:
		y, ok := b.(*ast.Ident)
		return ok && x.Name == y.Name
	case *ast.SelectorExpr:
		y, ok := b.(*ast.SelectorExpr)
		return ok && x.Sel.Name == y.Sel.Name && sameExpr(x.X, y.X)
	case *ast.BasicLit:
		y, ok := b.(*ast.BasicLit)
		return ok && x.Value == y.Value
	}
	return false
}

// capitalized reports whether the argument that fills a message's leading
// %s is made to start with a capital: capital(...), amountWords(...),
// gerund(...), or another error's message (roster.ErrorMessage, checked
// where it was made).
func capitalized(call *ast.CallExpr, msg ast.Expr) bool {
	for i, a := range call.Args {
		if a != msg || i+1 >= len(call.Args) {
			continue
		}
		c, ok := call.Args[i+1].(*ast.CallExpr)
		if !ok {
			return false
		}
		switch f := c.Fun.(type) {
		case *ast.Ident:
			return f.Name == "capital" || f.Name == "amountWords" || f.Name == "gerund"
		case *ast.SelectorExpr:
			return f.Sel.Name == "ErrorMessage"
		}
	}
	return false
}
