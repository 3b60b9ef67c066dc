package workflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// inputsWorkflow has a trigger with one input of each kind of constraint.
const inputsWorkflow = `{"identifier":"w","nodes":[{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER","userInputs":{
  "properties":{
    "environment":{"type":"string","enum":["staging","production"],"default":"staging"},
    "service":{"type":"string","minLength":2,"maxLength":5,"pattern":"^[a-z]+$"},
    "replicas":{"type":"number","minimum":1,"maximum":10,"default":1},
    "dryRun":{"type":"boolean"},
    "labels":{"type":"object"},
    "tags":{"type":"array","items":{"type":"string"}},
    "owner":{"type":"string","format":"email"},
    "when":{"type":"string","format":"date-time"},
    "level":{"type":"number","enum":[1,2,3]}
  },
  "required":["service","environment"]}}}]}`

func TestUserInputsValidate(t *testing.T) {
	wf, probs := Parse([]byte(inputsWorkflow))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ui := wf.Triggers()[0].UserInputs
	tests := []struct {
		name   string
		inputs string
		want   map[string]any // the output, when there is no problem
		path   string         // the expected problem
		msg    string
	}{
		{"defaults applied", `{"service":"api"}`, map[string]any{"service": "api", "environment": "staging", "replicas": json.Number("1")}, "", ""},
		{"values kept", `{"service":"api","environment":"production","replicas":3,"dryRun":true,"labels":{"a":"b"},"tags":["x"],"level":2}`,
			map[string]any{"service": "api", "environment": "production", "replicas": json.Number("3"), "dryRun": true, "labels": map[string]any{"a": "b"}, "tags": []any{"x"}, "level": json.Number("2")}, "", ""},
		{"null is no value", `{"service":"api","environment":null}`, map[string]any{"service": "api", "environment": "staging", "replicas": json.Number("1")}, "", ""},
		{"required missing", `{}`, nil, "inputs.service", "required input is missing"},
		{"required null", `{"service":null}`, nil, "inputs.service", "required input is missing"},
		{"unknown input", `{"service":"api","colour":"red"}`, nil, "inputs.colour", "unknown input"},
		{"wrong type", `{"service":42}`, nil, "inputs.service", "must be a string"},
		{"wrong type boolean", `{"service":"api","dryRun":"yes"}`, nil, "inputs.dryRun", "must be a boolean"},
		{"wrong type object", `{"service":"api","labels":[]}`, nil, "inputs.labels", "must be an object"},
		{"enum", `{"service":"api","environment":"prod"}`, nil, "inputs.environment", "must be one of staging, production"},
		{"numeric enum", `{"service":"api","level":4}`, nil, "inputs.level", "must be one of 1, 2, 3"},
		{"numeric enum by value", `{"service":"api","level":2.0}`, map[string]any{"service": "api", "environment": "staging", "replicas": json.Number("1"), "level": json.Number("2.0")}, "", ""},
		{"minLength", `{"service":"a"}`, nil, "inputs.service", "at least 2 characters"},
		{"maxLength", `{"service":"abcdef"}`, nil, "inputs.service", "at most 5 characters"},
		{"pattern", `{"service":"API"}`, nil, "inputs.service", "must match the pattern ^[a-z]+$"},
		{"minimum", `{"service":"api","replicas":0}`, nil, "inputs.replicas", "at least 1"},
		{"maximum", `{"service":"api","replicas":11}`, nil, "inputs.replicas", "at most 10"},
		{"items", `{"service":"api","tags":["a",1]}`, nil, "inputs.tags", "element 1: must be a string"},
		{"email format", `{"service":"api","owner":"not an address"}`, nil, "inputs.owner", "must be a valid email"},
		{"date-time format", `{"service":"api","when":"yesterday"}`, nil, "inputs.when", "must be a valid date-time"},
		{"date-time ok", `{"service":"api","when":"2026-11-26T10:00:00Z","owner":"a@b.io"}`, map[string]any{"service": "api", "environment": "staging", "replicas": json.Number("1"), "when": "2026-11-26T10:00:00Z", "owner": "a@b.io"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.inputs))
			dec.UseNumber()
			var in map[string]any
			if err := dec.Decode(&in); err != nil {
				t.Fatal(err)
			}
			out, probs := ui.Validate(in)
			if tt.path == "" {
				if len(probs) > 0 {
					t.Fatalf("problems: %v", probs)
				}
				if !reflect.DeepEqual(out, tt.want) {
					t.Errorf("output = %#v, want %#v", out, tt.want)
				}
				return
			}
			if !find(probs, tt.path, tt.msg) {
				t.Errorf("no problem at %q containing %q: %v", tt.path, tt.msg, probs)
			}
		})
	}
}

func TestUserInputsValidateGoValues(t *testing.T) {
	// Inputs built by Go code (the CLI's --input flags) rather than decoded.
	wf, probs := Parse([]byte(inputsWorkflow))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ui := wf.Triggers()[0].UserInputs
	if _, ps := ui.Validate(map[string]any{"service": "api", "replicas": 4, "level": float64(3)}); len(ps) > 0 {
		t.Errorf("problems: %v", ps)
	}
	// Several problems come out sorted by path, and never quote the value.
	_, ps := ui.Validate(map[string]any{"zeta": 1, "service": "TOPSECRET-VALUE", "alpha": true})
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
		if strings.Contains(p.Message, "TOPSECRET") {
			t.Errorf("problem quotes the value: %v", p)
		}
	}
	if want := []string{"inputs.alpha", "inputs.service", "inputs.zeta"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
	// A nil schema accepts no inputs.
	var none *UserInputs
	if out, ps := none.Validate(map[string]any{"x": 1}); len(ps) != 1 || len(out) != 0 {
		t.Errorf("nil schema: %v %v", out, ps)
	}
	if out, ps := none.Validate(nil); len(ps) != 0 || len(out) != 0 {
		t.Errorf("nil schema, no inputs: %v %v", out, ps)
	}
}

func TestUserInputsDefaultsAreCopied(t *testing.T) {
	src := `{"identifier":"w","nodes":[{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER","userInputs":{"properties":{"labels":{"type":"object","default":{"team":"core"}}}}}}]}`
	wf, probs := Parse([]byte(src))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ui := wf.Triggers()[0].UserInputs
	out, ps := ui.Validate(nil)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	out["labels"].(map[string]any)["team"] = "changed"
	again, _ := ui.Validate(nil)
	if got := again["labels"].(map[string]any)["team"]; got != "core" {
		t.Errorf("default was modified through an earlier output: %v", got)
	}
}

// Inputs that are not valid UTF-8 (a --input value typed or read as bytes)
// are refused, naming the input and never quoting the bytes: stored or sent,
// they would become U+FFFD.
func TestUserInputsValidateUTF8(t *testing.T) {
	wf, probs := Parse([]byte(inputsWorkflow))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ui := wf.Triggers()[0].UserInputs
	tests := []struct {
		name   string
		inputs map[string]any
		path   string // "" for no problem
	}{
		{"valid", map[string]any{"service": "api", "labels": map[string]any{"é": "ü"}, "tags": []any{"日本"}}, ""},
		{"a string", map[string]any{"service": "ab\xff\xfe"}, "inputs.service"},
		{"a string in an array", map[string]any{"service": "api", "tags": []any{"ok", "b\xc3"}}, "inputs.tags[1]"},
		{"a value in an object", map[string]any{"service": "api", "labels": map[string]any{"a": "ok", "b": "\xed\xa0\x80"}}, "inputs.labels.b"},
		{"a key in an object", map[string]any{"service": "api", "labels": map[string]any{"k\xff": "v"}}, "inputs.labels"},
		{"an input name", map[string]any{"service": "api", "x\xff": "v"}, "inputs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := ui.Validate(tc.inputs)
			if tc.path == "" {
				if len(ps) > 0 {
					t.Fatalf("problems: %v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Path != tc.path || !strings.Contains(ps[0].Message, "not valid UTF-8") {
				t.Fatalf("problems = %v, want one at %s", ps, tc.path)
			}
			if !utf8.ValidString(ps[0].Path + ps[0].Message) {
				t.Errorf("the problem quotes the bytes: %q", ps[0])
			}
		})
	}
	for _, tc := range []struct {
		v    any
		path string
		bad  bool
	}{
		{"ok", "", false},
		{json.Number("1"), "", false},
		{nil, "", false},
		{[]any{map[string]any{"a b": []any{"x", "\xff"}}}, `v[0]["a b"][1]`, true},
	} {
		if p, bad := InvalidUTF8("v", tc.v); p != tc.path || bad != tc.bad {
			t.Errorf("InvalidUTF8(%#v) = %q, %v, want %q, %v", tc.v, p, bad, tc.path, tc.bad)
		}
	}
}

func TestCheckInputsText(t *testing.T) {
	tests := []struct {
		name, data, path, msg string // path "" for no problem
	}{
		{"valid", `{"env": "prod", "tags": ["é"]}`, "", ""},
		{"malformed is left to the decoder", `{"env": `, "", ""},
		{"invalid UTF-8", "{\"env\": \"pr\xffod\"}", "inputs.env", "not valid UTF-8"},
		{"invalid UTF-8 deep", "{\"cfg\": {\"a b\": [\"\xc3\"]}}", `inputs.cfg["a b"][0]`, "not valid UTF-8"},
		{"invalid UTF-8 in a name", "{\"e\xffnv\": 1}", "inputs", "key that is not valid UTF-8"},
		{"lone surrogate", `{"env": "\udfff"}`, "inputs.env", "lone UTF-16 surrogate"},
		{"duplicate input", `{"env": "dev", "env": "prod"}`, "inputs.env", "duplicate key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := CheckInputsText([]byte(tc.data))
			switch {
			case tc.path == "" && p != nil:
				t.Errorf("problem %v, want none", p)
			case tc.path != "" && (p == nil || p.Path != tc.path || !strings.Contains(p.Message, tc.msg)):
				t.Errorf("problem %v, want %s: ...%s", p, tc.path, tc.msg)
			}
		})
	}
}
