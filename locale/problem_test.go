package locale

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
)

// problemCall is one crier.Problemf call in the source with a literal code.
type problemCall struct {
	where, code, format string
}

// problemCalls returns every call of Problemf (and v.add) in the module's non-test
// Go files, with the code resolved where it is a string constant of the
// module, and the calls whose code it cannot resolve.
func problemCalls(t *testing.T) (calls []problemCall, unresolved []string) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	consts := map[string]string{} // constant name → value, module-wide
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !problemMaker(call.Fun) || len(call.Args) < 3 || forwards(call) {
				return true
			}
			where := fset.Position(call.Pos()).String()
			code, ok := stringLit(call.Args[1])
			if !ok {
				code, ok = consts[calleeName(call.Args[1])]
			}
			format, fok := stringLit(call.Args[2])
			if !ok || !fok {
				unresolved = append(unresolved, where)
				return true
			}
			calls = append(calls, problemCall{where: where, code: code, format: format})
			return true
		})
	}
	return calls, unresolved
}

// problemMaker reports whether fn makes a coded problem: crier.Problemf,
// or the configuration check's v.add, which takes the same arguments.
func problemMaker(fn ast.Expr) bool {
	if calleeName(fn) == "Problemf" {
		return true
	}
	sel, ok := fn.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "add" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "v"
}

// forwards reports whether call passes on the code and format of a helper
// that wraps Problemf; the helper's own calls are checked.
func forwards(call *ast.CallExpr) bool {
	code, ok1 := call.Args[1].(*ast.Ident)
	format, ok2 := call.Args[2].(*ast.Ident)
	return ok1 && ok2 && code.Name == "code" && format.Name == "format"
}

func calleeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

var textVerb = regexp.MustCompile(`^%(\[\d+\])?[sqv]$`)

// TestProblemCatalogue: every problem code used in the source has a German
// and an English text, the English one is the format the source writes
// (so that the two never drift apart), and the format uses only verbs that
// print the problem's Args, which are text.
func TestProblemCatalogue(t *testing.T) {
	calls, unresolved := problemCalls(t)
	if len(calls) < 30 {
		t.Fatalf("found only %d Problemf calls; is the source walk broken?", len(calls))
	}
	for _, where := range unresolved {
		t.Errorf("%s: Problemf with a code or format that is not a literal or a string constant", where)
	}
	for _, c := range calls {
		key := "problem." + c.code
		if !Has(key) {
			t.Errorf("%s: code %q has no catalogue entry %q (English: %q)", c.where, c.code, key, c.format)
			continue
		}
		if en := T("en", key); en != c.format {
			t.Errorf("%s: code %q writes %q, the catalogue's English is %q", c.where, c.code, c.format, en)
		}
		for _, v := range verbRE.FindAllString(c.format, -1) {
			if v != "%%" && !textVerb.MatchString(v) {
				t.Errorf("%s: code %q uses %s; problem args are text: use %%v, %%s or %%q", c.where, c.code, v)
			}
		}
	}
}

func TestProblem(t *testing.T) {
	args := []string{"201", "200"}
	english := "is 201 characters long, at most 200 are allowed"
	for _, tt := range []struct{ lang, want string }{
		{"de", "ist 201 Zeichen lang, erlaubt sind höchstens 200"},
		{"en", english},
	} {
		if got, ok := Problem(tt.lang, "too_long", args, english); !ok || got != tt.want {
			t.Errorf("Problem(%q) = %q, %v; want %q", tt.lang, got, ok, tt.want)
		}
	}
	// What a component added to the coded text is kept.
	if got, _ := Problem("de", "too_long", args, english+" (endpoints a, b)"); got != "ist 201 Zeichen lang, erlaubt sind höchstens 200 (endpoints a, b)" {
		t.Errorf("with a suffix: %q", got)
	}
	if got, ok := Problem("de", "", nil, "line 3: oops"); ok || got != "line 3: oops" {
		t.Errorf("without a code: %q, %v; want the English message", got, ok)
	}
	if got, ok := Problem("de", "no.such.code", nil, "oops"); ok || got != "oops" {
		t.Errorf("unknown code: %q, %v; want the English message", got, ok)
	}
}
