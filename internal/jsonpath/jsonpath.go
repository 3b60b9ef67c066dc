// Package jsonpath finds where in a JSON text a byte offset falls, as a JSON
// path (logs[1].logLevel, inputs["odd key"], "" for the top level), so that
// an error from encoding/json can name the value at fault with its array
// indices and map keys: a *json.UnmarshalTypeError names only the struct
// fields on the way (logs.logLevel), and a *json.SyntaxError only a byte.
//
// Paths are written as internal/jsontext and the workflow parser write them:
// keys that are identifiers after a dot, other keys quoted in brackets, indices
// in brackets. They hold keys, never values: a value may be a secret.
package jsonpath

import (
	"encoding/json"
	"github.com/sluice-run/sluice/internal/jsontext"
	"slices"
	"strings"
)

// maxDepth bounds the nesting the walk follows; a deeper text ends the walk
// where it is (request bodies are refused past 512 levels before this).
const maxDepth = 1024

// Step is one step of a path: an object key, or an array index.
type Step struct {
	Key   string
	Index int
	IsKey bool
}

// Path is the steps from the top-level value to a value.
type Path []Step

// String renders p: a.b, a["odd key"], a[2], "" for the top level, as
// every path sluice shows is rendered (jsontext.KeyStep).
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.IsKey {
			b.WriteString(jsontext.KeyStep(s.Key, b.Len() == 0))
		} else {
			b.WriteString(jsontext.IndexStep(s.Index))
		}
	}
	return b.String()
}

// Keys returns the object keys of p, in order, without the indices.
func (p Path) Keys() []string {
	var ks []string
	for _, s := range p {
		if s.IsKey {
			ks = append(ks, s.Key)
		}
	}
	return ks
}

// ValueAt returns the path of the value of data that an encoding/json type
// error at byte offset off names (*json.UnmarshalTypeError.Offset): the
// scalar that ends at off, or the array or object whose opening bracket is
// just before off. exact is false when no value is placed so; the path is
// then that of the innermost value whose bytes hold off (an end counted in),
// or the top level. data need not be well-formed: the walk stops at the
// first byte that is not JSON.
func ValueAt(data []byte, off int64) (p Path, exact bool) {
	var fallback Path
	found := false
	w := &walker{data: data, stop: len(data) + 1}
	w.onValue = func(start, end int, container bool) bool {
		if container && int64(start)+1 == off || !container && int64(end) == off {
			p, exact = slices.Clone(w.path), true
			return false
		}
		if !found && int64(start) <= off && off <= int64(end) {
			fallback, found = slices.Clone(w.path), true
		}
		return true
	}
	w.walk()
	if exact {
		return p, true
	}
	return fallback, false
}

// ReadingAt returns the path of the value being read at byte offset off of
// data, where a parser found it malformed (*json.SyntaxError.Offset, or
// len(data) for a text cut short): the value whose bytes reach off, the
// value after its key when off is where its colon or the value should be,
// the next element of an array where an element should be, and the object
// or array itself between its members (a key, a comma or a closing bracket
// expected). Text after the top-level value is the top level's.
func ReadingAt(data []byte, off int64) Path {
	stop := len(data) + 1
	if off >= 0 && off < int64(stop) {
		stop = int(off)
	} else if off < 0 {
		stop = 0
	}
	w := &walker{data: data, stop: stop}
	w.walk()
	return w.reading
}

// walker reads a JSON text, keeping the path of where it is. It ends at
// stop (before reading the byte there), at the first malformed byte, or when
// onValue says so; reading is then the path of what it was reading.
type walker struct {
	data    []byte
	i       int
	stop    int
	path    Path
	reading Path
	// onValue is called when a value was read in full, spanning
	// data[start:end], with w.path its path; false ends the walk.
	onValue func(start, end int, container bool) bool
}

// halt ends the walk, reading the value at p.
func (w *walker) halt(p Path) bool {
	w.reading = slices.Clone(p)
	return false
}

// atEnd reports whether the walk must end before the current byte.
func (w *walker) atEnd() bool { return w.i >= w.stop || w.i >= len(w.data) }

func (w *walker) ws() {
	for w.i < len(w.data) && w.i < w.stop {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

func (w *walker) walk() {
	w.ws()
	if !w.value(0) {
		return
	}
	w.ws()
	w.halt(nil)
}

// value reads one value at w.path.
func (w *walker) value(depth int) bool {
	here := w.path
	if w.atEnd() || depth > maxDepth {
		return w.halt(here)
	}
	start := w.i
	var ok, container bool
	switch c := w.data[w.i]; c {
	case '{':
		ok, container = w.object(depth+1), true
	case '[':
		ok, container = w.array(depth+1), true
	case '"':
		_, ok = w.str()
		if !ok {
			return w.halt(here)
		}
	default:
		end := start
		for end < len(w.data) && isLiteral(w.data[end]) {
			end++
		}
		if end == start || w.stop < end {
			w.i = min(end, w.stop)
			return w.halt(here) // not a value, or stopped inside it
		}
		w.i = end
		if !json.Valid(w.data[start:end]) {
			return w.halt(here) // tru, 01, 1.e5: this value is at fault
		}
		ok = true
	}
	if !ok {
		return false
	}
	if w.onValue != nil && !w.onValue(start, w.i, container) {
		return w.halt(here)
	}
	return true
}

// isLiteral reports whether c may be part of a number, true, false or null.
func isLiteral(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// str reads a string at its opening quote and returns its raw bytes,
// quotes included; false when it is cut short by stop or the end.
func (w *walker) str() ([]byte, bool) {
	start := w.i
	w.i++
	for !w.atEnd() {
		switch c := w.data[w.i]; {
		case c == '"':
			w.i++
			return w.data[start:w.i], true
		case c == '\\':
			w.i += 2
			if w.i > len(w.data) || w.i > w.stop {
				w.i = min(len(w.data), w.stop)
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			w.i++
		}
	}
	return nil, false
}

// key decodes a raw key; one encoding/json cannot decode (a bad escape) is
// kept as written between its quotes.
func key(raw []byte) string {
	var k string
	if json.Unmarshal(raw, &k) != nil {
		return string(raw[1 : len(raw)-1])
	}
	return k
}

func (w *walker) object(depth int) bool {
	obj := w.path
	w.i++ // '{'
	w.path = append(w.path, Step{IsKey: true})
	top := len(w.path) - 1
	for first := true; ; first = false {
		w.ws()
		if w.atEnd() {
			return w.halt(obj)
		}
		if first && w.data[w.i] == '}' {
			w.i++
			w.path = w.path[:top]
			return true
		}
		if w.data[w.i] != '"' {
			return w.halt(obj)
		}
		raw, ok := w.str()
		if !ok {
			return w.halt(obj)
		}
		w.path[top] = Step{Key: key(raw), IsKey: true}
		w.ws()
		if w.atEnd() || w.data[w.i] != ':' {
			return w.halt(w.path)
		}
		w.i++
		w.ws()
		if !w.value(depth) {
			return false
		}
		w.ws()
		if w.atEnd() {
			return w.halt(obj)
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case '}':
			w.i++
			w.path = w.path[:top]
			return true
		default:
			return w.halt(obj)
		}
	}
}

func (w *walker) array(depth int) bool {
	arr := w.path
	w.i++ // '['
	w.ws()
	if !w.atEnd() && w.data[w.i] == ']' {
		w.i++
		return true
	}
	w.path = append(w.path, Step{})
	top := len(w.path) - 1
	for i := 0; ; i++ {
		w.path[top] = Step{Index: i}
		w.ws()
		if !w.value(depth) {
			return false
		}
		w.ws()
		if w.atEnd() {
			return w.halt(arr)
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case ']':
			w.i++
			w.path = w.path[:top]
			return true
		default:
			return w.halt(arr)
		}
	}
}
