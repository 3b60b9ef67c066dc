package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodingJSON is what encoding/json writes for s, with or without HTML
// escaping.
func encodingJSON(t testing.TB, s string, escapeHTML bool) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestAppendStringMatchesEncodingJSON: AppendString writes what
// encoding/json writes, with HTML escaping on and off.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"b\s`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<&>", "a<b>c&d", "é世界", "\xff\xfe", "a\u2028b\u2029c", "\xe2\x80", "�",
	} {
		for _, html := range []bool{true, false} {
			if got, want := string(AppendString(nil, s, html)), encodingJSON(t, s, html); got != want {
				t.Errorf("AppendString(%q, escapeHTML %v) = %s, want %s", s, html, got, want)
			}
		}
	}
}

// FuzzAppendString: for any text, AppendString writes the bytes
// encoding/json writes, in both modes, after what dst already held.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>\u2028", "\xff\x00\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{true, false} {
			if got, want := string(AppendString([]byte("x"), s, html)), "x"+encodingJSON(t, s, html); got != want {
				t.Fatalf("AppendString(%q, escapeHTML %v) = %s, want %s", s, html, got, want)
			}
		}
	})
}
