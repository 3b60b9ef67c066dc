package tmpl

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestSizeBound renders hostile templates that grow a value past any
// reasonable size in few jq steps. Each must fail with the size error, and
// the render must not allocate more than a small multiple of the bound.
func TestSizeBound(t *testing.T) {
	const maxAlloc = 256 << 20
	tests := []string{
		`reduce range(40) as $i ("xxxxxxxx"; . + .) | length`,
		`"x" * 1e9`,
		`1e9 * "x"`,
		`[range(1e5)] | tostring * 1000`,
		`null | .[1e9] = 1`,
		`null | .[1e9] |= 1`,
		`null | .[1e9] += 1`,
		`null | .a[1e9] //= 1`,
		`null | setpath([1e9]; 1)`,
		`null | pick(.[1e9])`,
		`fromstream([[1e9], 1], [[1e9]])`,
		`reduce range(30) as $i ([1]; . + .) | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | tojson | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | tostring | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | @base64 | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | @html | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | @sh "\(tojson)" | length`,
		`reduce range(30) as $i ({}; {a: ., b: .}) | . * . | length`,
		`reduce range(30) as $i ([1]; [., .]) | flatten | length`,
		`reduce range(40) as $i ("xxxxxxxx"; "\(.)\(.)") | length`,
		`reduce range(40) as $i ("xx"; @base64 "\(.)\(.)") | length`,
		`reduce range(40) as $i ("xxxxxxxx"; [., .] | join("")) | length`,
		`reduce range(40) as $i ("xxxxxxxx"; [., .] | add) | length`,
		`reduce range(40) as $i ("xxxxxxxx"; add(., .)) | length`,
		`reduce range(40) as $i ({a: "xxxxxxxx"}; .a += .a) | length`,
		`reduce range(40) as $i ("xxxxxxxx"; . * 2) | length`,
		`reduce range(40) as $i ("xxxxxxxx"; ascii_downcase + .) | length`,
		`reduce range(40) as $i (100000000000000000000; . * .) | length`,
		`[range(1e5)] as $a | reduce range(40) as $i ($a; . + $a) | length`,
		`"x" * 1e7 | explode | length`,
		`"x" * 1e6 | gsub(""; "yy") | length`,
		`"x" * 1e6 | [match(""; "g")] | length`,
		`"x" * 1e7 | split("") | length`,
		`"x" * 1e7 | . / "" | length`,
		`reduce range(25) as $i ("x"; [., .] | tojson) | length`,
		`reduce range(40) as $i ("[1]"; "[\(.),\(.)]") | fromjson | length`,
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			tm, err := Compile("{{ " + src + " }}")
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = tm.Render(&Context{Limits: Limits{MaxSteps: DefaultMaxSteps, Timeout: 1 << 62}})
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "exceeded the size limit of 16777216 bytes") {
				t.Errorf("Render error = %v, want the size error", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > maxAlloc {
				t.Errorf("the render allocated %d MiB", n>>20)
			}
		})
	}
}

// TestSizeBoundIsConfigurable checks Limits.MaxBytes and the message of a
// leaf of a Value, which names the field.
func TestSizeBoundIsConfigurable(t *testing.T) {
	v, err := CompileValue(map[string]any{"body": map[string]any{"x": `{{ "x" * 2000 }}`}}, "nodes[1].config")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Render(&Context{Limits: Limits{MaxBytes: 1000}}); err == nil ||
		err.Error() != "nodes[1].config.body.x: template position 0: evaluation failed: a value exceeded the size limit of 1000 bytes" {
		t.Errorf("err = %v", err)
	}
	if out, err := v.Render(&Context{}); err != nil || len(out.(map[string]any)["body"].(map[string]any)["x"].(string)) != 2000 {
		t.Errorf("default bound: %v", err)
	}
	// A secret-reading expression still says why it failed, never jq's text.
	tm, _ := Compile(`{{ .secrets.A * 5000 }}`)
	if _, err := tm.Render(&Context{Secrets: map[string]string{"A": "sekrit"}, Limits: Limits{MaxBytes: 1000}}); err == nil ||
		!strings.Contains(err.Error(), "size limit of 1000 bytes") || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("err = %v", err)
	}
}

// TestBoundKeepsSemantics checks that the rewriting behind the size bound
// keeps jq's results, the order of generators and jq's error messages.
func TestBoundKeepsSemantics(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{`{{ [(1,2) + (10,20)] | tojson }}`, `[11,12,21,22]`},
		{`{{ [(1,2) * (10,20)] | tojson }}`, `[10,20,20,40]`},
		{`{{ ["a\(1,2)-\(3,4)"] | tojson }}`, `["a1-3","a2-3","a1-4","a2-4"]`},
		{`{{ {a: 1} | [.a += (1,2)] | tojson }}`, `[{"a":2},{"a":3}]`},
		{`{{ {a: [1]} | .a[2] = 5 | tojson }}`, `{"a":[1,null,5]}`},
		{`{{ {a: 1, b: 2} | .[] *= 3 | tojson }}`, `{"a":3,"b":6}`},
		{`{{ "a-b-c" | gsub("-"; "+") }}`, `a+b+c`},
		{`{{ "abc" | [match("."; "g").string] | join(",") }}`, `a,b,c`},
		{`{{ "a1b2" | [scan("[0-9]")] | add }}`, `12`},
		{`{{ "a,b" | split(",") | tojson }}`, `["a","b"]`},
		{`{{ "a, b" | split(", *"; null) | tojson }}`, `["a","b"]`},
		{`{{ [1, [2, [3]]] | flatten | tojson }}`, `[1,2,3]`},
		{`{{ @base64 "x\(1)" }}`, `xMQ==`},
		{`{{ [{k: "a"}] | INDEX(.k) | tojson }}`, `{"a":{"k":"a"}}`},
		{`{{ {"a": {"b": 1}} | pick(.a.b) | tojson }}`, `{"a":{"b":1}}`},
		{`{{ [1,2] - [2] | tojson }}`, `[1]`},
		{`{{ "a" * 3 }}`, `aaa`},
		{`{{ "a,b" / "," | tojson }}`, `["a","b"]`},
		{`{{ 7 % 3 }}`, `1`},
		{`{{ try (1 + "a") catch . }}`, `cannot add: number (1) and string ("a")`},
		{`{{ def f: . + 1; 1 | f }}`, `2`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := tm.Render(&Context{})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if s, ok := got.(string); !ok || !reflect.DeepEqual(s, tt.want) {
				if !reflect.DeepEqual(stringForm(got), tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	// Names starting with _ are reserved: gojq's internals would bypass
	// the bound.
	for _, src := range []string{`{{ _add(1; 2) }}`, `{{ "x" | _match("x"; "g"; false) }}`, `{{ def _f: 1; _f }}`, `{{ _sluice_pre(1; 2) }}`} {
		if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Compile(%s) = %v, want the reserved-name error", src, err)
		}
	}
}
