package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// StoredStrings calls fn for every string a definition stores, with its
// JSON path as Parse writes paths: every string value, and every object
// member name (with the member's path), in document order. The members a
// server adds at the top level (version, createdBy, ...) are skipped, as
// Parse drops them. It fails only when data is not well-formed JSON.
//
// It serves checks that look at the text of a definition as stored, such as
// the search for literal credentials, and validates nothing else. It walks
// the bytes once without building a tree, since such a check runs on every
// save after Parse.
func StoredStrings(data []byte, fn func(path, s string)) error {
	if !json.Valid(data) {
		return errors.New("workflow definition: malformed JSON")
	}
	w := &strWalker{data: data, fn: fn}
	w.skipSpace()
	if err := w.value("", 0, true); err != nil {
		return fmt.Errorf("workflow definition: %w", err)
	}
	return nil
}

// strWalker walks well-formed JSON (checked by json.Valid first).
type strWalker struct {
	data []byte
	i    int
	fn   func(path, s string)
}

func (w *strWalker) skipSpace() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value walks the value at w.i; top is set for the document's root object,
// whose server-added members are skipped.
func (w *strWalker) value(path string, depth int, top bool) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch w.data[w.i] {
	case '"':
		s, err := w.str()
		if err != nil {
			return err
		}
		w.fn(path, s)
	case '{':
		w.i++
		for {
			w.skipSpace()
			if w.data[w.i] == '}' {
				w.i++
				return nil
			}
			key, err := w.str()
			if err != nil {
				return err
			}
			w.skipSpace()
			w.i++ // ':'
			w.skipSpace()
			p := joinKey(path, key)
			if top && serverFields[key] {
				fn := w.fn
				w.fn = func(string, string) {}
				err := w.value(p, depth+1, false)
				w.fn = fn
				if err != nil {
					return err
				}
			} else {
				w.fn(p, key)
				if err := w.value(p, depth+1, false); err != nil {
					return err
				}
			}
			w.skipSpace()
			if w.data[w.i] == ',' {
				w.i++
			}
		}
	case '[':
		w.i++
		for n := 0; ; n++ {
			w.skipSpace()
			if w.data[w.i] == ']' {
				w.i++
				return nil
			}
			if err := w.value(joinIndex(path, n), depth+1, false); err != nil {
				return err
			}
			w.skipSpace()
			if w.data[w.i] == ',' {
				w.i++
			}
		}
	default: // number, true, false, null
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			w.i++
		}
	}
	return nil
}

// str reads the string at w.i and returns its value.
func (w *strWalker) str() (string, error) {
	start := w.i
	w.i++
	escaped := false
	for w.data[w.i] != '"' {
		if w.data[w.i] == '\\' {
			escaped = true
			w.i++
		}
		w.i++
	}
	w.i++
	raw := w.data[start:w.i]
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("string at byte %s: %w", strconv.Itoa(start), err)
	}
	return s, nil
}
