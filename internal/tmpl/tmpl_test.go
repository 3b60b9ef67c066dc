package tmpl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testContext is a small context shared by the tests; tests must not modify
// it (the render itself never does).
func testContext() *Context {
	return &Context{
		Outputs: map[string]any{
			"trigger": map[string]any{
				"count":   json.Number("3"),
				"name":    "api",
				"ratio":   1.5,
				"enabled": true,
				"tags":    []any{"a", "b"},
				"nested":  map[string]any{"k": "v"},
				"nothing": nil,
				"html":    "<b>&</b>",
			},
			"call": map[string]any{"response": map[string]any{"status": json.Number("200")}},
		},
		Secrets:     map[string]string{"TOKEN": "s3cr3t-token", "my-key": "k3y-value"},
		Result:      map[string]any{"response": map[string]any{"data": map[string]any{"id": "42"}}},
		HasResult:   true,
		Workflow:    map[string]any{"identifier": "wf", "version": 2},
		WorkflowRun: map[string]any{"identifier": "wfr_1"},
		// No test depends on time: a loaded machine must not fail renders.
		Limits: Limits{Timeout: time.Hour},
	}
}

func TestRenderTyping(t *testing.T) {
	tests := []struct {
		name, src string
		want      any
	}{
		{"literal", "plain text", "plain text"},
		{"literal with single braces", "a { b } }}", "a { b } }}"},
		{"lone number", "{{ .outputs.trigger.count }}", json.Number("3")},
		{"lone float", "{{.outputs.trigger.ratio}}", 1.5},
		{"lone computed int", "{{ 1 + 2 }}", json.Number("3")},
		{"lone bool", "{{ .outputs.trigger.enabled }}", true},
		{"lone null", "{{ .outputs.trigger.nothing }}", nil},
		{"lone missing", "{{ .outputs.nope.x }}", nil},
		{"lone empty", "{{ empty }}", nil},
		{"lone string", "{{ .outputs.trigger.name }}", "api"},
		{"lone array", "{{ .outputs.trigger.tags }}", []any{"a", "b"}},
		{"lone object", "{{ .outputs.trigger.nested }}", map[string]any{"k": "v"}},
		{"lone with spaces around", "  {{   .outputs.trigger.count   }}\n", json.Number("3")},
		{"lone nested object construction", "{{ {a: {b: 1}} }}", map[string]any{"a": map[string]any{"b": json.Number("1")}}},
		{"braces in string literal", `{{ "}}" }}`, "}}"},
		{"braces in interpolation", `{{ "x\("}}" + .outputs.trigger.name)" }}`, "x}}api"},
		{"escaped quote in string", `{{ "a\"}}" }}`, `a"}}`},
		{"mixed string", "name={{ .outputs.trigger.name }}", "name=api"},
		{"mixed number", "n={{ .outputs.trigger.count }}", "n=3"},
		{"mixed object compact JSON", "o={{ .outputs.trigger.nested }}", `o={"k":"v"}`},
		{"mixed array compact JSON", "{{ .outputs.trigger.tags }}!", `["a","b"]!`},
		{"mixed no HTML escaping", "h={{ {h: .outputs.trigger.html} }}", `h={"h":"<b>&</b>"}`},
		{"mixed null", "x={{ .outputs.trigger.nothing }}", "x=null"},
		{"mixed empty", "x={{ empty }}", "x=null"},
		{"mixed bool", "{{ true }} and {{ false }}", "true and false"},
		{"several templates", "{{ .workflow.identifier }}/{{ .workflowRun.identifier }}/{{ .outputs.call.response.status }}", "wf/wfr_1/200"},
		{"two templates only", "{{ 1 }}{{ 2 }}", "12"},
		{"result", "{{ .result.response.data.id }}", "42"},
		{"secret", "Bearer {{ .secrets.TOKEN }}", "Bearer s3cr3t-token"},
		{"secret bracket", `{{ .secrets["my-key"] }}`, "k3y-value"},
		{"alternative", `{{ .outputs.trigger.missing // "unknown" }}`, "unknown"},
		{"keys sorted in object output", `{{ {b: 1, a: 2} | tojson }}`, `{"a":2,"b":1}`},
		{"workflow int version", "{{ .workflow.version + 1 }}", json.Number("3")},
		{"nan to null", "{{ nan }}", nil},
	}
	c := testContext()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.src, err)
			}
			got, err := tm.Render(c)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Render(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestIsLiteral(t *testing.T) {
	for src, want := range map[string]bool{"": true, "abc": true, "a }} b": true, "{{ 1 }}": false, "x{{.a}}": false} {
		tm, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if tm.IsLiteral() != want {
			t.Errorf("IsLiteral(%q) = %v, want %v", src, !want, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src string
		offset    int
		msg       string
	}{
		{"unterminated", "abc {{ .a ", 4, "unterminated {{"},
		{"unterminated second", "{{ .a }} and {{ .b", 13, "unterminated {{"},
		{"unterminated string", `{{ "abc }}`, 0, "unterminated {{"},
		{"unbalanced object", "{{ {a: 1 }}", 0, "unterminated {{"},
		{"syntax error", "url: {{ .a ] }}", 11, "jq syntax error"},
		{"syntax error at end", "{{ .a | }}", 8, "unexpected EOF"},
		{"empty expression", "x {{  }}", 4, "empty expression"},
		{"unknown function", "{{ 1 | nosuch }}", 7, "function not defined: nosuch/0"},
		{"unknown variable", "{{ $nope }}", 3, "variable not defined: $nope"},
		{"env", "{{ env.HOME }}", 3, "env is not available"},
		{"$ENV", "{{ .a + $ENV.PATH }}", 8, "$ENV is not available"},
		{"$ENV in object shorthand", "{{ {$ENV} }}", 4, "$ENV is not available"},
		{"$ENV as binding", "{{ . as $ENV | 1 }}", 0, "$ENV is not available"},
		{"input", "{{ [.a, input] }}", 8, "input is not available"},
		{"inputs", "x={{ [inputs] }}", 6, "inputs is not available"},
		{"debug", "{{ .a | debug }}", 8, "debug is not available"},
		{"debug with message", `{{ debug("m") }}`, 3, "debug is not available"},
		{"stderr", "{{ stderr }}", 3, "stderr is not available"},
		{"input_filename", "{{ input_filename }}", 3, "input_filename is not available"},
		{"halt", "{{ halt }}", 3, "halt is not available"},
		{"halt_error", `{{ "x" | halt_error(1) }}`, 9, "halt_error is not available"},
		{"reserved variable", "{{ $__prog_args }}", 3, "$__prog_args is not available"},
		{"env in function argument", "{{ [limit(1; env)] }}", 13, "env is not available"},
		{"env in string interpolation", `{{ "a\(env.X)" }}`, 7, "env is not available"},
		{"env in definition", "{{ def f: env; f }}", 10, "env is not available"},
		{"env in reduce", "{{ reduce range(2) as $i (0; env) }}", 29, "env is not available"},
		{"env in if", "{{ if .a then env else 1 end }}", 14, "env is not available"},
		{"env in try", "{{ try env catch 1 }}", 7, "env is not available"},
		{"env in object key", "{{ {(env | tostring): 1} }}", 5, "env is not available"},
		{"env in index", "{{ .a[env] }}", 6, "env is not available"},
		{"import", `{{ import "a" as a; . }}`, 3, "import, include and module"},
		{"include", `{{ include "a"; . }}`, 3, "import, include and module"},
		{"secrets whole", "{{ .secrets }}", 3, "secrets must be referenced by name"},
		{"secrets iterate", "a {{ .secrets[] }}", 5, "secrets must be referenced by name"},
		{"secrets dynamic", "{{ .secrets[.outputs.x] }}", 3, "secrets must be referenced by name"},
		{"secrets keys", "{{ .secrets | keys }}", 3, "secrets must be referenced by name"},
		{"secrets second use", "{{ .secrets.A + (.secrets | tojson) }}", 17, "secrets must be referenced by name"},
		{"secrets object shorthand", "{{ {secrets} }}", 0, "secrets must be referenced by name"},
		{"secrets via recurse", "{{ .. | .secrets? }}", 8, "secrets must be referenced by name"},
		{"secrets getpath-free bracket", `{{ .["secrets"] | length }}`, 3, "secrets must be referenced by name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.src)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("Compile(%q) error = %v, want *Error", tt.src, err)
			}
			if te.Offset != tt.offset || !strings.Contains(te.Msg, tt.msg) {
				t.Errorf("Compile(%q) = offset %d %q, want offset %d containing %q", tt.src, te.Offset, te.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestReads(t *testing.T) {
	type r = Reads
	tests := []struct {
		src  string
		want Reads
	}{
		{"{{ 1 }}", r{}},
		{"{{ .secrets.A }}", r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{`{{ .secrets["my-key"] }}`, r{Secrets: []string{"my-key"}, Roots: []string{"secrets"}}},
		{`{{ .secrets."B" }}`, r{Secrets: []string{"B"}, Roots: []string{"secrets"}}},
		{`{{ .["secrets"]["C"] }}`, r{Secrets: []string{"C"}, Roots: []string{"secrets"}}},
		{"{{ .secrets.A? }}", r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{"{{ .secrets | .A }}", r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{"{{ .secrets.U }}:{{ .secrets.P | @base64 }}", r{Secrets: []string{"P", "U"}, Roots: []string{"secrets"}}},
		{"{{ .secrets.A | ascii_downcase }}", r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{"{{ .secrets.A.b[0] }}", r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{"{{ .outputs.a.b }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{`{{ .outputs["my node"] }}`, r{Outputs: []string{"my node"}, Roots: []string{"outputs"}}},
		{"{{ .outputs.a, .outputs.b }}", r{Outputs: []string{"a", "b"}, Roots: []string{"outputs"}}},
		{"{{ .outputs | .trigger }}", r{Outputs: []string{"trigger"}, Roots: []string{"outputs"}}},
		{"{{ .outputs.a.items | map(.secrets) }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ .outputs.a | tostring }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ .outputs[] }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{`{{ "a" as $x | .outputs[$x] }}`, r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ .outputs | keys }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ .outputs }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ .outputs as $o | $o.a }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ {outputs} }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ .result.x }}", r{Roots: []string{"result"}}},
		{"{{ .workflow.identifier }}-{{ .workflowRun.identifier }}-{{ .workflowNodeRun.identifier }}", r{Roots: []string{"workflow", "workflowNodeRun", "workflowRun"}}},
		{"{{ .a | .b }}", r{Roots: []string{"a"}}},
		{"{{ . }}", r{Whole: true, AllOutputs: true}},
		{"{{ .. }}", r{Whole: true, AllOutputs: true}},
		{"{{ keys }}", r{Whole: true, AllOutputs: true}},
		{"{{ tojson }}", r{Whole: true, AllOutputs: true}},
		{"{{ to_entries }}", r{Whole: true, AllOutputs: true}},
		{"{{ length }}", r{Whole: true, AllOutputs: true}},
		{"{{ .[] }}", r{Whole: true, AllOutputs: true}},
		{"{{ .[.k] }}", r{Whole: true, AllOutputs: true, Roots: []string{"k"}}},
		{"{{ @base64 }}", r{Whole: true, AllOutputs: true}},
		{"{{ . as $r | 1 }}", r{Whole: true, AllOutputs: true}},
		{"{{ def f: .x; f }}", r{Whole: true, AllOutputs: true, Roots: []string{"x"}}},
		{"{{ [.] }}", r{Whole: true, AllOutputs: true}},
		{"{{ {a: .} }}", r{Whole: true, AllOutputs: true}},
		{"{{ .x = 1 }}", r{Whole: true, AllOutputs: true, Roots: []string{"x"}}},
		{"{{ select(.x) | .secrets.A }}", r{Whole: true, AllOutputs: true, Secrets: []string{"A"}, Roots: []string{"secrets", "x"}}},
		{"{{ if .c then .outputs.a else .outputs.b end }}", r{Outputs: []string{"a", "b"}, Roots: []string{"c", "outputs"}}},
		{"{{ if .c then .outputs.a end }}", r{Whole: true, AllOutputs: true, Outputs: []string{"a"}, Roots: []string{"c", "outputs"}}},
		{"{{ try .outputs.a catch . }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ reduce .outputs.a[] as $x (0; . + $x) }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ reduce range(3) as $x (.; .n += $x) }}", r{Whole: true, AllOutputs: true, Roots: []string{"n"}}},
		{"{{ foreach .outputs.a[] as $x (0; . + $x; [$x, .]) }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{`{{ "\(.outputs.a)-\(.result)" }}`, r{Outputs: []string{"a"}, Roots: []string{"outputs", "result"}}},
		{`{{ @base64 "\(.secrets.A)" }}`, r{Secrets: []string{"A"}, Roots: []string{"secrets"}}},
		{"{{ [.outputs.a[] | .x] }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ first(.outputs.a) | .x }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ limit(1; .outputs[]) }}", r{AllOutputs: true, Roots: []string{"outputs"}}},
		{"{{ -.outputs.n.v }}", r{Outputs: []string{"n"}, Roots: []string{"outputs"}}},
		{"{{ .outputs.a.x == 1 and .result.y }}", r{Outputs: []string{"a"}, Roots: []string{"outputs", "result"}}},
		{"{{ now | todate }}", r{}},
		{"{{ label $out | .outputs.a | ., break $out }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ .outputs.a as {b: $b} | $b }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ {(.outputs.k.name): .result} }}", r{Outputs: []string{"k"}, Roots: []string{"outputs", "result"}}},
		{"{{ .outputs[.result.node] }}", r{AllOutputs: true, Roots: []string{"outputs", "result"}}},
		{"{{ .outputs.a[1:] }}", r{Outputs: []string{"a"}, Roots: []string{"outputs"}}},
		{"{{ .. | .secrets?.A }}", r{Whole: true, AllOutputs: true, Secrets: []string{"A"}, Roots: []string{"secrets"}}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := tm.Reads(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Reads(%q) = %+v, want %+v", tt.src, got, tt.want)
			}
		})
	}
}

// TestInputHoldsOnlyWhatIsRead renders expressions that consume their whole
// input and checks that they see exactly the slice of the context they read:
// never a secret they do not name, never an output they do not read.
func TestInputHoldsOnlyWhatIsRead(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"{{ tojson }}", `{"outputs":{"call":{"response":{"status":200}},"trigger":{"count":3,"enabled":true,"html":"<b>&</b>","name":"api","nested":{"k":"v"},"nothing":null,"ratio":1.5,"tags":["a","b"]}},"result":{"response":{"data":{"id":"42"}}},"workflow":{"identifier":"wf","version":2},"workflowRun":{"identifier":"wfr_1"}}`},
		{"{{ [(.secrets.TOKEN | length), keys] | tojson }}", `[12,["outputs","result","secrets","workflow","workflowRun"]]`},
		{"{{ .. | .secrets? | tojson }}", ``},
		{"{{ .outputs.call | [input_keys] }}", ``},
		{"{{ .outputs | keys | tojson }}", `["call","trigger"]`},
		{"{{ .secrets.TOKEN as $t | . as $r | $r.secrets | keys | tojson }}", `["TOKEN"]`},
		{"{{ getpath([\"secrets\",\"my-key\"]) | tojson }}", `null`},
		{"{{ .outputs.trigger.name as $n | getpath([\"outputs\"]) | keys | tojson }}", `["call","trigger"]`},
	}
	c := testContext()
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				if tt.want == "" {
					return // rejected at compile time: fine too
				}
				t.Fatalf("Compile: %v", err)
			}
			got, err := tm.Render(c)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if s, _ := got.(string); s != tt.want {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
}

func TestSecretsAreWithheldFromErrors(t *testing.T) {
	c := testContext()
	tests := []struct{ src, msg string }{
		{"{{ .secrets.TOKEN | .[] }}", msgSecretFailed},
		{"x {{ .secrets.TOKEN | tonumber }}", msgSecretFailed},
		{"{{ .secrets.TOKEN | error }}", msgSecretFailed},
		{`{{ .secrets.TOKEN | error("bad: \(.)") }}`, msgSecretFailed},
		{"{{ .secrets.TOKEN | ., . }}", "expression that reads .secrets yields several values; it must yield one"},
		{"{{ .secrets.TOKEN | (1, error(.)) }}", msgSecretFailed},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tm.Render(c)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("Render error = %v, want *Error", err)
			}
			if te.Msg != tt.msg {
				t.Errorf("message %q, want %q", te.Msg, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
	// Without secrets, the jq message is kept.
	tm, _ := Compile("{{ .outputs.trigger.name | .[] }}")
	if _, err := tm.Render(c); err == nil || !strings.Contains(err.Error(), `cannot iterate over: string ("api")`) {
		t.Errorf("error = %v, want the jq message", err)
	}
}

func TestMissingSecret(t *testing.T) {
	tm, err := Compile("ab {{ .secrets.NOPE }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.Render(testContext())
	want := &Error{Offset: 3, Msg: "secret NOPE is not defined"}
	var te *Error
	if !errors.As(err, &te) || *te != *want {
		t.Errorf("err = %v, want %v", err, want)
	}
}

func TestDerived(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"{{ .secrets.TOKEN }}", []string{"s3cr3t-token"}},
		{"{{ .secrets.TOKEN | @base64 }}", []string{"czNjcjN0LXRva2Vu"}},
		// An object or array result registers its parts too: a remote
		// system may echo one field of it back.
		// Only the parts that depend on a secret: literals beside it are
		// not (they would be masked all over the run).
		{"{{ {t: .secrets.TOKEN} }}", []string{`{"t":"s3cr3t-token"}`, "s3cr3t-token"}},
		{"{{ [(.secrets.TOKEN | ascii_upcase), {n: 42}] }}", []string{`["S3CR3T-TOKEN",{"n":42}]`, "S3CR3T-TOKEN"}},
		{`{{ {auth: {token: .secrets.TOKEN, env: "production"}, port: 8080} }}`, []string{`{"auth":{"env":"production","token":"s3cr3t-token"},"port":8080}`, `{"env":"production","token":"s3cr3t-token"}`, "s3cr3t-token"}},
		{"{{ {(.secrets.TOKEN): 1} }}", []string{`{"s3cr3t-token":1}`, "s3cr3t-token", "1"}},
		{"x {{ {t: (.secrets.TOKEN | ascii_downcase)} }}", []string{`{"t":"s3cr3t-token"}`, "s3cr3t-token", `x {"t":"s3cr3t-token"}`}},
		{"{{ .secrets.TOKEN | length }}", []string{"12"}},
		{`{{ .secrets.TOKEN }}:{{ .secrets["my-key"] }}`, []string{"s3cr3t-token", "k3y-value", "s3cr3t-token:k3y-value"}},
		{"Bearer {{ .secrets.TOKEN }} for {{ .outputs.trigger.name }}", []string{"s3cr3t-token", "Bearer s3cr3t-token for api"}},
		{"{{ .outputs.trigger.name }}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			c := testContext()
			var got []string
			c.Derived = func(v string) { got = append(got, v) }
			if _, err := tm.Render(c); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Derived got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunawayIsStopped(t *testing.T) {
	steps := Limits{MaxSteps: 100_000, Timeout: time.Hour}
	clock := Limits{MaxSteps: 1 << 62, Timeout: 20 * time.Millisecond}
	tests := []struct {
		src    string
		limits Limits
		msg    string
	}{
		{"{{ [range(1e12)] }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ def f: f; f }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ def f: [f]; f }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ last(range(1e12)) }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ [repeat(1)] | length }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ reduce range(1e12) as $i (0; . + $i) }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ until(false; .) }}", steps, "exceeded the limit of 100000 steps"},
		{"a{{ 1 }}b{{ last(range(1e12)) }}", steps, "exceeded the limit of 100000 steps"},
		{"{{ last(range(1e12)) }}", clock, "exceeded the time limit of 20ms"},
		{"{{ def f: f; f }}", clock, "exceeded the time limit of 20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.msg+" "+tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			c := testContext()
			c.Limits = tt.limits
			_, err = tm.Render(c)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %q", err, tt.msg)
			}
		})
	}
}

func TestRenderContextCanceled(t *testing.T) {
	tm, err := Compile("{{ .outputs.trigger.name }}")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tm.RenderContext(ctx, testContext()); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("err = %v, want canceled", err)
	}
}

func TestResultSizeIsBounded(t *testing.T) {
	c := testContext()
	c.Limits.MaxResultBytes = 1000
	for _, src := range []string{
		"{{ [range(1000)] }}",
		`{{ "x" * 2000 }}`,
		`a{{ "x" * 600 }}b{{ "y" * 600 }}`,
		`{{ [range(100) | {("k\(.)"): "v"}] }}`,
	} {
		t.Run(src, func(t *testing.T) {
			tm, err := Compile(src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tm.Render(c)
			if err == nil || !strings.Contains(err.Error(), "result is too large") {
				t.Errorf("err = %v, want a size error", err)
			}
		})
	}
	tm, _ := Compile("{{ [range(10)] }}")
	if _, err := tm.Render(c); err != nil {
		t.Errorf("small result: %v", err)
	}
}

func TestRenderDoesNotAliasContext(t *testing.T) {
	c := testContext()
	tm, _ := Compile("{{ .outputs.trigger }}")
	v, err := tm.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	v.(map[string]any)["name"] = "changed"
	v.(map[string]any)["tags"].([]any)[0] = "changed"
	trig := c.Outputs["trigger"].(map[string]any)
	if trig["name"] != "api" || trig["tags"].([]any)[0] != "a" {
		t.Errorf("modifying the rendered value changed the context: %v", trig)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Path: "nodes[1].config.url", Offset: 12, Msg: "boom"}, "nodes[1].config.url: template position 12: boom"},
		{Error{Offset: 3, Msg: "boom"}, "template position 3: boom"},
		{Error{Path: "a.b", Offset: -1, Msg: "boom"}, "a.b: boom"},
		{Error{Offset: -1, Msg: "boom"}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestExpr(t *testing.T) {
	c := testContext()
	tests := []struct {
		src  string
		want any
	}{
		{`.outputs.trigger.name == "api"`, true},
		{".outputs.call.response.status >= 300", false},
		{"empty", nil},
		{".outputs.trigger.count * 2", json.Number("6")},
	}
	for _, tt := range tests {
		e, err := CompileExpr(tt.src)
		if err != nil {
			t.Fatalf("CompileExpr(%q): %v", tt.src, err)
		}
		got, err := e.Eval(c)
		if err != nil {
			t.Fatalf("Eval(%q): %v", tt.src, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%q) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
	e, _ := CompileExpr(".outputs.a, .outputs.b")
	if _, err := e.Eval(c); err == nil || !strings.Contains(err.Error(), "several values") {
		t.Errorf("several values: err = %v", err)
	}
	if got := e.Reads(); !reflect.DeepEqual(got.Outputs, []string{"a", "b"}) {
		t.Errorf("Reads = %+v", got)
	}
	var te *Error
	if _, err := CompileExpr(".a | env"); !errors.As(err, &te) || te.Offset != 5 {
		t.Errorf("sandbox: err = %v, want *Error at offset 5", err)
	}
	if _, err := CompileExpr(".a ]"); !errors.As(err, &te) || te.Offset != 3 {
		t.Errorf("syntax: err = %v, want *Error at offset 3", err)
	}
}

func TestContextTypesThatJqDoesNotKnow(t *testing.T) {
	c := &Context{Outputs: map[string]any{"n": map[string]any{"x": int64(1), "y": []string{"a"}}}}
	for _, src := range []string{"{{ .outputs.n.x + 1 }}", "{{ .outputs.n.y }}", "{{ .outputs.n.y[0] }}"} {
		tm, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.Render(c); err == nil {
			t.Errorf("%s: rendered a value of an unsupported type without error", src)
		}
	}
}

// TestConcurrentRenders renders the same compiled values with the same
// Context from many goroutines; run with -race.
func TestConcurrentRenders(t *testing.T) {
	v, err := CompileValue(map[string]any{
		"url":     "https://h/{{ .outputs.trigger.name }}?n={{ .outputs.trigger.count }}",
		"all":     "{{ .outputs | keys }}",
		"whole":   "{{ tojson | length }}",
		"auth":    "Bearer {{ .secrets.TOKEN }}",
		"obj":     "{{ .outputs.trigger }}",
		"mod":     "{{ .outputs.trigger | .name = \"x\" | .tags += [\"c\"] }}",
		"literal": []any{"a", map[string]any{"b": json.Number("1")}},
	}, "config")
	if err != nil {
		t.Fatal(err)
	}
	c := testContext()
	var mu sync.Mutex
	derived := 0
	c.Derived = func(string) { mu.Lock(); derived++; mu.Unlock() }
	want, err := v.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, err := v.Render(c)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want) {
					errs <- errors.New("renders differ")
					return
				}
				got.(map[string]any)["literal"].([]any)[0] = "mutated by the caller"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if trig := c.Outputs["trigger"].(map[string]any); trig["name"] != "api" || len(trig["tags"].([]any)) != 2 {
		t.Errorf("context modified: %v", trig)
	}
}

// TestPlainPathMatchesJq checks that the map-lookup evaluation of plain paths
// gives what gojq gives, values and errors alike.
func TestPlainPathMatchesJq(t *testing.T) {
	full := testContext()
	empty := &Context{Secrets: map[string]string{"TOKEN": "s3cr3t-token"}}
	for _, src := range []string{
		"{{ .outputs.trigger.name }}", "{{ .outputs.trigger }}", "{{ .outputs }}",
		"{{ .outputs.trigger.name.x }}", "{{ .outputs.trigger.tags.x }}", "{{ .outputs.missing.x.y }}",
		`{{ .outputs["trigger"]."count" }}`, "{{ .secrets.TOKEN }}", "{{ .secrets.TOKEN.x }}",
		"{{ .result.response.data }}", "{{ .workflow.version }}", "{{ .workflowNodeRun.identifier }}",
		"{{ .unknown.x }}", "x={{ .outputs.trigger.nothing }}",
	} {
		for _, c := range []*Context{full, empty} {
			fast, err := Compile(src)
			if err != nil {
				t.Fatal(err)
			}
			slow, _ := Compile(src)
			for i := range slow.parts {
				if slow.parts[i].expr != nil {
					if slow.parts[i].expr.path == nil {
						t.Fatalf("%s: not evaluated as a plain path", src)
					}
					e := *slow.parts[i].expr
					e.path = nil
					slow.parts[i].expr = &e
				}
			}
			if slow.lone != nil {
				for i := range slow.parts {
					if slow.parts[i].expr != nil {
						slow.lone = &slow.parts[i]
					}
				}
			}
			fv, ferr := fast.Render(c)
			sv, serr := slow.Render(c)
			if !reflect.DeepEqual(fv, sv) || fmt.Sprint(ferr) != fmt.Sprint(serr) {
				t.Errorf("%s: plain path gives %#v, %v; jq gives %#v, %v", src, fv, ferr, sv, serr)
			}
		}
	}
}
