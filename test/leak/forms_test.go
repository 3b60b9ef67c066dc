package leak_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// minForm is the length under which a form is not expected to be masked:
// the redactor refuses shorter patterns, as they would match by chance.
const minForm = 4

// minLine is the length from which a line of a multi-line value is expected
// to be masked on its own.
const minLine = 8

// form is one way a value can show: its label and its text.
type form struct {
	label string
	text  string
}

// valueForms computes, independently of internal/redact, the forms a value
// takes in transit: raw; JSON-escaped (with and without HTML escaping);
// url.QueryEscape and url.PathEscape, also with lower-case hex digits;
// HTML/XML-escaped as common escapers write it (see entityEscapes); base64
// std and URL-safe, padded and unpadded; the aligned base64 cores (the
// characters of base64(prefix+v) that depend only on v, for a prefix length
// ≡ 0, 1, 2 mod 3, which is what shows of v inside base64("user:"+v),
// base64(v+":") or base64(v+"\n")), and the standard cores wrapped at 64
// and 76 columns at every offset (see wrappedCores); hex lower and upper;
// each line of a multi-line value; the string literals of other JSON
// encoders (see jsonEncoderForms) and the percent-encodings of other
// libraries (see percentEncoderForms). Forms shorter than minForm are left
// out.
func valueForms(v string) []form {
	fs := []form{{"raw", v}, {"JSON-escaped", jsonInner(v, true)}, {"JSON-escaped (no HTML escaping)", jsonInner(v, false)},
		{"url.QueryEscape", url.QueryEscape(v)}, {"url.PathEscape", url.PathEscape(v)},
		{"url.QueryEscape, lower-case hex", lowerHex(url.QueryEscape(v))}, {"url.PathEscape, lower-case hex", lowerHex(url.PathEscape(v))}}
	for _, e := range entityEscapes {
		if esc := e.r.Replace(v); esc != v {
			// Also as the API's JSON shows it, with & < > as \u0026 ...
			fs = append(fs, form{"HTML-escaped as " + e.name, esc}, form{"HTML-escaped as " + e.name + ", JSON-escaped", jsonInner(esc, true)})
		}
	}
	encs := []struct {
		name string
		enc  *base64.Encoding
	}{
		{"base64 std", base64.StdEncoding}, {"base64 std unpadded", base64.RawStdEncoding},
		{"base64 url", base64.URLEncoding}, {"base64 url unpadded", base64.RawURLEncoding},
	}
	for _, e := range encs {
		fs = append(fs, form{e.name, e.enc.EncodeToString([]byte(v))})
	}
	for _, e := range encs {
		if strings.Contains(e.name, "unpadded") {
			continue // the core does not depend on padding
		}
		for p := 0; p < 3; p++ {
			fs = append(fs, form{fmt.Sprintf("%s core at prefix length ≡ %d mod 3", e.name, p), base64Core(e.enc, v, p)})
		}
	}
	for p := 0; p < 3; p++ {
		fs = append(fs, wrappedCores(base64Core(base64.StdEncoding, v, p), p)...)
	}
	fs = append(fs, jsonEncoderForms(v)...)
	fs = append(fs, percentEncoderForms(v)...)
	h := hex.EncodeToString([]byte(v))
	fs = append(fs, form{"hex", h}, form{"HEX", strings.ToUpper(h)})
	if strings.Contains(v, "\n") {
		for i, line := range strings.Split(v, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if len(line) >= minLine {
				fs = append(fs, form{fmt.Sprintf("line %d", i+1), line})
			}
		}
	}
	kept := fs[:0]
	for _, f := range fs {
		if len(f.text) >= minForm {
			kept = append(kept, f)
		}
	}
	return kept
}

// jsonInner is v inside a JSON string literal, without the quotes.
func jsonInner(v string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v)
	s := strings.TrimSuffix(buf.String(), "\n")
	return s[1 : len(s)-1]
}

// base64Core returns the characters of enc(prefix+v), for a prefix of p
// bytes (p < 3), that depend only on bytes of v: character j carries input
// bits [6j, 6j+6), so it depends only on v when both its first and last bit
// fall within bytes [p, p+len(v)).
func base64Core(enc *base64.Encoding, v string, p int) string {
	in := append(bytes.Repeat([]byte{0}, p), v...)
	s := enc.EncodeToString(in)
	var b strings.Builder
	for j := 0; j < len(s); j++ {
		first, last := 6*j/8, (6*j+5)/8
		if first >= p && last < p+len(v) {
			b.WriteByte(s[j])
		}
	}
	return b.String()
}

// lowerHex returns the percent-encoded s with the hex digits of its escapes
// in lower case ("%2F" as "%2f").
func lowerHex(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '%' && i+2 < len(b) {
			copy(b[i+1:i+3], strings.ToLower(string(b[i+1:i+3])))
		}
	}
	return string(b)
}

// entityEscapes are the HTML and XML escapers whose output must not show a
// value: each writes & < > " ' its own way.
var entityEscapes = []struct {
	name string
	r    *strings.Replacer
}{
	{"Go html.EscapeString", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")},
	{"PHP htmlspecialchars", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;")},
	{"XML", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")},
	{"Python html.escape", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")},
	{"decimal entities", strings.NewReplacer("&", "&#38;", "<", "&#60;", ">", "&#62;", `"`, "&#34;", "'", "&#39;")},
	{"hex entities", strings.NewReplacer("&", "&#x26;", "<", "&#x3c;", ">", "&#x3e;", `"`, "&#x22;", "'", "&#x27;")},
	{"hex entities, upper case", strings.NewReplacer("&", "&#x26;", "<", "&#x3C;", ">", "&#x3E;", `"`, "&#x22;", "'", "&#x27;")},
}

// wrapEOLs are the line breaks of wrapped base64 as they are stored: as
// they came ("\n", "\r\n") and inside a JSON string ("\\n", "\\r\\n").
var wrapEOLs = []string{"\n", "\r\n", `\n`, `\r\n`}

// wrappedCores returns core, the base64 characters that depend only on a
// value at prefix length ≡ p mod 3, as it shows in base64 wrapped at 64
// columns (PEM) and 76 (MIME, GNU base64): for every column where the core
// can start, the core with a line break wherever the wrap falls inside it.
// Only forms with at least one break are returned; the core itself is
// another form.
func wrappedCores(core string, p int) []form {
	var fs []form
	for _, width := range []int{64, 76} {
		for col := 0; col < width; col++ {
			first := width - col // offset in core of the first break
			if first >= len(core) {
				continue
			}
			for _, eol := range wrapEOLs {
				var b strings.Builder
				for i := 0; i < len(core); i++ {
					if i >= first && (i-first)%width == 0 {
						b.WriteString(eol)
					}
					b.WriteByte(core[i])
				}
				fs = append(fs, form{fmt.Sprintf("base64 core (≡ %d mod 3) wrapped at %d columns from column %d, %q", p, width, col, eol), b.String()})
			}
		}
	}
	return fs
}

// fragments returns every substring of v of length w, where w is more than
// half of v and at least 8 bytes: the redactor may leave a short piece of a
// split value visible, never a piece that long.
func fragments(v string) []form {
	w := max(8, len(v)/2+1)
	if len(v) <= w {
		return nil
	}
	seen := map[string]bool{}
	var fs []form
	for i := 0; i+w <= len(v); i++ {
		s := v[i : i+w]
		if !seen[s] {
			seen[s] = true
			fs = append(fs, form{fmt.Sprintf("fragment [%d:%d]", i, i+w), s})
		}
	}
	return fs
}

// finder looks for many patterns in one pass: patterns are indexed by their
// first four bytes (every pattern is at least that long).
type finder struct {
	idx map[[4]byte][]pattern
}

type pattern struct {
	label string // "TOKEN: base64 std"
	text  string
}

func newFinder() *finder { return &finder{idx: map[[4]byte][]pattern{}} }

// addValue registers the forms of the value named name, and its long
// fragments when frags is set.
func (f *finder) addValue(name, v string, frags bool) {
	fs := valueForms(v)
	if frags {
		fs = append(fs, fragments(v)...)
	}
	for _, x := range fs {
		f.add(pattern{label: name + ": " + x.label, text: x.text})
	}
}

func (f *finder) add(p pattern) {
	if len(p.text) < minForm {
		return
	}
	k := [4]byte([]byte(p.text[:4]))
	for _, q := range f.idx[k] {
		if q.text == p.text {
			return
		}
	}
	f.idx[k] = append(f.idx[k], p)
}

// find returns a description of every pattern found in b (each pattern
// once), with a little context around the first match.
func (f *finder) find(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i+minForm <= len(b); i++ {
		ps, ok := f.idx[[4]byte(b[i:i+4])]
		if !ok {
			continue
		}
		for _, p := range ps {
			// One report per form, and one for all fragments of a value.
			key := p.label
			if name, _, ok := strings.Cut(p.label, ": fragment"); ok {
				key = name + ": fragment"
			}
			if seen[key] || !bytes.HasPrefix(b[i:], []byte(p.text)) {
				continue
			}
			seen[key] = true
			lo, hi := max(0, i-40), min(len(b), i+len(p.text)+40)
			out = append(out, fmt.Sprintf("%s at byte %d: %q", p.label, i, b[lo:hi]))
		}
	}
	return out
}

// TestChecker proves the checker is not vacuous: it finds every form of a
// value, including the Basic-auth and trailing-newline base64 encodings, in
// texts built the way remote systems build them.
func TestChecker(t *testing.T) {
	const v = "tok-4Fq9Zx2Lm7Pw8Rs"
	tests := []struct {
		name string
		text string
	}{
		{"raw", "x " + v + " y"},
		{"JSON-escaped", mustJSON("a\"" + v)},
		{"query escaped", url.QueryEscape("p=" + v)},
		{"Basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+v))},
		{"Basic auth, longer user", base64.StdEncoding.EncodeToString([]byte("admin-1:" + v))},
		{"value and colon", base64.StdEncoding.EncodeToString([]byte(v + ":"))},
		{"base64 with newline", base64.StdEncoding.EncodeToString([]byte(v + "\n"))},
		{"base64url in a longer text", base64.URLEncoding.EncodeToString([]byte("{\"k\":\"" + v + "\"}"))},
		{"hex", "0x" + hex.EncodeToString([]byte(v))},
		{"HEX", strings.ToUpper(hex.EncodeToString([]byte(v)))},
		{"fragment", "prefix " + v[:12] + "..."},
	}
	f := newFinder()
	f.addValue("V", v, true)
	for _, tc := range tests {
		if got := f.find([]byte(tc.text)); len(got) == 0 {
			t.Errorf("%s: the checker missed %q", tc.name, tc.text)
		}
	}
	for _, clean := range []string{"tok-***", "***", "tok-4Fq9Zx2"[:7] + "***", `{"echo":"***"}`} {
		if got := f.find([]byte(clean)); len(got) > 0 {
			t.Errorf("false positive on %q: %v", clean, got)
		}
	}
	// The transit forms of issue 7, for a value that needs escaping.
	const w = `k<3y>&"tok'en/9 Zq`
	f = newFinder()
	f.addValue("W", w, false)
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct{ name, text string }{
		{"wrapped at 76, LF", b64([]byte(strings.Repeat("x", 55) + w))[:76] + "\n" + b64([]byte(strings.Repeat("x", 55) + w))[76:]},
		{"wrapped at 64, CRLF", b64([]byte(strings.Repeat("x", 40) + w))[:64] + "\r\n" + b64([]byte(strings.Repeat("x", 40) + w))[64:]},
		{"wrapped at 64, JSON-escaped", mustJSON(b64([]byte(strings.Repeat("x", 44) + w))[:64] + "\n" + b64([]byte(strings.Repeat("x", 44) + w))[64:])},
		{"Go html.EscapeString", "x" + `k&lt;3y&gt;&amp;&#34;tok&#39;en/9 Zq` + "x"},
		{"hex entities", `k&#x3c;3y&#x3e;&#x26;&#x22;tok&#x27;en/9 Zq`},
		{"query, lower-case hex", "v=" + `k%3c3y%3e%26%22tok%27en%2f9+Zq`},
		{"path, lower-case hex", `k%3c3y%3e&%22tok%27en%2f9%20Zq`},
	} {
		if got := f.find([]byte(tc.text)); len(got) == 0 {
			t.Errorf("%s: the checker missed %q", tc.name, tc.text)
		}
	}
	// A multi-line value: each long line is a form of its own.
	f = newFinder()
	f.addValue("PEM", "-----BEGIN X-----\nAAAABBBBCCCCDDDD\nEE\n-----END X-----", true)
	if len(f.find([]byte("AAAABBBBCCCCDDDD"))) == 0 {
		t.Errorf("the checker missed a line of a multi-line value")
	}
	if len(f.find([]byte("EE"))) != 0 {
		t.Errorf("a line shorter than %d bytes should not be a form", minLine)
	}
}

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonOpts is how one JSON encoder writes a string literal.
type jsonOpts struct {
	name  string
	html  bool // < > & as \u003c \u003e \u0026 (Go's default)
	slash bool // "/" as "\/" (PHP's json_encode)
	// hex is how non-ASCII runes are written: "" as UTF-8, "x" as \uxxxx,
	// "X" as \uXXXX; it is also the case of every other \u escape.
	hex string
	// dotnet: + ' ` and the quote as \u00XX too (.NET System.Text.Json).
	dotnet bool
}

// jsonEncoders are the JSON encoders whose string literals the suite
// expects masked, written here rune by rune from their documented escaping
// rather than derived from encoding/json's output.
var jsonEncoders = func() []jsonOpts {
	var out []jsonOpts
	for _, html := range []bool{true, false} {
		for _, slash := range []bool{false, true} {
			for _, hex := range []string{"", "x", "X"} {
				name := fmt.Sprintf("JSON literal (html %v, slash %v, hex %q)", html, slash, hex)
				out = append(out, jsonOpts{name: name, html: html, slash: slash, hex: hex})
			}
		}
		for _, hex := range []string{"x", "X"} {
			out = append(out, jsonOpts{name: fmt.Sprintf(".NET JSON literal (html %v, hex %q)", html, hex), html: html, hex: hex, dotnet: true})
		}
	}
	return out
}()

// jsonEncoderForms returns v inside the string literal of each of
// jsonEncoders, without the quotes.
func jsonEncoderForms(v string) []form {
	var fs []form
	for _, o := range jsonEncoders {
		fs = append(fs, form{o.name, jsonLiteral(v, o)})
	}
	return fs
}

// jsonLiteral writes v as a JSON string literal's inside, as o says.
func jsonLiteral(v string, o jsonOpts) string {
	u := func(b *strings.Builder, r rune) {
		s := fmt.Sprintf("%04x", r)
		if o.hex == "X" {
			s = strings.ToUpper(s)
		}
		b.WriteString("\\u" + s)
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			u(&b, 0xfffd)
		case r == '"' && o.dotnet:
			u(&b, r)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/' && o.slash:
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20, r == 0x2028, r == 0x2029:
			u(&b, r)
		case o.html && (r == '<' || r == '>' || r == '&'):
			u(&b, r)
		case o.dotnet && (r == '+' || r == '\'' || r == '`'):
			u(&b, r)
		case r >= 0x80 && o.hex != "":
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				u(&b, r1)
				u(&b, r2)
			} else {
				u(&b, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// percentEncoderForms returns v percent-encoded by JavaScript's
// encodeURIComponent, the WHATWG form encoding (browsers, Java's
// URLEncoder) and Python's urllib.parse.quote, each with upper- and
// lower-case hex digits.
func percentEncoderForms(v string) []form {
	encoders := []struct {
		name, keep string
		plus       bool
	}{
		{"encodeURIComponent", "-_.!~*'()", false},
		{"form-urlencoded", "*-._", true},
		{"urllib.parse.quote", "-_.~/", false},
	}
	var fs []form
	for _, e := range encoders {
		var b strings.Builder
		for _, c := range []byte(v) {
			switch {
			case c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte(e.keep, c) >= 0):
				b.WriteByte(c)
			case c == ' ' && e.plus:
				b.WriteByte('+')
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		fs = append(fs, form{e.name, b.String()}, form{e.name + ", lower-case hex", lowerHex(b.String())})
	}
	return fs
}
