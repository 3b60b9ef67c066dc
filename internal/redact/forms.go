package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MinLen is the length, in bytes, of the shortest pattern a Redactor
// registers. Shorter patterns would match by chance all over ordinary text
// and wreck every log; that is also why the secret store refuses secrets
// shorter than this.
const MinLen = 4

// minLineLen is the shortest line of a multi-line value that is registered on
// its own. Shorter lines ("-----", "}") are too common to mask alone.
const minLineLen = 8

// forms returns the forms that value v commonly takes in transit, each at
// least MinLen bytes long, in no particular order and possibly repeated:
//
//   - the raw value;
//   - the inside of a JSON string literal as encoding/json writes it, with
//     and without HTML escaping;
//   - the same with the escapes other JSON encoders use by default (see
//     jsonVariants): "/" as "\/" (PHP's json_encode), every non-ASCII rune
//     as \uXXXX in lower-case hex (Python's json.dumps) or upper-case hex,
//     and "\/" together with \uXXXX (PHP again);
//   - percent-encoding as common encoders write it (see percentForms):
//     the query form with "+" for space and the path form, each with upper-
//     and lower-case hex digits;
//   - HTML and XML entity escaping (see entityForms);
//   - base64 in the standard and URL-safe alphabets, padded and unpadded;
//   - the aligned base64 cores and their extensions to the end of the text
//     (see base64Cores), which catch v inside any longer base64 text, such as
//     Basic auth's base64 of "user:v" or "v:";
//   - hex, lower and upper case;
//   - for a multi-line value, each line of at least minLineLen bytes, with a
//     trailing carriage return removed.
//
// A form shorter than MinLen is dropped. For a value of MinLen bytes or more
// only some aligned base64 cores can be that short (none are, see
// base64Cores); for a shorter value the raw form itself is dropped, and what
// is left are its longer encodings.
func forms(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for _, f := range formFamilies {
		if formEnabled(f.name) {
			out = append(out, f.forms(v)...)
		}
	}
	kept := out[:0]
	for _, f := range out {
		if len(f) >= MinLen {
			kept = append(kept, f)
		}
	}
	return kept
}

// formFamily is one kind of form that forms registers, by name.
type formFamily struct {
	name  string
	forms func(v string) []string
}

// formFamilies are the kinds of forms forms registers, in the order of its
// doc comment. The names are what FormFamilies returns; the leak suite
// (test/leak) proves that switching off any one of them, in a build with
// the leakprobe tag (formswitch_probe.go), makes one of its cases fail,
// except those whose every form contains a form of another family
// (SubsumedFormFamilies).
var formFamilies = []formFamily{
	{"raw", func(v string) []string { return []string{v} }},
	{"json", func(v string) []string { return []string{jsonInner(v, true), jsonInner(v, false)} }},
	{"json-slash", func(v string) []string { return jsonFamily(v, true, hexAsIs, false) }},
	{"json-u-lower", func(v string) []string { return jsonFamily(v, false, hexLower, false) }},
	{"json-u-upper", func(v string) []string { return jsonFamily(v, false, hexUpper, false) }},
	{"json-slash-u", func(v string) []string {
		return append(jsonFamily(v, true, hexLower, false), jsonFamily(v, true, hexUpper, false)...)
	}},
	{"json-dotnet", func(v string) []string {
		return append(jsonFamily(v, false, hexUpper, true), jsonFamily(v, false, hexLower, true)...)
	}},
	{"percent", percentForms},
	{"entity", entityForms},
	{"base64", func(v string) []string {
		var out []string
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			out = append(out, enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		}
		return out
	}},
	{"base64-cores", func(v string) []string {
		return append(base64Cores(base64.StdEncoding, v), base64Cores(base64.URLEncoding, v)...)
	}},
	{"hex", func(v string) []string {
		h := hex.EncodeToString([]byte(v))
		return []string{h, strings.ToUpper(h)}
	}},
	{"lines", func(v string) []string {
		if !strings.Contains(v, "\n") {
			return nil
		}
		var out []string
		for line := range strings.SplitSeq(v, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if len(line) >= minLineLen {
				out = append(out, line)
			}
		}
		return out
	}},
}

// jsonFamily is reescapeJSON over the inside of v's JSON string literal, with
// and without HTML escaping, leaving out what equals that inside (which the
// "json" family registers) and nothing when needsVariants says there is
// nothing to rewrite.
func jsonFamily(v string, slash bool, hex jsonHex, punct bool) []string {
	var out []string
	for _, escapeHTML := range []bool{true, false} {
		inner := jsonInner(v, escapeHTML)
		if !needsVariants(inner) {
			continue
		}
		if f := reescapeJSON(inner, slash, hex, punct); f != inner {
			out = append(out, f)
		}
	}
	return out
}

// jsonInner returns v as encoding/json writes it inside a string literal,
// without the quotes.
func jsonInner(v string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	// Encoding a string cannot fail.
	_ = enc.Encode(v)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return string(b[1 : len(b)-1])
}

// jsonVariants returns the ways other JSON encoders write the string literal
// whose inside encoding/json wrote as inner, leaving out those equal to inner
// or to each other:
//
//   - "/" escaped as "\/";
//   - every non-ASCII rune escaped as \uXXXX (a UTF-16 surrogate pair above
//     the Basic Multilingual Plane), with the hex digits of every \u escape
//     in lower case, and again in upper case;
//   - both at once, in lower and upper case.
//
// For a value of printable ASCII without "/", which most tokens are, it
// returns nothing.
func jsonVariants(inner string) []string {
	if !needsVariants(inner) {
		return nil
	}
	var out []string
	seen := map[string]bool{inner: true}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, slash := range []bool{false, true} {
		for _, hex := range []jsonHex{hexAsIs, hexLower, hexUpper} {
			add(reescapeJSON(inner, slash, hex, false))
		}
	}
	// .NET's System.Text.Json also escapes + ' ` and " as \u00XX.
	add(reescapeJSON(inner, false, hexUpper, true))
	add(reescapeJSON(inner, false, hexLower, true))
	return out
}

// needsVariants reports whether inner has anything jsonVariants rewrites: a
// "/", a non-ASCII byte, an escape, or a character .NET escapes.
func needsVariants(inner string) bool {
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c == '/' || c >= utf8.RuneSelf || c == '\\' || c == '+' || c == '\'' || c == '`' {
			return true
		}
	}
	return false
}

// jsonHex says how reescapeJSON writes \u escapes.
type jsonHex int

const (
	// hexAsIs keeps non-ASCII runes as UTF-8 and \u escapes as they are.
	hexAsIs jsonHex = iota
	// hexLower escapes non-ASCII runes, and writes all \u escapes in lower
	// case.
	hexLower
	// hexUpper escapes non-ASCII runes, and writes all \u escapes in upper
	// case.
	hexUpper
)

// reescapeJSON rewrites inner, the inside of a JSON string literal as
// encoding/json writes it, with "/" escaped as "\/" when slash is set and
// with \u escapes as hex says. The escapes encoding/json already wrote
// (\n, \", \\, \u003c, \ufffd, ...) are kept, bar the case of their hex.
//
// With punct, the characters .NET escapes besides non-ASCII ones (+ ' ` and
// the quote) are written as \u00XX too.
func reescapeJSON(inner string, slash bool, hex jsonHex, punct bool) string {
	const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
	digits := lower
	if hex == hexUpper {
		digits = upper
	}
	writeU := func(b *strings.Builder, r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(digits[(r>>shift)&0xf])
		}
	}
	var b strings.Builder
	b.Grow(len(inner) + len(inner)/2)
	for i := 0; i < len(inner); {
		c := inner[i]
		switch {
		case c == '\\' && hex != hexAsIs && i+6 <= len(inner) && inner[i+1] == 'u':
			// A \uXXXX escape of encoding/json: recase its hex digits.
			b.WriteString(`\u`)
			for _, d := range []byte(inner[i+2 : i+6]) {
				if d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F' {
					d = digits[10+(d|0x20)-'a']
				}
				b.WriteByte(d)
			}
			i += 6
		case punct && c == '\\' && i+1 < len(inner) && inner[i+1] == '"':
			writeU(&b, '"')
			i += 2
		case c == '\\' && i+1 < len(inner):
			// Any other escape, \u ones kept as they are included.
			b.WriteString(inner[i : i+2])
			i += 2
		case punct && (c == '+' || c == '\'' || c == '`'):
			writeU(&b, rune(c))
			i++
		case c == '/' && slash:
			b.WriteString(`\/`)
			i++
		case c >= utf8.RuneSelf && hex != hexAsIs:
			r, size := utf8.DecodeRuneInString(inner[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				writeU(&b, r1)
				writeU(&b, r2)
			} else {
				writeU(&b, r)
			}
			i += size
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// base64Cores returns, for each of the three alignments, the part of the
// base64 encoding of v that depends only on v.
//
// Base64 turns each group of 3 bytes into 4 characters, so how v is encoded
// inside a longer text x+v+y depends only on len(x) mod 3, its alignment. For
// alignment k (0, 1, 2) we encode k filler bytes followed by v and keep the
// characters whose 6 bits all come from v: the first characters mix bits of
// the unknown prefix, the last one mixes bits of the unknown suffix (or the
// zero padding). The kept run is exactly what appears in the base64 of ANY
// text that contains v at that alignment: "user:v" and "v:" as HTTP Basic
// auth builds them, "v\n" as a shell pipe into base64 builds it, a secret
// inside a base64-encoded JSON document, and so on. A core is about 4n/3-2
// characters for a value of n bytes, so for n ≥ 4 every core is at least 4
// characters long; for n < 4 the short cores are dropped with the other short
// forms and such a value is caught in base64 only at some alignments.
//
// For each alignment it also returns the core extended to the end of the
// encoding, padded and unpadded: when v ends the text, as in "user:v", the
// last characters mix v only with the zero bits of padding, and masking them
// too leaves none of v's bits visible.
func base64Cores(enc *base64.Encoding, v string) []string {
	n := len(v)
	cores := make([]string, 0, 9)
	for k := 0; k < 3; k++ {
		buf := make([]byte, k+n)
		copy(buf[k:], v)
		s := enc.EncodeToString(buf)
		first, last := -1, -1
		for j := 0; j < len(s); j++ {
			// Character j holds bits [6j, 6j+6) of the input.
			lo, hi := 6*j/8, (6*j+5)/8
			if lo >= k && hi <= k+n-1 {
				if first < 0 {
					first = j
				}
				last = j
			}
		}
		if first >= 0 {
			cores = append(cores, s[first:last+1])
			// At the end of the text (Basic auth's "user:v") the last
			// characters mix v only with zero padding: take them too.
			cores = append(cores, s[first:], strings.TrimRight(s[first:], "="))
		}
	}
	return cores
}
