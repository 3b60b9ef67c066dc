package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/jsontext"
)

type logLine struct {
	Level string            `json:"logLevel"`
	Tags  []string          `json:"tags"`
	Meta  map[string]int    `json:"meta"`
	Extra map[string]string `json:"extra"`
}

type body struct {
	Logs   []logLine          `json:"logs"`
	Status string             `json:"status"`
	Grid   [][]int            `json:"grid"`
	Inputs map[string]logLine `json:"inputs"`
	Small  int8               `json:"small"`
	Pair   [2]bool            `json:"pair"`
	Ptr    *logLine           `json:"ptr"`
	Any    any                `json:"any"`
}

// typeError decodes doc into a body the way the API does and returns the
// type error's offset.
func typeError(t *testing.T, doc string) *json.UnmarshalTypeError {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var b body
	var te *json.UnmarshalTypeError
	if err := dec.Decode(&b); !errors.As(err, &te) {
		t.Fatalf("decode %s: %v, want a type error", doc, err)
	}
	return te
}

func TestValueAtTypeErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"second log line", `{"logs": [{"logLevel": "INFO"}, {"logLevel": 5}]}`, "logs[1].logLevel"},
		{"object for a string", `{"logs": [{}, {}, {"logLevel": {"x": [1]}}]}`, "logs[2].logLevel"},
		{"array for a string", `{"logs": [{"logLevel": [1, 2]}]}`, "logs[0].logLevel"},
		{"inside a list of strings", `{"logs": [{}, {"tags": ["a", "b", true]}]}`, "logs[1].tags[2]"},
		{"map value", `{"logs": [{"meta": {"ok": 1, "bad": "x"}}]}`, `logs[0].meta.bad`},
		{"whole array for a string", `{"status": [{"a": 1}]}`, "status"},
		{"whole object for an array", `{"logs": {"logLevel": 1}}`, "logs"},
		{"element of the wrong kind", `{"logs": [1]}`, "logs[0]"},
		{"nested arrays", `{"grid": [[1], [2, 3, "x"]]}`, "grid[1][2]"},
		{"nested array of the wrong kind", `{"grid": [[1], {}]}`, "grid[1]"},
		{"float for an int", `{"grid": [[1.5]]}`, "grid[0][0]"},
		{"overflow", `{"small": 300}`, "small"},
		{"big number", `{"logs": [{"logLevel": 123456789012345678901234567890}]}`, "logs[0].logLevel"},
		{"odd key", `{"inputs": {"odd key": {"logLevel": true}}}`, `inputs["odd key"].logLevel`},
		{"key with a quote", `{"inputs": {"a\"b": {"logLevel": null, "tags": {}}}}`, `inputs["a\"b"].tags`},
		{"escaped key", `{"inputs": {"\u00e9t\u00e9": {"logLevel": 1}}}`, `inputs["été"].logLevel`},
		{"unicode key", `{"inputs": {"日本": {"tags": [1]}}}`, `inputs["日本"].tags[0]`},
		{"key that looks like an index", `{"inputs": {"0": {"logLevel": 1}}}`, `inputs["0"].logLevel`},
		{"empty key", `{"inputs": {"": {"logLevel": 1}}}`, `inputs[""].logLevel`},
		{"fixed array", `{"pair": [true, "no"]}`, "pair[1]"},
		{"pointer", `{"ptr": {"tags": ["a", 2]}}`, "ptr.tags[1]"},
		{"whitespace everywhere", " \n{ \"logs\" : [ { } ,\r\n\t{ \"logLevel\" : false } ] } ", "logs[1].logLevel"},
		{"string value with brackets", `{"logs": [{"logLevel": "[{"}, {"logLevel": "}]\"", "tags": "x"}]}`, "logs[1].tags"},
		{"after an any", `{"any": [{"a": [1, {"b": 2}]}], "status": 1}`, "status"},
		{"top level", `[1]`, ""},
		{"top-level string", `"x"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := typeError(t, tc.doc)
			p, exact := ValueAt([]byte(tc.doc), te.Offset)
			if !exact || p.String() != tc.want {
				t.Errorf("ValueAt(%d) = %q (exact %v), want %q (encoding/json says %q)", te.Offset, p, exact, tc.want, te.Field)
			}
		})
	}
}

func TestValueAtOffsets(t *testing.T) {
	const doc = `{"a": [10, {"b": "xy"}], "c": true}`
	//           0123456789012345678901234567890123456
	tests := []struct {
		off   int64
		want  string
		exact bool
	}{
		{9, "a[0]", true},     // the end of 10
		{7, "a", true},        // just after a's [
		{12, "a[1]", true},    // just after {
		{21, "a[1].b", true},  // the end of "xy"
		{34, "c", true},       // the end of true
		{1, "", true},         // just after the top {
		{8, "a[0]", false},    // inside 10
		{19, "a[1].b", false}, // inside "xy"
		{23, "a", false},      // the end of a's array (end of {...} is 22)
		{0, "", false},
		{36, "", false},
		{-5, "", false},
		{1000, "", false},
	}
	for _, tc := range tests {
		p, exact := ValueAt([]byte(doc), tc.off)
		if p.String() != tc.want || exact != tc.exact {
			t.Errorf("ValueAt(%d) = %q, %v, want %q, %v", tc.off, p, exact, tc.want, tc.exact)
		}
	}
}

func TestReadingAt(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"missing element", "{\n  \"identifier\": \"x\",\n  \"nodes\": [,]\n}", "nodes[0]"},
		{"trailing comma in an array", `{"logs": [{"message": "a"},]}`, "logs[1]"},
		{"trailing comma in an object", `{"logs": [{"message": "a",}]}`, "logs[0]"},
		{"missing value", `{"logs": [{}, {"level": }]}`, "logs[1].level"},
		{"missing colon", `{"logs": [{}, {"level" "INFO"}]}`, "logs[1].level"},
		{"missing comma between members", `{"a": 1 "b": 2}`, ""},
		{"missing comma between elements", `{"a": [1 2]}`, "a"},
		{"bad literal", `{"a": [true, tru]}`, "a[1]"},
		{"bad literal cut", `{"a": {"b": nul`, "a.b"},
		{"bad number", `{"a": [1, 01]}`, "a[1]"},
		{"bad number exponent", `{"a": {"b": 1e}}`, "a.b"},
		{"control character in a string", "{\"a\": [\"x\ty\"]}", "a[0]"},
		{"bad escape", `{"a": {"odd key": "\q"}}`, `a["odd key"]`},
		{"truncated string", `{"logs": [{"message": "abc`, "logs[0].message"},
		{"truncated after a key", `{"logs": [{"message"`, "logs[0].message"},
		{"truncated in a key", `{"logs": [{"mess`, "logs[0]"},
		{"truncated after an open bracket", `{"logs": [`, "logs[0]"},
		{"truncated after a value", `{"logs": [1`, "logs"},
		{"truncated object", `{`, ""},
		{"unquoted key", `{"a": {b: 1}}`, "a"},
		{"single quotes", `{"a": ['x']}`, "a[0]"},
		{"trailing data", `{"a": 1} {"b": 2}`, ""},
		{"close of the wrong kind", `{"a": [1}`, "a"},
		{"unicode key", `{"日本": {"é": [1, }}`, `["日本"]["é"][1]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The offsets of both checkers: jsontext (the API's) and
			// encoding/json (the workflow parser's).
			var offs []int64
			var je *jsontext.Error
			if err := jsontext.Check([]byte(tc.doc), jsontext.Options{}); errors.As(err, &je) && je.Kind == jsontext.Syntax {
				offs = append(offs, je.Offset)
			} else {
				t.Fatalf("jsontext: %v, want a syntax error", err)
			}
			var v any
			var se *json.SyntaxError
			switch err := json.Unmarshal([]byte(tc.doc), &v); {
			case errors.As(err, &se):
				offs = append(offs, se.Offset)
			case err != nil: // unexpected end
				offs = append(offs, int64(len(tc.doc)))
			default:
				t.Fatalf("encoding/json took %s", tc.doc)
			}
			for _, off := range offs {
				if got := ReadingAt([]byte(tc.doc), off).String(); got != tc.want {
					t.Errorf("ReadingAt(%d) = %q, want %q", off, got, tc.want)
				}
			}
		})
	}
}

func TestReadingAtBeyond(t *testing.T) {
	for _, off := range []int64{-1, 0, 3, 1 << 40} {
		ReadingAt([]byte(`{"a": [1, 2]}`), off) // no panic
	}
	if got := ReadingAt([]byte(`{"a": [1, 2]}`), 7).String(); got != "a[0]" {
		t.Errorf("ReadingAt inside a value = %q", got)
	}
	deep := bytes.Repeat([]byte("["), 3000)
	if got := ReadingAt(deep, int64(len(deep))); len(got) == 0 {
		t.Errorf("a deep text reads nothing")
	}
}

func TestPathString(t *testing.T) {
	p := Path{{Key: "logs", IsKey: true}, {Index: 3}, {Key: "a b", IsKey: true}, {Key: "x_1", IsKey: true}, {Key: "1x", IsKey: true}}
	if got, want := p.String(), `logs[3]["a b"].x_1["1x"]`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if got := strings.Join(p.Keys(), ","); got != "logs,a b,x_1,1x" {
		t.Errorf("Keys = %s", got)
	}
	if Path(nil).String() != "" {
		t.Errorf("the top level is not empty")
	}
}
