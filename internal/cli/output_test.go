package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestOutput checks the one formatter of the client commands: aligned
// tables whose cells cannot break the table or drive the terminal, JSON
// kept as sent (no HTML escaping), and a bad --output named.
func TestOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		rows   [][]string
		want   string
	}{
		{"table", "", [][]string{{"deploy", "3", "Deploy a service"}, {"ok", "12", ""}},
			"ID      VERSION  TITLE\ndeploy  3        Deploy a service\nok      12       -\n"},
		{"table alias", "table", [][]string{{"a", "1", "x"}}, "ID  VERSION  TITLE\na   1        x\n"},
		{"control characters", "text", [][]string{{"evil\x1b[31m", "1", "two\nlines\tand tab"}},
			"ID         VERSION  TITLE\nevil [31m  1        two lines and tab\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			o, err := newOutput(&b, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if o.JSON() {
				t.Fatal("JSON() for a table format")
			}
			if err := o.table([]string{"ID", "VERSION", "TITLE"}, tc.rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("table =\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}

	var b bytes.Buffer
	o, err := newOutput(&b, "json")
	if err != nil || !o.JSON() {
		t.Fatalf("newOutput(json) = %v, %v", o, err)
	}
	v := map[string]any{"url": "https://x.test/?a=1&b=<2>", "n": json.Number("12345678901234567890")}
	if err := o.json(v); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"n\": 12345678901234567890,\n  \"url\": \"https://x.test/?a=1&b=<2>\"\n}\n"; b.String() != want {
		t.Errorf("json =\n%s\nwant\n%s", b.String(), want)
	}

	_, err = newOutput(&b, "yaml")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitInvalid || !strings.Contains(err.Error(), `--output: must be text or json, got "yaml"`) {
		t.Errorf("newOutput(yaml) = %v, want an invalid-argument error naming --output", err)
	}
}
