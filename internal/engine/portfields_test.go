package engine_test

import (
	"testing"

	"github.com/sluice-run/sluice/internal/secret"
)

// TestWebhookPortFieldsRun checks that a WEBHOOK with Port's agent and
// config-level verbose (docs.port.io workflows/build-workflows/action-nodes/webhook)
// runs: both validated, and the node failed with "config.agent: unknown
// field" before.
func TestWebhookPortFieldsRun(t *testing.T) {
	rcv := newReceiver(t)
	tests := []struct{ name, members string }{
		{"agent false", `"agent": false`},
		{"agent true", `"agent": true`},
		{"verbose in the config", `"verbose": true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, secret.MapSource{"URL": rcv.URL}, nil)
			v := h.run(`{"identifier": "pf", "nodes": [`+trigger+`,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/ok", `+tt.members+`}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`, nil)
			if got := result(v); got != "COMPLETED SUCCESS" {
				t.Fatalf("run ended %s: %v", got, output(t, v, "call"))
			}
		})
	}
}
