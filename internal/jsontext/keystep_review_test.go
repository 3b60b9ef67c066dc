package jsontext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestKeyStepHostileKeys: a path built from a key the caller chose cannot
// forge a log line or a terminal's output: line breaks, control and format
// characters (a bidi override) and invalid UTF-8 come out escaped inside
// the quoted step, and the step is one printable line. (HTML is the
// renderer's to escape: the UI's templates do.)
func TestKeyStepHostileKeys(t *testing.T) {
	tests := []struct{ key, want string }{
		{"a\nlevel=ERROR msg=forged", `["a\nlevel=ERROR msg=forged"]`},
		{"a\r\x1b[2Jb", `["a\r\x1b[2Jb"]`},
		{"x\u202egnp.exe", `["x\u202egnp.exe"]`},
		{"\xff\xfe", `["\xff\xfe"]`},
		{"line\u2028sep", `["line\u2028sep"]`},
		{`<script>alert(1)</script>`, `["<script>alert(1)</script>"]`},
		{`"]["`, `["\"][\""]`},
		{"ok_key1", ".ok_key1"},
	}
	for _, tt := range tests {
		got := KeyStep(tt.key, false)
		if got != tt.want {
			t.Errorf("KeyStep(%q) = %s, want %s", tt.key, got, tt.want)
		}
		if !utf8.ValidString(got) || strings.IndexFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Errorf("KeyStep(%q) = %q holds a character that is not printable", tt.key, got)
		}
	}
}
