package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// maxDepth bounds the nesting of a document JSON walks; encoding/json has the
// same limit for decoding, and it stops a cyclic map from recursing forever.
const maxDepth = 10000

// JSON redacts v and returns it as a JSON document. v is typically what
// encoding/json decodes into an any (map[string]any, []any, string, float64,
// json.Number, bool, nil), but may be anything json.Marshal accepts.
//
// Every string is redacted, object keys included, and so is the text of every
// number: a secret "12345678" echoed back as the number 12345678 becomes the
// string "***". Objects are written with their keys in sorted order and
// without HTML escaping, so a document without secrets comes out as
// json.Marshal would write it with SetEscapeHTML(false). Two keys that redact
// to the same text both stay, so the result may repeat a key.
//
// The encoded document then goes through the byte redactor as well, to catch
// a pattern that spans JSON syntax, such as the JSON-escaped form of a value
// built across two strings. Should that pass leave the document invalid, the
// result is the JSON string "***". The result is always valid JSON and never
// contains a registered pattern.
//
// The error, from a value json.Marshal rejects, has a redacted message and
// does not wrap its cause, whose text could hold a secret.
func (r *Redactor) JSON(v any) (JSON, error) {
	m := r.matcher()
	b, err := m.appendValue(nil, v, 0)
	if err != nil {
		return JSON{}, err
	}
	return JSON{b: m.finish(b)}, nil
}

// JSONBytes redacts the JSON document b as JSON does. b must be one valid
// JSON value; its numbers keep their exact text.
func (r *Redactor) JSONBytes(b []byte) (JSON, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return JSON{}, jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return JSON{}, fmt.Errorf("redact: invalid JSON: data after the value ends at byte offset %d", dec.InputOffset())
	}
	m := r.matcher()
	out, err := m.appendValue(make([]byte, 0, len(b)), v, 0)
	if err != nil {
		return JSON{}, err
	}
	return JSON{b: m.finish(out)}, nil
}

// jsonSyntaxError describes a decoding error by position only: the messages
// of encoding/json quote the offending character, which may belong to a
// secret.
func jsonSyntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("redact: invalid JSON at byte offset %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("redact: invalid JSON: unexpected end of input")
	}
	return errors.New("redact: invalid JSON")
}

// finish runs the byte redactor over an encoded document and falls back to a
// valid document if that broke it.
func (m *matcher) finish(b []byte) []byte {
	out, changed := m.redactBytes(b)
	if !changed || json.Valid(out) {
		return out
	}
	fallback := []byte(`"` + Mask + `"`)
	if findSpans(m.ac, fallback) != nil {
		// Only a pattern such as `"***` can match here; an empty string is
		// shorter than any pattern.
		return []byte(`""`)
	}
	return fallback
}

// appendValue appends the redacted encoding of v to dst.
func (m *matcher) appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("redact: JSON nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return jsontext.AppendString(dst, m.redact(x), false), nil
	case json.Number:
		s := string(x)
		if !isNumber(s) {
			return jsontext.AppendString(dst, m.redact(s), false), nil
		}
		return m.appendNumber(dst, s), nil
	case float64:
		b, err := json.Marshal(x)
		if err != nil {
			// NaN and infinities: the message names only the value.
			return nil, fmt.Errorf("redact: %v", err)
		}
		return m.appendNumber(dst, string(b)), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = m.appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsontext.AppendString(dst, m.redact(k), false)
			dst = append(dst, ':')
			var err error
			if dst, err = m.appendValue(dst, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("redact: cannot encode %T as JSON: %s", x, m.redact(err.Error()))
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var g any
		if err := dec.Decode(&g); err != nil {
			return nil, fmt.Errorf("redact: re-reading the JSON of %T: %w", x, jsonSyntaxError(err))
		}
		return m.appendValue(dst, g, depth+1)
	}
}

// appendNumber appends the number whose JSON text is s, or the redacted text
// as a string when s holds a pattern.
func (m *matcher) appendNumber(dst []byte, s string) []byte {
	if r := m.redact(s); r != s {
		return jsontext.AppendString(dst, r, false)
	}
	return append(dst, s...)
}

// isNumber reports whether s is exactly a JSON number literal.
func isNumber(s string) bool {
	if s == "" || !(s[0] == '-' || ('0' <= s[0] && s[0] <= '9')) {
		return false
	}
	last := s[len(s)-1]
	return '0' <= last && last <= '9' && json.Valid([]byte(s))
}
