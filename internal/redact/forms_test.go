package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
)

// encodings returns, independently of forms, the ways a value is written in
// transit that must come out of String as exactly one Mask.
func encodings(t *testing.T, v string) map[string]string {
	t.Helper()
	jsonHTML, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	jsonPlain := strings.TrimSpace(buf.String())
	return map[string]string{
		"raw":          v,
		"json":         string(jsonHTML[1 : len(jsonHTML)-1]),
		"json-no-html": jsonPlain[1 : len(jsonPlain)-1],
		"query":        url.QueryEscape(v),
		"path":         url.PathEscape(v),
		"b64-std":      base64.StdEncoding.EncodeToString([]byte(v)),
		"b64-std-raw":  base64.RawStdEncoding.EncodeToString([]byte(v)),
		"b64-url":      base64.URLEncoding.EncodeToString([]byte(v)),
		"b64-url-raw":  base64.RawURLEncoding.EncodeToString([]byte(v)),
		"hex-lower":    hex.EncodeToString([]byte(v)),
		"hex-upper":    strings.ToUpper(hex.EncodeToString([]byte(v))),
	}
}

func TestFormsStandalone(t *testing.T) {
	values := []string{
		"abcd",                   // 4 bytes: ≡ 1 mod 3
		"abcde",                  // ≡ 2 mod 3
		"abcdef",                 // ≡ 0 mod 3
		"s3cr3t-t0ken_value",     // a typical token
		`p@ss/w+rd"<&>` + "\x01", // every escaping differs
		"tab\tand\\slash\u2028",
		"ÿ\xfe\xffbinary",
	}
	for _, v := range values {
		r := New()
		r.Add(v)
		for name, e := range encodings(t, v) {
			text := "before " + e + " after"
			want := "before " + Mask + " after"
			if got := r.String(text); got != want {
				t.Errorf("value %q, form %s (%q): got %q, want %q", v, name, e, got, want)
			}
		}
	}
}

// TestBase64InContext checks the aligned cores: a value inside any longer
// base64 text, as Basic auth and shells build it, has every character that
// depends only on the value masked.
func TestBase64InContext(t *testing.T) {
	values := []string{"abcd", "abcde", "abcdef", "correct-horse-battery", "x\x00\xffyz12"}
	contexts := []struct {
		name           string
		prefix, suffix string
	}{
		{"user:V", "user:", ""},
		{"u:V", "u:", ""},
		{"admin:V", "admin:", ""},
		{"V:", "", ":"},
		{"V newline", "", "\n"},
		{"json doc", `{"token":"`, `"}`},
		{"both", "ab", "cdefg"},
	}
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	for _, v := range values {
		r := New()
		r.Add(v)
		for _, c := range contexts {
			for ei, enc := range encs {
				e := enc.EncodeToString([]byte(c.prefix + v + c.suffix))
				got := r.String(e)
				// got = e[:a] + Mask + e[b:], one run.
				a := 0
				for a < len(e) && a < len(got) && e[a] == got[a] {
					a++
				}
				b := 0
				for b < len(e)-a && b < len(got)-a && e[len(e)-1-b] == got[len(got)-1-b] {
					b++
				}
				if got[a:len(got)-b] != Mask {
					t.Errorf("value %q in %s (encoding %d): %q not masked: %q", v, c.name, ei, e, got)
					continue
				}
				// Characters j with all 6 bits from v must lie in the run.
				lo, hi := len(c.prefix), len(c.prefix)+len(v)
				for j := 0; j < len(e); j++ {
					if 6*j >= 8*lo && 6*j+6 <= 8*hi && (j < a || j >= len(e)-b) {
						t.Errorf("value %q in %s (encoding %d): character %d of %q is visible in %q", v, c.name, ei, j, e, got)
						break
					}
				}
			}
		}
	}
}

func TestFormsMultiLine(t *testing.T) {
	key := "-----BEGIN PRIVATE KEY-----\r\n" +
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\r\n" +
		"MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\r\n" +
		"-----END PRIVATE KEY-----\r\n"
	r := New()
	r.Add(key)
	for _, line := range strings.Split(key, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if len(line) < minLineLen {
			continue
		}
		text := "log: " + line + " :end"
		if got, want := r.String(text), "log: "+Mask+" :end"; got != want {
			t.Errorf("line %q: got %q, want %q", line, got, want)
		}
	}
	// The whole value, JSON-escaped on one line, is one run.
	b, _ := json.Marshal(key)
	if got, want := r.String(string(b)), `"`+Mask+`"`; got != want {
		t.Errorf("JSON-escaped key: got %q, want %q", got, want)
	}
}

func TestFormsNeverShort(t *testing.T) {
	for _, v := range []string{"a", "ab", "abc", "abcd", "\x00\x01\x02", "é"} {
		for _, f := range forms(v) {
			if len(f) < MinLen {
				t.Errorf("forms(%q) has %q, shorter than %d bytes", v, f, MinLen)
			}
		}
	}
	if len(forms("")) != 0 {
		t.Error("forms of the empty value is not empty")
	}
}

func TestBase64CoresLength(t *testing.T) {
	// For values of MinLen bytes or more, no core is dropped as too short.
	for n := MinLen; n < 40; n++ {
		v := strings.Repeat("q", n)
		for _, c := range base64Cores(base64.StdEncoding, v) {
			if len(c) < MinLen {
				t.Errorf("core %q of a %d-byte value is shorter than %d", c, n, MinLen)
			}
		}
		if got := len(base64Cores(base64.StdEncoding, v)); got != 9 {
			t.Errorf("%d-byte value: %d cores, want 9", n, got)
		}
	}
}

// foreignJSON writes v inside a JSON string literal the way other encoders
// do by default, independently of forms: "/" as `\/` when slash is set
// (PHP), and every non-ASCII rune as \uXXXX, surrogate pairs above the BMP,
// when ascii is set (Python, PHP), in upper-case hex when upper is set. It
// handles the values of TestFormsForeignJSON only: no control characters.
func foreignJSON(v string, slash, ascii, upper bool) string {
	format := `\u%04x`
	if upper {
		format = `\u%04X`
	}
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r > 0xffff && ascii:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, format+format, r1, r2)
		case r >= 0x80 && ascii:
			fmt.Fprintf(&b, format, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestFormsForeignJSON checks the JSON escapes of other encoders: PHP's `\/`
// and \uXXXX, Python's \uXXXX, in lower and upper case, each masked as one
// run.
func TestFormsForeignJSON(t *testing.T) {
	values := []string{
		"abc/def+ghi/jkl==",   // base64 with "/"
		"pässwörd-1234",       // Latin-1 range
		"ключ/секрет",         // Cyrillic and "/"
		"emoji-😀-token/x",     // above the BMP: a surrogate pair
		`quote"and\back/ä`,    // escapes encoding/json writes itself
		"https://h.example/p", // a URL as a secret
	}
	variants := []struct {
		name                string
		slash, ascii, upper bool
	}{
		{"PHP slash only", true, false, false},
		{"Python lower", false, true, false},
		{"upper hex", false, true, true},
		{"PHP default", true, true, false},
		{"PHP default, upper hex", true, true, true},
	}
	for _, v := range values {
		r := New()
		r.Add(v)
		for _, vr := range variants {
			e := foreignJSON(v, vr.slash, vr.ascii, vr.upper)
			text := `{"echo":"` + e + `"}`
			if got, want := r.String(text), `{"echo":"`+Mask+`"}`; got != want {
				t.Errorf("value %q, %s (%s): got %s, want %s", v, vr.name, e, got, want)
			}
		}
	}
}

func TestJSONVariantsDedupe(t *testing.T) {
	tests := []struct {
		inner string
		want  []string
	}{
		{"plain-token_123", nil},
		{"a/b-c", []string{`a\/b-c`}},
		{"ä-x", []string{`\u00e4-x`, `\u00E4-x`}},
		{`\u003c-x`, []string{`\u003C-x`}}, // encoding/json's own escape, recased
		{"ä/x", []string{`\u00e4/x`, `\u00E4/x`, `ä\/x`, `\u00e4\/x`, `\u00E4\/x`}},
		{"😀", []string{`\ud83d\ude00`, `\uD83D\uDE00`}},
	}
	for _, tt := range tests {
		got := jsonVariants(tt.inner)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("jsonVariants(%q) = %q, want %q", tt.inner, got, tt.want)
		}
	}
}

// TestFormsDotNetJSON: System.Text.Json's default encoder writes + ' ` and
// the quote as \u00XX (upper-case hex), besides non-ASCII runes.
func TestFormsDotNetJSON(t *testing.T) {
	const secret = `abc+def/gh'i"0123`
	r := New()
	r.Add(secret)
	for _, text := range []string{
		`{"k":"abc\u002Bdef/gh\u0027i\u00220123"}`,
		`{"k":"abc\u002bdef/gh\u0027i\u00220123"}`,
	} {
		if got := r.String(text); got != `{"k":"***"}` {
			t.Errorf("%s -> %s", text, got)
		}
	}
}
