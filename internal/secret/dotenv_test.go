package secret

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseDotEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty file", "", map[string]string{}},
		{"comments and blank lines", "# header\n\n   \n  # indented comment\nA=abcd\n", map[string]string{"A": "abcd"}},
		{"export prefix and spaces around =", "export TOKEN = ghp_1234 \n", map[string]string{"TOKEN": "ghp_1234"}},
		{"crlf line endings", "A=abcd\r\nB=efgh\r\n", map[string]string{"A": "abcd", "B": "efgh"}},
		{"byte order mark", "\ufeffA=abcd\n", map[string]string{"A": "abcd"}},
		{"unquoted keeps = and #", "URL=https://x.test/?a=b#frag\n", map[string]string{"URL": "https://x.test/?a=b#frag"}},
		{"unquoted inline comment", "A=abcd # the comment\nB=efgh\t# tab comment\n", map[string]string{"A": "abcd", "B": "efgh"}},
		{"single quotes are literal", `P='a #b $c \n d' # comment` + "\n", map[string]string{"P": `a #b $c \n d`}},
		{"double quotes with escapes", `PEM="line1\nline2\t\"q\" \\ \x"` + "\n", map[string]string{"PEM": "line1\nline2\t\"q\" \\ \\x"}},
		{"double quotes keep spaces", `S="  padded  "`, map[string]string{"S": "  padded  "}},
		{"last line without newline", "A=abcd\nB=efgh", map[string]string{"A": "abcd", "B": "efgh"}},
		{"names with _ and -", "my-secret_2=abcd\n", map[string]string{"my-secret_2": "abcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDotEnv(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestParseDotEnvErrors: each error names the line, and none quotes the
// value (every value here contains "hunter").
func TestParseDotEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"no =", "A=hunter22\nhunter2-pasted-alone\n", 2, "expected NAME=value"},
		{"bad name", "\n\nMY TOKEN=hunter22\n", 3, "invalid name: character 3 is not allowed"},
		{"empty name", "=hunter22\n", 1, "invalid name: must not be empty"},
		{"long name", strings.Repeat("N", 101) + "=hunter22\n", 1, "invalid name: must be at most 100 characters"},
		{"unterminated double", "# c\nA=\"hunter22\n", 2, "A: unterminated double-quoted value"},
		{"unterminated single", "A='hunter22\n", 1, "A: unterminated single-quoted value"},
		{"text after quote", "A=\"hunter22\" trailing\n", 1, "A: unexpected text after the closing quote"},
		{"value too short", "A=hunter22\nSHORT=hun\n", 2, "SHORT: value must be at least 4 bytes"},
		{"empty value", "EMPTY=\n", 1, "EMPTY: value must be at least 4 bytes"},
		{"value too long", "BIG=" + strings.Repeat("hunter", 11000) + "\n", 1, "BIG: value must be at most 64 KiB"},
		{"invalid utf-8", "A=hunter\xff22\n", 1, "A: value must be valid UTF-8 text"},
		{"duplicate", "A=hunter22\n# x\nA=hunter33\n", 3, "A is already defined on line 1"},
		{"line too long", "A=" + strings.Repeat("hunter", 30000) + "\n", 1, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDotEnv(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("parsed %d entries; want an error", len(got))
			}
			var de *DotEnvError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DotEnvError", err, err)
			}
			if de.Line != tt.wantLine || !strings.Contains(de.Message, tt.wantMsg) {
				t.Fatalf("error %q; want line %d and %q", err, tt.wantLine, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not start with the line", err)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Fatalf("error quotes the value: %q", err)
			}
		})
	}
}
