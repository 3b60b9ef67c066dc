package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// An input value that is not valid UTF-8 is refused, naming the input:
// stored or sent, its bytes would have become U+FFFD without a word. So are
// duplicate inputs in --inputs-file (the last would win).
func TestRunRefusesInputsThatWouldChange(t *testing.T) {
	t.Parallel()
	good := filepath.Join(examples, "condition-branches.json")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"--input value", []string{"--input", "environment=stag\xff\xfe"}, "inputs.environment: is not valid UTF-8"},
		{"--input JSON value", []string{"--input", "environment=\"stag\xff\""}, "inputs.environment: is not valid UTF-8"},
		{"--input name", []string{"--input", "environment=staging", "--input", "x\xff=1"}, "an input name is not valid UTF-8"},
		{"--inputs-file value", []string{"--inputs-file", writeFile(t, "in.json", "{\"environment\": \"stag\xffing\"}")}, "inputs.environment: is not valid UTF-8"},
		{"--inputs-file surrogate escape", []string{"--inputs-file", writeFile(t, "in.json", `{"environment": "\ud800"}`)}, "inputs.environment: holds a \\u escape"},
		{"--inputs-file duplicate", []string{"--inputs-file", writeFile(t, "in.json", `{"environment": "staging", "environment": "production"}`)}, "inputs.environment: duplicate key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-f", good, "--data-dir", dataDir(t)}, tc.args...)
			r := sluice(t, "", args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			if !utf8.ValidString(r.stderr) {
				t.Errorf("stderr quotes the bytes: %q", r.stderr)
			}
		})
	}
}
