package redact

import (
	"html"
	"strings"
	"testing"
)

// entityEscapers writes a value as common HTML and XML escapers do,
// independently of entityForms.
var entityEscapers = []struct {
	name   string
	escape func(string) string
}{
	{"Go html.EscapeString", html.EscapeString},
	{"PHP htmlspecialchars", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;").Replace},
	{"XML", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace},
	{"Python html.escape", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace},
	{"escapeHtml4", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace},
	{"XML text", strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace},
	{"decimal", strings.NewReplacer("&", "&#38;", "<", "&#60;", ">", "&#62;", `"`, "&#34;", "'", "&#39;").Replace},
	{"hex lower", strings.NewReplacer("&", "&#x26;", "<", "&#x3c;", ">", "&#x3e;", `"`, "&#x22;", "'", "&#x27;").Replace},
	{"hex upper", strings.NewReplacer("&", "&#x26;", "<", "&#x3C;", ">", "&#x3E;", `"`, "&#x22;", "'", "&#x27;").Replace},
}

func TestFormsHTMLEntities(t *testing.T) {
	values := []string{
		`p@ss"word-1234`,        // one special character
		`a<b>c&d-token`,         // three
		`it's-a-"secret"`,       // quotes only
		`p@ss/w+rd"<&>'x&y<z>"`, // too many to mix: the escapers' own forms
	}
	for _, v := range values {
		r := New()
		r.Add(v)
		for _, e := range entityEscapers {
			text := `<td title="` + e.escape(v) + `">x</td>`
			if got, want := r.String(text), `<td title="`+Mask+`">x</td>`; got != want {
				t.Errorf("value %q, %s (%s): got %s, want %s", v, e.name, e.escape(v), got, want)
			}
		}
	}
	// A mix within one text: &#34; next to &quot;, decimal next to hex.
	r := New()
	r.Add(`a"b<c'd-token`)
	for _, text := range []string{`a&#34;b&lt;c&#x27;d-token`, `a&#x22;b&#60;c&apos;d-token`, `a"b&#x3C;c&#039;d-token`} {
		if got := r.String(text); got != Mask {
			t.Errorf("%s -> %s", text, got)
		}
	}
}

// TestEntityFormsPlain: a value without any of & < > " ' gets no entity
// form, so it adds no pattern.
func TestEntityFormsPlain(t *testing.T) {
	for _, v := range []string{"s3cr3t-t0ken_value", "abc/def+ghi==", "pässwörd"} {
		if f := entityForms(v); f != nil {
			t.Errorf("entityForms(%q) = %q, want none", v, f)
		}
	}
	if got := len(entityForms(`p@ss/w+rd"<&>'x&y<z>"`)); got > len(entityProfiles) {
		t.Errorf("%d entity forms for a value with many special characters, want at most %d", got, len(entityProfiles))
	}
}

func TestFormsPercentLowerCase(t *testing.T) {
	const v = "p@ss/w rd+x?y=z&ä"
	tests := []struct{ name, enc string }{
		{"query lower", "p%40ss%2fw+rd%2bx%3fy%3dz%26%c3%a4"},
		{"path", "p@ss%2Fw%20rd+x%3Fy=z&%C3%A4"},
		{"path lower", "p@ss%2fw%20rd+x%3fy=z&%c3%a4"},
		{"encodeURIComponent", "p%40ss%2Fw%20rd%2Bx%3Fy%3Dz%26%C3%A4"},
		{"encodeURIComponent lower", "p%40ss%2fw%20rd%2bx%3fy%3dz%26%c3%a4"},
		{"form with + for space", "p%40ss%2Fw+rd%2Bx%3Fy%3Dz%26%C3%A4"},
		{"form lower", "p%40ss%2fw+rd%2bx%3fy%3dz%26%c3%a4"},
		{"python quote", "p%40ss/w%20rd%2Bx%3Fy%3Dz%26%C3%A4"},
	}
	r := New()
	r.Add(v)
	for _, tt := range tests {
		text := "GET /cb?v=" + tt.enc + " HTTP/1.1"
		if got, want := r.String(text), "GET /cb?v="+Mask+" HTTP/1.1"; got != want {
			t.Errorf("%s (%s): got %q, want %q", tt.name, tt.enc, got, want)
		}
	}
}
