package tmpl

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValueRender(t *testing.T) {
	src := decode(t, `{
		"type": "WEBHOOK",
		"url": "https://api/{{ .outputs.trigger.name }}",
		"timeoutSeconds": 30,
		"synchronized": true,
		"headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}", "X-Static": "s"},
		"body": {"count": "{{ .outputs.trigger.count }}", "tags": "{{ .outputs.trigger.tags }}",
		         "list": [1, "{{ .outputs.trigger.enabled }}", null, {"k": "{{ .result.response.data.id }}"}]}
	}`)
	v, err := CompileValue(src, "nodes[1].config")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Render(testContext())
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, `{
		"type": "WEBHOOK",
		"url": "https://api/api",
		"timeoutSeconds": 30,
		"synchronized": true,
		"headers": {"Authorization": "Bearer s3cr3t-token", "X-Static": "s"},
		"body": {"count": 3, "tags": ["a", "b"], "list": [1, true, null, {"k": "42"}]}
	}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Render = %#v\nwant %#v", got, want)
	}
	// A rendered tree is the caller's: modifying it changes neither the
	// compiled value nor the next render.
	got.(map[string]any)["headers"].(map[string]any)["X-Static"] = "changed"
	got.(map[string]any)["body"].(map[string]any)["list"].([]any)[0] = "changed"
	again, err := v.Render(testContext())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("second render = %#v", again)
	}

	wantReads := Reads{Secrets: []string{"TOKEN"}, Outputs: []string{"trigger"}, Roots: []string{"outputs", "result", "secrets"}}
	if r := v.Reads(); !reflect.DeepEqual(r, wantReads) {
		t.Errorf("Reads = %+v, want %+v", r, wantReads)
	}
	var leaves []string
	v.Leaves(func(path string, r Reads) {
		leaves = append(leaves, path+" "+strings.Join(r.Secrets, ","))
	})
	wantLeaves := []string{
		"nodes[1].config.body.count ",
		"nodes[1].config.body.list[1] ",
		"nodes[1].config.body.list[3].k ",
		"nodes[1].config.body.tags ",
		"nodes[1].config.headers.Authorization TOKEN",
		"nodes[1].config.url ",
	}
	if !reflect.DeepEqual(leaves, wantLeaves) {
		t.Errorf("Leaves = %q, want %q", leaves, wantLeaves)
	}
}

func TestValueLiteralOnly(t *testing.T) {
	v, err := CompileValue(map[string]any{"a": []any{"x", 1.5, nil, true}}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"a": []any{"x", 1.5, nil, true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Render = %#v", got)
	}
	called := false
	v.Leaves(func(string, Reads) { called = true })
	if called {
		t.Error("Leaves reported a literal leaf")
	}
}

func TestValueCompileErrors(t *testing.T) {
	src := map[string]any{
		"url":     "{{ .a ]",
		"headers": map[string]any{"X Api Key": "{{ env }}", "ok": "{{ .a }}"},
		"body":    []any{"{{ .secrets }}", "fine", map[string]any{"1st": "{{ input }}"}},
		"bad":     []string{"not JSON-decoded"},
	}
	_, err := CompileValue(src, "nodes[2].config")
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`nodes[2].config.bad: unsupported value type []string`,
		`nodes[2].config.body[0]: template position 3: secrets must be referenced by name: .secrets.NAME or .secrets["NAME"]`,
		`nodes[2].config.body[2]["1st"]: template position 3: input is not available in templates (no input reading)`,
		`nodes[2].config.headers["X Api Key"]: template position 3: env is not available in templates (no environment access)`,
		`nodes[2].config.url: template position 0: unterminated {{: no matching }}`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var te *Error
	if !errors.As(err, &te) || te.Path == "" {
		t.Errorf("errors.As(*Error) = %v", te)
	}
}

func TestValueRenderErrorPath(t *testing.T) {
	v, err := CompileValue(map[string]any{
		"a":    "fine",
		"body": map[string]any{"items": []any{"ok", "x={{ .outputs.trigger.name | .[] }}"}},
	}, "nodes[0].config")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Render(testContext())
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v", err)
	}
	want := `nodes[0].config.body.items[1]: template position 2: cannot iterate over: string ("api")`
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct{ path, key, want string }{
		{"", "a", "a"},
		{"config", "url", "config.url"},
		{"config", "with space", `config["with space"]`},
		{"config", "x-y", `config["x-y"]`},
		{"config", `q"`, `config["q\""]`},
		{"", "", `[""]`},
		{"a", "_b9", "a._b9"},
	}
	for _, tt := range tests {
		if got := JoinPath(tt.path, tt.key); got != tt.want {
			t.Errorf("JoinPath(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"", "plain", "{{ .outputs.trigger.name }}", "a {{ 1 }} b {{ . }}", "{{ {a: {b: 1}} }}",
		`{{ "}}" }}`, `{{ "\(.a | "}}")" }}`, "{{", "{{ .secrets.TOKEN }}", "{{ .secrets[] }}",
		"{{ env }}", "{{ def f: f; f }}", "{{ [.[]?] }}", "{{ reduce .outputs[] as $x (0; . + 1) }}",
		"{{ .a as [$x, {b: $y}] | $x }}", "{{ try error catch . }}", "{{ @base64 \"\\(.)\" }}",
	} {
		f.Add(s)
	}
	for _, s := range []string{"{{ . }}", "{{ [..] }}", "{{ .secrets }}", "{{ tojson }}", "{{ .secrets | keys }}", "{{ [paths] }}", "{{ .secrets.TOKEN }}{{ .secrets.UNNAMED_A }}"} {
		f.Add(s)
	}
	c := testContext()
	c.Limits = Limits{Timeout: time.Hour, MaxSteps: 20_000, MaxResultBytes: 1 << 14}
	// Sentinel secrets: a template that does not name one must never output
	// it, in any common encoding, whatever it does with the context.
	sentinels := map[string]string{"UNNAMED_A": "sentinel-Qz7uNnamed-A1", "UNNAMED_B": "sentinel-Wx4vHidden-B2"}
	c.Secrets = maps.Clone(c.Secrets)
	maps.Copy(c.Secrets, sentinels)
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Compile(src)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Offset < 0 || te.Offset > len(src) {
				t.Fatalf("Compile(%q) = %v, want an *Error with an offset in range", src, err)
			}
			return
		}
		v, err := tm.Render(c)
		out, _ := json.Marshal(v)
		shown := string(out)
		if err != nil {
			shown += "\n" + err.Error()
		}
		for name, val := range sentinels {
			if slices.Contains(tm.Reads().Secrets, name) {
				continue
			}
			for _, form := range []string{val, base64.StdEncoding.EncodeToString([]byte(val))[:20], hex.EncodeToString([]byte(val)), strings.ToUpper(hex.EncodeToString([]byte(val)))} {
				if strings.Contains(shown, form) || strings.Contains(strings.ReplaceAll(shown, `\`, ""), form) {
					t.Fatalf("%q does not name secret %s, yet its render shows it (%q): %s", src, name, form, shown)
				}
			}
		}
	})
}
