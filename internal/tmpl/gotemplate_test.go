package tmpl

import (
	"strings"
	"testing"
)

// TestGoTemplateHint checks the hint for the Go-template/sprig functions in
// Port's published examples (port-docs docs/workflows/examples.md,
// build-workflows/action-nodes/upsert-entity.md and kafka.md), and that
// valid jq and other errors get none.
func TestGoTemplateHint(t *testing.T) {
	tests := []struct{ src, hint string }{
		{`{{ now | date "2006-01-02T15:04:05Z" }}`, "now | todateiso8601"},
		{`{{ .outputs.trigger.name | lower | replace " " "-" }}`, "lower is Go-template/sprig syntax; templates are jq: write ascii_downcase"},
		{`{{ .outputs.trigger.name | lower }}`, "function not defined: lower/0 (lower is"},
		{`{{ .outputs.trigger.name | upper }}`, "ascii_upcase"},
		{`{{ now | add_duration (printf "%dh" (mul .outputs.trigger.ttlDays 24)) }}`, "now + SECONDS"},
		{`{{ .outputs.trigger.x | default "d" }}`, `.x // "value"`},
		{`{{ .outputs.trigger.x | nosuchfn }}`, ""},
		{`{{ .outputs.trigger.x + }}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile(tt.src)
			if err == nil {
				t.Fatal("compiled")
			}
			got := strings.Contains(err.Error(), "Go-template/sprig")
			if got != (tt.hint != "") || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("error %q, want hint %q", err, tt.hint)
			}
		})
	}
	for _, ok := range []string{`{{ now | todateiso8601 }}`, `{{ .outputs.trigger.name | ascii_downcase | gsub(" "; "-") }}`} {
		if _, err := Compile(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
