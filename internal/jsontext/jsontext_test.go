package jsontext

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

type body struct {
	Status string         `json:"status"`
	Value  *string        `json:"secretValue"`
	Output any            `json:"output"`
	Inputs map[string]any `json:"inputs"`
	Logs   []logLine      `json:"logs"`
	Hidden string         `json:"-"`
	embedded
}

type embedded struct {
	Extra string `json:"extra"`
}

func TestCheck(t *testing.T) {
	into := reflect.TypeFor[body]()
	tests := []struct {
		name string
		data string
		opts Options
		kind Kind // -1: no problem
		path string
		key  bool
	}{
		{"valid", `{"status": "x", "logs": [{"level": "INFO", "message": "é \u00e9 \ud83d\ude00"}], "output": {"a": [1, -2.5e+3, true, null]}}`, Options{Into: into}, -1, "", false},
		{"scalar top level", ` "x" `, Options{}, -1, "", false},
		{"invalid UTF-8 in a value", "{\"secretValue\": \"abcd\xff\xfe\"}", Options{}, InvalidUTF8, "secretValue", false},
		{"invalid UTF-8 deep", "{\"logs\": [{}, {}, {\"message\": \"a\xc3\"}]}", Options{}, InvalidUTF8, "logs[2].message", false},
		{"invalid UTF-8 in a key", "{\"inputs\": {\"k\xff\": 1}}", Options{}, InvalidUTF8, "inputs", true},
		{"invalid UTF-8 in a top-level key", "{\"k\xff\": 1}", Options{}, InvalidUTF8, "", true},
		{"UTF-8 of a surrogate", "{\"a\": \"\xed\xa0\x80\"}", Options{}, InvalidUTF8, "a", false},
		{"overlong UTF-8", "{\"a\": \"\xc0\xaf\"}", Options{}, InvalidUTF8, "a", false},
		{"lone high surrogate", `{"a": ["\ud800"]}`, Options{}, LoneSurrogate, "a[0]", false},
		{"lone low surrogate", `{"a": "x\udc00"}`, Options{}, LoneSurrogate, "a", false},
		{"high surrogate then a non-surrogate", `{"a": "\ud800\u0041"}`, Options{}, LoneSurrogate, "a", false},
		{"lone surrogate in a key", `{"o": {"\ud800": 1}}`, Options{}, LoneSurrogate, "o", true},
		{"duplicate key", `{"status": "a", "status": "b"}`, Options{}, Duplicate, "status", false},
		{"duplicate key deep", `{"output": {"x": [{"a": 1, "b": 2, "a": 3}]}}`, Options{}, Duplicate, "output.x[0].a", false},
		{"duplicate key through an escape", `{"inputs": {"env": 1, "\u0065nv": 2}}`, Options{}, Duplicate, "inputs.env", false},
		{"duplicate odd key", `{"inputs": {"a b": 1, "a b": 2}}`, Options{}, Duplicate, `inputs["a b"]`, false},
		{"duplicate in a large object", `{` + manyKeys(40) + `, "k7": 0}`, Options{}, Duplicate, "k7", false},
		{"duplicates allowed", `{"a": 1, "a": 2}`, Options{AllowDuplicates: true}, -1, "", false},
		{"same key in sibling objects", `[{"a": 1}, {"a": 2}]`, Options{}, -1, "", false},
		{"case variant of a field", `{"secretValue": "a", "SecretValue": "b"}`, Options{Into: into}, UnknownField, "SecretValue", false},
		{"case variant in a slice of structs", `{"logs": [{"Message": "x"}]}`, Options{Into: into}, UnknownField, "logs[0].Message", false},
		{"unknown field", `{"state": 1}`, Options{Into: into}, UnknownField, "state", false},
		{"ignored field", `{"Hidden": 1}`, Options{Into: into}, UnknownField, "Hidden", false},
		{"embedded field", `{"extra": "x"}`, Options{Into: into}, -1, "", false},
		{"map keys are free", `{"inputs": {"Env": 1, "env": 2}, "output": {"A": 1, "a": 2}}`, Options{Into: into}, -1, "", false},
		{"wrong shape is left to the decoder", `{"logs": {"Level": 1}}`, Options{Into: into}, -1, "", false},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), Options{}, TooDeep, strings.Repeat("[0]", MaxDepth), false},
		{"deep enough", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), Options{}, -1, "", false},
		{"empty", ``, Options{}, Syntax, "", false},
		{"trailing data", `{} {}`, Options{}, Syntax, "", false},
		{"trailing comma", `{"a": [1,]}`, Options{}, Syntax, "", false},
		{"bad escape", `{"a": "\x"}`, Options{}, Syntax, "", false},
		{"control character", "{\"a\": \"\n\"}", Options{}, Syntax, "", false},
		{"truncated", `{"a": "b`, Options{}, Syntax, "", false},
		{"leading zero", `[01]`, Options{}, Syntax, "", false},
		{"byte order mark", "\xef\xbb\xbf{}", Options{}, Syntax, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.data), tc.opts)
			if tc.kind < 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check = %v, want an *Error", err)
			}
			if e.Kind != tc.kind || e.Path != tc.path || e.Key != tc.key {
				t.Errorf("Check = kind %d path %q key %v (%v), want kind %d path %q key %v", e.Kind, e.Path, e.Key, e, tc.kind, tc.path, tc.key)
			}
			if !utf8.ValidString(e.Error()) || strings.Contains(e.Error(), "\xff") || strings.Contains(e.Error(), "\xfe") {
				t.Errorf("the message quotes bytes: %q", e.Error())
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"k` + string(rune('0'+i%10)) + string(rune('a'+i/10)) + `": 0`)
	}
	return strings.Replace(b.String(), `"k7a"`, `"k7"`, 1)
}

// FuzzCheck holds Check to encoding/json's idea of valid JSON: what it
// accepts, json.Valid accepts; what json.Valid accepts, it rejects only for
// the problems it exists to find.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, 2.5e3, "x\u00e9"]}`, `{"a": 1, "a": 2}`, "\"\xff\"", `"\ud800"`, `[-0.1, true, null]`, `{"a":{"b":[{}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data, Options{})
		valid := json.Valid(data)
		var e *Error
		switch {
		case err == nil && !valid:
			t.Fatalf("Check accepts what json.Valid rejects: %q", data)
		case err != nil && !errors.As(err, &e):
			t.Fatalf("Check = %v, not an *Error", err)
		case err != nil && e.Kind == Syntax && valid:
			t.Fatalf("Check reports a syntax error in valid JSON %q at %d", data, e.Offset)
		}
	})
}
