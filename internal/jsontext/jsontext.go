// Package jsontext holds sluice's helpers for JSON text: the check below,
// the rendering of path steps (KeyStep, IndexStep), a string written as
// encoding/json writes it (AppendString), and the JSON name of a decoded
// value's type for errors (TypeName).
//
// Check checks JSON text before encoding/json decodes it, for
// what encoding/json lets through silently: invalid UTF-8 and \u escapes of
// lone UTF-16 surrogates (both decoded as U+FFFD, so a value is changed and
// nobody is told), duplicate object keys (the last one wins), and, given the
// Go type the text will be decoded into, object keys that name a struct
// field in another case (encoding/json matches them case-insensitively, so
// {"secretValue": a, "SecretValue": b} is a duplicate in disguise).
//
// Check makes one pass over the bytes and allocates only for the keys of
// large objects and for keys written with escapes. Problems carry the JSON
// path of the value or key (logs[2].message) and never the bytes at fault.
package jsontext

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects.
const MaxDepth = 512

// Kind is the kind of a problem.
type Kind int

// Kinds of problems.
const (
	// Syntax: the text is not JSON (or holds more than one value).
	Syntax Kind = iota
	// InvalidUTF8: a string or a key holds bytes that are not UTF-8.
	InvalidUTF8
	// LoneSurrogate: a string or a key holds a \u escape of half a UTF-16
	// surrogate pair.
	LoneSurrogate
	// Duplicate: an object names a key twice.
	Duplicate
	// UnknownField: a key names no field of the struct it decodes into
	// (exactly: encoding/json would match another case).
	UnknownField
	// TooDeep: nesting deeper than MaxDepth.
	TooDeep
)

// Error is a problem in JSON text.
type Error struct {
	Kind Kind
	// Path is the JSON path of the value at fault ("" for the top level);
	// for a key that is not UTF-8, the path of its object.
	Path string
	// Offset is the byte offset of the problem.
	Offset int64
	// Key is set when the problem is in an object key rather than a value.
	Key bool
	// Hint is the field a mistyped key may have meant (UnknownField).
	Hint string
}

// Message says what is wrong, without the path.
func (e *Error) Message() string {
	switch e.Kind {
	case InvalidUTF8:
		if e.Key {
			return "holds a key that is not valid UTF-8"
		}
		return "is not valid UTF-8"
	case LoneSurrogate:
		what := "holds"
		if e.Key {
			what = "holds a key with"
		}
		return what + ` a \u escape of a lone UTF-16 surrogate, which is no character`
	case Duplicate:
		return "duplicate key: an object may name a field only once"
	case UnknownField:
		if e.Hint != "" {
			return fmt.Sprintf("unknown field (names are case-sensitive: did you mean %s?)", e.Hint)
		}
		return "unknown field"
	case TooDeep:
		return fmt.Sprintf("nested deeper than %d levels", MaxDepth)
	}
	return fmt.Sprintf("malformed JSON at byte %d", e.Offset)
}

// Error implements error.
func (e *Error) Error() string {
	if e.Path == "" || e.Kind == Syntax {
		return e.Message()
	}
	return e.Path + ": " + e.Message()
}

// Options tune Check.
type Options struct {
	// AllowDuplicates leaves duplicate keys to the caller (the workflow
	// parser reports every one of them itself).
	AllowDuplicates bool
	// Into is the type the text will be decoded into; nil checks no field
	// names. Keys of objects decoded into structs must name a field
	// exactly.
	Into reflect.Type
}

// Check reports the first problem of data, in document order, as an *Error;
// nil when data is one JSON value without any.
func Check(data []byte, opts Options) error {
	s := &scanner{data: data, opts: opts}
	s.ws()
	if err := s.value(opts.Into, 0); err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.data) {
		return s.syntax()
	}
	return nil
}

// seg is one step of a JSON path: an object key or an array index.
type seg struct {
	key   []byte
	index int
	isKey bool
}

type scanner struct {
	data []byte
	i    int
	opts Options
	path []seg
	buf  []byte // decoded key of the current escaped key
}

// pathString renders the current path like the workflow parser does:
// a.b, a["odd key"], a[2].
func (s *scanner) pathString() string {
	var b strings.Builder
	for _, p := range s.path {
		if p.isKey {
			b.WriteString(KeyStep(string(p.key), b.Len() == 0))
		} else {
			b.WriteString(IndexStep(p.index))
		}
	}
	return b.String()
}

// KeyStep renders object key k as a step of a JSON path as sluice shows
// every path (this package's errors, internal/jsonpath, the API's
// details): .k, or ["k"] when k is not an identifier; first drops the dot
// of the path's first step.
func KeyStep(k string, first bool) string {
	switch {
	case !isIdent(k):
		return "[" + strconv.Quote(k) + "]"
	case first:
		return k
	}
	return "." + k
}

// IndexStep renders array index i as a step of a JSON path: [i].
func IndexStep(i int) string { return "[" + strconv.Itoa(i) + "]" }

func isIdent(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func (s *scanner) fail(k Kind, off int) *Error {
	return &Error{Kind: k, Path: s.pathString(), Offset: int64(off)}
}

// syntax reports malformed text at the current byte (the end for a
// truncated text).
func (s *scanner) syntax() *Error { return &Error{Kind: Syntax, Offset: int64(s.i)} }

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value checks one value at the current path; t is the Go type it decodes
// into (nil: any).
func (s *scanner) value(t reflect.Type, depth int) error {
	if s.i >= len(s.data) {
		return s.syntax()
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch c := s.data[s.i]; {
	case c == '{':
		if depth >= MaxDepth {
			return s.fail(TooDeep, s.i)
		}
		return s.object(t, depth+1)
	case c == '[':
		if depth >= MaxDepth {
			return s.fail(TooDeep, s.i)
		}
		return s.array(t, depth+1)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.syntax()
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.i:], []byte(lit)) {
		for j := 0; j < len(lit) && s.i < len(s.data) && s.data[s.i] == lit[j]; j++ {
			s.i++
		}
		return s.syntax()
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) number() error {
	if s.data[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.data) && s.data[s.i] == '0':
		s.i++
	case !s.digits():
		return s.syntax()
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if !s.digits() {
			return s.syntax()
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return s.syntax()
		}
	}
	return nil
}

func hexval(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 reads the 4 hex digits of a \u escape at s.i.
func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.data) {
		s.i = len(s.data)
		return 0, false
	}
	var r rune
	for j := 0; j < 4; j++ {
		h := hexval(s.data[s.i])
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
		s.i++
	}
	return r, true
}

// str checks a string at s.i (its opening quote). For a key it returns its
// decoded bytes: a slice of data when it holds no escape, else s.buf.
func (s *scanner) str(key bool) ([]byte, error) {
	s.i++ // the opening quote
	start := s.i
	escaped := false
	if key {
		s.buf = s.buf[:0]
	}
	bad := func(k Kind, off int) *Error {
		e := s.fail(k, off)
		e.Key = key
		return e
	}
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			if !escaped {
				return s.data[start : s.i-1], nil
			}
			return s.buf, nil
		case c < 0x20:
			return nil, s.syntax()
		case c == '\\':
			if key && !escaped {
				s.buf = append(s.buf, s.data[start:s.i]...)
			}
			escaped = true
			at := s.i
			s.i++
			if s.i >= len(s.data) {
				return nil, s.syntax()
			}
			e := s.data[s.i]
			s.i++
			var r rune
			switch e {
			case '"', '\\', '/':
				r = rune(e)
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				var ok bool
				if r, ok = s.hex4(); !ok {
					return nil, s.syntax()
				}
				if utf16.IsSurrogate(r) {
					// Only a high surrogate followed by a low one is a
					// character.
					lo := rune(-1)
					if r < 0xDC00 && s.i+1 < len(s.data) && s.data[s.i] == '\\' && s.data[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						var ok bool
						if lo, ok = s.hex4(); !ok {
							return nil, s.syntax()
						}
						if lo < 0xDC00 || lo > 0xDFFF {
							s.i = save
							lo = -1
						}
					}
					if lo < 0 {
						return nil, bad(LoneSurrogate, at)
					}
					r = utf16.DecodeRune(r, lo)
				}
			default:
				s.i--
				return nil, s.syntax()
			}
			if key {
				s.buf = utf8.AppendRune(s.buf, r)
			}
		case c < utf8.RuneSelf:
			if key && escaped {
				s.buf = append(s.buf, c)
			}
			s.i++
		default:
			r, size := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, bad(InvalidUTF8, s.i)
			}
			if key && escaped {
				s.buf = append(s.buf, s.data[s.i:s.i+size]...)
			}
			s.i += size
		}
	}
	return nil, s.syntax()
}

// smallObject is how many keys an object holds before duplicates are found
// through a map instead of a linear scan.
const smallObject = 16

func (s *scanner) object(t reflect.Type, depth int) error {
	s.i++ // '{'
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	var (
		keys [smallObject][]byte
		n    int
		seen map[string]struct{}
	)
	s.path = append(s.path, seg{isKey: true})
	top := len(s.path) - 1
	for {
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.syntax()
		}
		keyAt := s.i
		k, err := s.str(true)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Kind != Syntax {
				// A key that is not text: name its object.
				s.path = s.path[:top]
				e.Path = s.pathString()
			}
			return err
		}
		if len(k) > 0 && &k[0] == firstByte(s.buf) {
			k = bytes.Clone(k) // s.buf is reused by the next key
		}
		s.path[top].key = k
		if !s.opts.AllowDuplicates {
			dup := false
			if seen == nil {
				for _, o := range keys[:n] {
					dup = dup || bytes.Equal(o, k)
				}
				if n < smallObject {
					keys[n] = k
					n++
				} else {
					seen = make(map[string]struct{}, 2*smallObject)
					for _, o := range keys {
						seen[string(o)] = struct{}{}
					}
				}
			}
			if seen != nil {
				_, dup = seen[string(k)]
				seen[string(k)] = struct{}{}
			}
			if dup {
				return s.fail(Duplicate, keyAt)
			}
		}
		var ft reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				var ok bool
				if ft, ok = field(t, k); !ok {
					e := s.fail(UnknownField, keyAt)
					e.Hint = foldField(t, k)
					return e
				}
			case reflect.Map:
				ft = t.Elem()
			}
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.syntax()
		}
		s.i++
		s.ws()
		if err := s.value(ft, depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.syntax()
		}
		switch s.data[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.path = s.path[:top]
			return nil
		default:
			return s.syntax()
		}
	}
}

// firstByte returns the address of b's first byte, or nil.
func firstByte(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

func (s *scanner) array(t reflect.Type, depth int) error {
	s.i++ // '['
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	var et reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		et = t.Elem()
	}
	s.path = append(s.path, seg{})
	top := len(s.path) - 1
	for i := 0; ; i++ {
		s.path[top].index = i
		if err := s.value(et, depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.syntax()
		}
		switch s.data[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			s.path = s.path[:top]
			return nil
		default:
			return s.syntax()
		}
	}
}

// fieldName returns the JSON name of a struct field, "" when encoding/json
// ignores it, and whether it is an embedded struct whose fields are
// promoted.
func fieldName(f reflect.StructField) (name string, promoted bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ = strings.Cut(tag, ",")
	if f.Anonymous && name == "" {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			return "", true
		}
	}
	if !f.IsExported() {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

// field returns the type of the field of struct t that key names exactly.
func field(t reflect.Type, key []byte) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, promoted := fieldName(f)
		if promoted {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if typ, ok := field(ft, key); ok {
				return typ, true
			}
			continue
		}
		if name != "" && name == string(key) {
			return f.Type, true
		}
	}
	return nil, false
}

// foldField returns the field name of struct t that key names in another
// case, quoted, or "".
func foldField(t reflect.Type, key []byte) string {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, promoted := fieldName(f)
		if promoted {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if h := foldField(ft, key); h != "" {
				return h
			}
			continue
		}
		if name != "" && bytes.EqualFold([]byte(name), key) {
			return strconv.Quote(name)
		}
	}
	return ""
}
