package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// FuzzPathAt: ValueAt and ReadingAt never panic, whatever the text and the
// offset; for the offset of a type error encoding/json reports, ValueAt
// finds a value exactly, and its path resolves in the document to a value
// of the kind encoding/json named.
func FuzzPathAt(f *testing.F) {
	for _, s := range []string{
		`{"logs": [{"logLevel": "INFO"}, {"logLevel": 5}]}`,
		`{"grid": [[1], [2, "x"]], "status": 1}`,
		`{"inputs": {"odd key": {"tags": ["a", {}]}}}`,
		`{"inputs": {"\u00e9\"": {"meta": {"k": "v"}}}}`,
		`{"small": 1000, "pair": [true, 1]}`,
		`{"logs": [{"message": "a",}]}`,
		`{"logs": [`,
		`[1]`,
	} {
		f.Add([]byte(s), int64(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, doc []byte, off int64) {
		ValueAt(doc, off)
		ReadingAt(doc, off)
		var je *jsontext.Error
		if err := jsontext.Check(doc, jsontext.Options{}); errors.As(err, &je) {
			ReadingAt(doc, je.Offset)
			return // the API refuses such a text before decoding it
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var b body
		var te *json.UnmarshalTypeError
		if err := dec.Decode(&b); !errors.As(err, &te) {
			return
		}
		p, exact := ValueAt(doc, te.Offset)
		if !exact {
			t.Fatalf("no value placed at the type error's offset %d (%s) of %q", te.Offset, te.Field, doc)
		}
		var v any
		dec = json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("the text decoded into a body but not into any: %v", err)
		}
		got, ok := resolve(v, p)
		if !ok {
			t.Fatalf("path %q does not resolve in %q", p, doc)
		}
		if k := kind(got); !strings.HasPrefix(te.Value, k) {
			t.Fatalf("path %q of %q is %s, encoding/json named %s", p, doc, k, te.Value)
		}
	})
}

// resolve returns the value at p in v.
func resolve(v any, p Path) (any, bool) {
	for _, s := range p {
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[s.Key]
			if !s.IsKey || !ok {
				return nil, false
			}
			v = e
		case []any:
			if s.IsKey || s.Index < 0 || s.Index >= len(x) {
				return nil, false
			}
			v = x[s.Index]
		default:
			return nil, false
		}
	}
	return v, true
}

// kind names the JSON type of v as UnmarshalTypeError.Value does.
func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}
