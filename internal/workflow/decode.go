package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/jsonpath"
	"github.com/sluice-run/sluice/internal/jsontext"
)

// maxDepth bounds the nesting of a definition, so that a hostile document
// cannot make the decoder recurse without limit.
const maxDepth = 128

// jkind is the JSON type of a decoded value.
type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// String names k as messages do ("must be a string").
func (k jkind) String() string {
	switch k {
	case jBool:
		return "a boolean"
	case jNumber:
		return "a number"
	case jString:
		return "a string"
	case jArray:
		return "an array"
	case jObject:
		return "an object"
	}
	return "null"
}

// jv is a decoded JSON value that keeps the order of object members and
// where each value starts, which map[string]any loses. Parsing walks it so
// that problems come out in the order of the document.
type jv struct {
	kind jkind
	pos  int64  // offset just past the value's first token
	s    string // string value, or the literal text of a number
	b    bool
	keys []string // object member names, in document order
	vals []*jv    // object member values (parallel to keys), or array elements
}

// get returns the member key of an object, or nil.
func (v *jv) get(key string) *jv {
	if v == nil || v.kind != jObject {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// toAny converts v to the value encoding/json would decode with UseNumber.
func (v *jv) toAny() any {
	switch v.kind {
	case jBool:
		return v.b
	case jNumber:
		return json.Number(v.s)
	case jString:
		return v.s
	case jArray:
		a := make([]any, len(v.vals))
		for i, e := range v.vals {
			a[i] = e.toAny()
		}
		return a
	case jObject:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			m[k] = v.vals[i].toAny()
		}
		return m
	}
	return nil
}

// encode writes v as compact JSON, in document order, leaving out the
// top-level members named in skip.
func (v *jv) encode(b *bytes.Buffer, skip map[string]bool) {
	switch v.kind {
	case jNull:
		b.WriteString("null")
	case jBool:
		b.WriteString(strconv.FormatBool(v.b))
	case jNumber:
		b.WriteString(v.s)
	case jString:
		writeJSONString(b, v.s)
	case jArray:
		b.WriteByte('[')
		for i, e := range v.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			e.encode(b, nil)
		}
		b.WriteByte(']')
	case jObject:
		b.WriteByte('{')
		first := true
		for i, k := range v.keys {
			if skip[k] {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k)
			b.WriteByte(':')
			v.vals[i].encode(b, nil)
		}
		b.WriteByte('}')
	}
}

// writeJSONString writes s as a JSON string without HTML escaping, so that
// a definition keeps its text as the user wrote it.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// quote formats s as a JSON-path key or a message would quote it.
func quote(s string) string { return strconv.Quote(s) }

// decoder builds a jv tree from a token stream, recording the position of
// every path in the report.
type decoder struct {
	dec  *json.Decoder
	data []byte
	r    *report
}

// decode parses data into a tree. A syntax error is recorded in r, with its
// line and column, and decode returns nil. Duplicate object keys are
// recorded as errors too (the first member is kept).
func decode(data []byte, r *report) *jv {
	// encoding/json would turn invalid UTF-8 and lone surrogate escapes
	// into U+FFFD: a definition would be saved changed. Syntax errors and
	// duplicates are left to the decoder below, which reports them as
	// definitions always have.
	var te *jsontext.Error
	if err := jsontext.Check(data, jsontext.Options{AllowDuplicates: true}); errors.As(err, &te) && (te.Kind == jsontext.InvalidUTF8 || te.Kind == jsontext.LoneSurrogate) {
		r.errorf(te.Path, "%s", te.Message())
		return nil
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(data)), data: data, r: r}
	d.dec.UseNumber()
	v, err := d.value("", 0)
	if err == nil {
		_, err = d.dec.Token()
		switch {
		case err == io.EOF:
			return v
		case err == nil:
			d.syntax(errors.New("unexpected data after the top-level value"), d.dec.InputOffset())
			return nil
		}
	}
	var se *json.SyntaxError
	var de *depthError
	switch {
	case errors.As(err, &se):
		d.syntax(err, se.Offset)
	case errors.As(err, &de):
		line, col := lineCol(d.data, de.offset)
		d.r.errorf("", "malformed JSON at line %d, column %d (byte %d): %s", line, col, de.offset, err)
	default: // io.ErrUnexpectedEOF and the like
		d.syntax(err, int64(len(data)))
	}
	return nil
}

// syntax records a malformed-document error at the given byte offset, at
// the JSON path of the value being read there (nodes[2].config).
func (d *decoder) syntax(err error, off int64) {
	line, col := lineCol(d.data, off)
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of JSON input"
	}
	d.r.errorf(jsonpath.ReadingAt(d.data, off).String(), "malformed JSON at line %d, column %d (byte %d): %s", line, col, off, msg)
}

// depthError reports a document nested deeper than maxDepth.
type depthError struct{ offset int64 }

func (e *depthError) Error() string {
	return fmt.Sprintf("nested deeper than %d levels", maxDepth)
}

// value reads one value at path.
func (d *decoder) value(path string, depth int) (*jv, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	off := d.dec.InputOffset()
	if _, seen := d.r.pos[path]; !seen {
		d.r.pos[path] = off
	}
	switch t := tok.(type) {
	case nil:
		return &jv{kind: jNull, pos: off}, nil
	case bool:
		return &jv{kind: jBool, pos: off, b: t}, nil
	case json.Number:
		return &jv{kind: jNumber, pos: off, s: string(t)}, nil
	case string:
		return &jv{kind: jString, pos: off, s: t}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, &depthError{offset: off}
		}
		if t == '[' {
			v := &jv{kind: jArray, pos: off}
			for d.dec.More() {
				e, err := d.value(joinIndex(path, len(v.vals)), depth+1)
				if err != nil {
					return nil, err
				}
				v.vals = append(v.vals, e)
			}
			_, err := d.dec.Token() // ']'
			return v, err
		}
		v := &jv{kind: jObject, pos: off}
		for d.dec.More() {
			kt, err := d.dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			p := joinKey(path, key)
			dup := v.get(key) != nil
			e, err := d.value(p, depth+1)
			if err != nil {
				return nil, err
			}
			if dup {
				d.r.errorf(p, "duplicate key: an object may name a field only once")
				continue
			}
			v.keys = append(v.keys, key)
			v.vals = append(v.vals, e)
		}
		_, err := d.dec.Token() // '}'
		return v, err
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// lineCol converts a byte offset into a 1-based line and column (in
// characters).
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCount(before) + 1
}
