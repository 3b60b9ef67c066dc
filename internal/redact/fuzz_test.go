package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedact registers secret (when at least MinLen bytes) and redacts text.
// Properties:
//
//   - independentForms, computed here from the encoders' own packages and
//     not from the redactor's pattern list, never occur in the output;
//   - no registered pattern occurs in the output;
//   - text without any pattern, also once unwrapped (see naiveUnwrap),
//     comes out unchanged;
//   - the output equals the brute-force oracle, repeated to a fixpoint as
//     the redactor does when some pattern contains the mask character;
//   - Lines with the text as its one line produces the same, and so does a
//     Writer fed the text in two writes when the text has no wrapped base64
//     (which a Writer does not unwrap) and no pattern holds the mask
//     character (a Writer masks in one pass).
func FuzzRedact(f *testing.F) {
	f.Add("hunter22", "pw=hunter22")
	f.Add("abab", "abababab")
	f.Add("x***", "xxxxSECRET")
	f.Add("s3cr3t-value", "Basic dXNlcjpzM2NyM3QtdmFsdWU=")
	f.Add("line one\nline two", "line one\r\nline two")
	f.Add("****", "*******")
	f.Add("a*b*c*d", "a*b*c*d*a*b*c*d")
	f.Add("k/é+'\"x", `k\/\u00e9\u002B\u0027\u0022x`)
	f.Fuzz(func(t *testing.T, secret, text string) {
		r := New()
		if len(secret) >= MinLen {
			r.Add(secret)
		}
		patterns := patternsOf(r)
		got := r.String(text)
		if len(secret) >= MinLen {
			for _, form := range independentForms(secret) {
				if len(form) >= MinLen && strings.Contains(got, form) {
					t.Fatalf("String(%q) = %q shows %q, a form of the secret %q", text, got, form, secret)
				}
			}
		}
		assertNoPattern(t, patterns, got)
		if !containsAny(patterns, text) && naiveRedact(patterns, text) == text && got != text {
			t.Fatalf("text without a pattern changed: %q → %q", text, got)
		}
		hasStar := r.matcher().hasStar
		if want := naiveFixpoint(patterns, text, hasStar); got != want {
			t.Fatalf("String(%q) = %q, oracle %q", text, got, want)
		}
		if line := r.Lines([]string{text})[0].String(); line != got {
			t.Fatalf("Lines([%q]) = %q, String %q", text, line, got)
		}
		half := len(text) / 2
		if hasWrapBreak(text) || hasStar {
			return
		}
		var out bytes.Buffer
		w := r.NewWriter(&out)
		_, _ = w.Write([]byte(text[:half]))
		_, _ = w.Write([]byte(text[half:]))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != got {
			t.Fatalf("Writer wrote %q, String %q", out.String(), got)
		}
	})
}

// naiveFixpoint is naiveRedact as the redactor applies it: once, or, when
// some pattern holds the mask character, again until nothing changes, and
// the whole text becomes Mask after maxRounds more rounds.
func naiveFixpoint(patterns []string, text string, hasStar bool) string {
	out := naiveRedact(patterns, text)
	if !hasStar || out == text {
		return out
	}
	for range maxRounds {
		next := naiveRedact(patterns, out)
		if next == out {
			return out
		}
		out = next
	}
	return Mask
}

// independentForms computes, without the redactor's code, forms of v that
// other programs write: raw; inside a JSON string (encoding/json, with and
// without HTML escaping, and with "/" as "\/"); percent-encoded
// (url.QueryEscape, url.PathEscape); base64 (four alphabets and paddings);
// hex in both cases.
func independentForms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	b, _ := json.Marshal(v)
	inner := string(b[1 : len(b)-1])
	out = append(out, inner, strings.ReplaceAll(inner, "/", `\/`))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	raw := strings.TrimSpace(buf.String())
	out = append(out, raw[1:len(raw)-1])
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, e.EncodeToString([]byte(v)))
	}
	return out
}

// FuzzJSONBytes: for any valid document, the result is valid JSON and holds
// no registered pattern.
func FuzzJSONBytes(f *testing.F) {
	f.Add("12345678", `{"a":12345678,"b":["12345678"]}`)
	f.Add(`ab","cd`, `{"a":"ab","cd":1}`)
	f.Add(`"***`, `{"a":"ab","cd":1}`)
	f.Add("true", `[true,false,null]`)
	f.Fuzz(func(t *testing.T, secret, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		r := New()
		if len(secret) >= MinLen {
			r.Add(secret)
		}
		got, err := r.JSONBytes([]byte(doc))
		if err != nil {
			t.Fatalf("JSONBytes(%q): %v", doc, err)
		}
		if !json.Valid(got.Bytes()) {
			t.Fatalf("JSONBytes(%q) = %q is not valid JSON", doc, got.Bytes())
		}
		assertNoPattern(t, patternsOf(r), string(got.Bytes()))
	})
}
