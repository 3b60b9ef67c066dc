package tmpl

import (
	"strings"
	"testing"
)

// TestWholeRead checks where and how a template reads the whole context:
// the place (the template position) and the operation named in the message.
func TestWholeRead(t *testing.T) {
	tests := []struct {
		src  string
		off  int // -1: not a whole read
		what string
	}{
		{`{{ getpath(["secrets","X"]) }}`, 3, "getpath"},
		{`{{ . as $d | $d.secrets.X }}`, 5, "bound to a variable"},
		{`{{ "secrets" as $k | .[$k].X }}`, 22, "computed key"},
		{`a {{ .outputs.a }} {{ keys }}`, 22, "keys"},
		{`{{ .. | .x? }}`, 3, ".. recurses"},
		{`{{ def f: .; f | .x }}`, 3, "function f"},
		{`{{ [.] }}`, 3, "into an array"},
		{`{{ if .c then .outputs.a end }}`, 3, "if without else"},
		{`{{ . }}`, 0, "yields the whole context"},
		{`{{ .outputs.a.x // "d" }}`, -1, ""},
		{`{{ .result | keys }}`, -1, ""},
		{`{{ .secrets.A }}`, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			w := tm.WholeRead()
			if tt.off < 0 {
				if w != nil || tm.Reads().Whole {
					t.Fatalf("WholeRead = %v, Whole = %t; want none", w, tm.Reads().Whole)
				}
				return
			}
			if w == nil || !tm.Reads().Whole {
				t.Fatal("WholeRead = nil, want a whole read")
			}
			if w.Offset != tt.off || !strings.Contains(w.Msg, tt.what) {
				t.Errorf("WholeRead = %d %q, want %d and %q", w.Offset, w.Msg, tt.off, tt.what)
			}
		})
	}
	x, err := CompileExpr(`getpath(["a"])`)
	if err != nil {
		t.Fatal(err)
	}
	if w := x.WholeRead(); w == nil || w.Offset != 0 {
		t.Errorf("Expr.WholeRead = %v", w)
	}
}

// TestDashedKeyHint checks the hint for a field access with a dash, which jq
// reads as a subtraction and fails with "function not defined".
func TestDashedKeyHint(t *testing.T) {
	tests := []struct{ src, hint string }{
		{`{{ .secrets.my-secret }}`, `use .secrets["my-secret"]`},
		{`{{ .secrets.a-b-c }}`, `use .secrets["a-b-c"]`},
		{`{{ .outputs.my-node.x }}`, `use .outputs["my-node"]`},
		{`{{ .result | .b-c }}`, `use .["b-c"]`},
		{`{{ .a - foo }}`, ""},
		{`{{ foo }}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile(tt.src)
			if err == nil {
				t.Fatal("compiled")
			}
			if got := strings.Contains(err.Error(), "a key with a dash must be quoted"); got != (tt.hint != "") || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("error = %v, want hint %q", err, tt.hint)
			}
		})
	}
}
