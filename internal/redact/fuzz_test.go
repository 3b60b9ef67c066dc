package redact

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRedact registers secret (when at least MinLen bytes) and redacts text.
// Properties: no registered pattern occurs in the output; text without any
// pattern, also once unwrapped (see naiveUnwrap), comes out unchanged;
// without the mask character in any pattern the output equals the
// brute-force oracle, and, for text without wrapped base64, which a Writer
// does not unwrap, a Writer fed the text in two writes produces the same, and
// so does Lines with the text as its one line.
func FuzzRedact(f *testing.F) {
	f.Add("hunter22", "pw=hunter22")
	f.Add("abab", "abababab")
	f.Add("x***", "xxxxSECRET")
	f.Add("s3cr3t-value", "Basic dXNlcjpzM2NyM3QtdmFsdWU=")
	f.Add("line one\nline two", "line one\r\nline two")
	f.Add("****", "*******")
	f.Fuzz(func(t *testing.T, secret, text string) {
		r := New()
		if len(secret) >= MinLen {
			r.Add(secret)
		}
		patterns := patternsOf(r)
		got := r.String(text)
		assertNoPattern(t, patterns, got)
		if !containsAny(patterns, text) && naiveRedact(patterns, text) == text && got != text {
			t.Fatalf("text without a pattern changed: %q → %q", text, got)
		}
		if r.matcher().hasStar {
			return
		}
		if want := naiveRedact(patterns, text); got != want {
			t.Fatalf("String(%q) = %q, oracle %q", text, got, want)
		}
		if line := r.Lines([]string{text})[0].String(); line != got {
			t.Fatalf("Lines([%q]) = %q, String %q", text, line, got)
		}
		half := len(text) / 2
		if hasWrapBreak(text) {
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
