package redact

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// redactImport is this package's import path.
const redactImport = "github.com/sluice-run/sluice/internal/redact"

// trustedCallers are the packages (directories from the repository root)
// that may pass computed data to TrustedText and Reload: the store
// implementations, which wrap what they read back, and their conformance
// suite.
var trustedCallers = []string{"internal/store/"}

// TestTrustedConstructorsCallers makes the package comment's claim, "the
// store accepts only the Text and JSON types made here, so forgetting to
// redact is a compile error", hold for the two exported ways around it:
// outside the store implementations, every call of TrustedText or Reload in
// the program (test files aside) passes a constant, such as the status words
// and the masked error document the engine writes. Passing run data to
// either anywhere else fails this test.
func TestTrustedConstructorsCallers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, v := range untrustedCalls(t, rel, src) {
			t.Errorf("%s", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d Go files found under %s: the check is blind", files, root)
	}
}

// untrustedCalls returns a description of every call of TrustedText or
// Reload in the file rel (a path from the repository root) whose argument is
// not a constant, unless rel lies in a trusted package or in this one.
func untrustedCalls(t *testing.T, rel string, src []byte) []string {
	t.Helper()
	if strings.HasPrefix(rel, "internal/redact/") {
		return nil
	}
	for _, p := range trustedCallers {
		if strings.HasPrefix(rel, p) {
			return nil
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	names := map[string]bool{}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == redactImport {
			if imp.Name != nil {
				names[imp.Name.Name] = true
			} else {
				names["redact"] = true
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	isTrusted := func(e ast.Expr) (*ast.SelectorExpr, bool) {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return nil, false
		}
		x, ok := sel.X.(*ast.Ident)
		return sel, ok && names[x.Name] && (sel.Sel.Name == "TrustedText" || sel.Sel.Name == "Reload")
	}
	// Calls with a constant argument are allowed.
	allowed := map[token.Pos]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && len(call.Args) == 1 && constantArg(call.Args[0]) {
			if sel, ok := isTrusted(call.Fun); ok {
				allowed[sel.Pos()] = true
			}
		}
		return true
	})
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		e, ok := n.(ast.Expr)
		if !ok {
			return true
		}
		if sel, ok := isTrusted(e); ok && !allowed[sel.Pos()] {
			out = append(out, fmt.Sprintf("%s: redact.%s used outside the store, with a computed argument or as a value", fset.Position(sel.Pos()), sel.Sel.Name))
		}
		return true
	})
	return out
}

// constantArg reports whether e is a string literal, or []byte of one.
func constantArg(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.CallExpr:
		arr, ok := x.Fun.(*ast.ArrayType)
		if !ok || arr.Len != nil || len(x.Args) != 1 {
			return false
		}
		if id, ok := arr.Elt.(*ast.Ident); !ok || id.Name != "byte" {
			return false
		}
		lit, ok := x.Args[0].(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	return false
}

// TestUntrustedCallsFound proves the check is not vacuous: computed
// arguments, a method value and a renamed import are reported; constants and
// the store are not.
func TestUntrustedCallsFound(t *testing.T) {
	src := `package x
import (
	"github.com/sluice-run/sluice/internal/redact"
	r2 "github.com/sluice-run/sluice/internal/redact"
)
func f(s string, b []byte) {
	_ = redact.TrustedText("COMPLETED")
	_ = redact.Reload([]byte("{}"))
	_ = redact.TrustedText(s)
	_ = r2.Reload(b)
	g := redact.Reload
	_ = g
}`
	got := untrustedCalls(t, "internal/engine/x.go", []byte(src))
	if len(got) != 3 {
		t.Errorf("found %d untrusted uses, want 3 (computed text, computed JSON, method value): %q", len(got), got)
	}
	if got := untrustedCalls(t, "internal/store/sqlite/x.go", []byte(src)); len(got) != 0 {
		t.Errorf("the store was reported: %q", got)
	}
}
