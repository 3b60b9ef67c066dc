package engine_test

import (
	"testing"

	"github.com/sluice-run/sluice/internal/secret"
)

// TestVariablesReadTheRawOutputBothWays checks that variables and links
// read a node's raw output both as port-skills writes it (.result.response)
// and as docs.port.io writes it (.response, the raw output as the root:
// port-docs docs/workflows/data-flow.md, "evaluated against the node's raw
// execution output"), and that the context's own roots win over a member
// of the raw output with the same name.
func TestVariablesReadTheRawOutputBothWays(t *testing.T) {
	rcv := newReceiver(t)
	tests := []struct {
		name, vars, links string
		want              map[string]any
		link              string
	}{
		{
			name:  "docs.port.io form",
			vars:  `{"request_id": "{{ .response.data.request_id }}", "response": "{{ null }}"}`,
			links: `["https://ci.example.com/{{ .response.data.request_id }}"]`,
			want:  map[string]any{"request_id": "req-42", "response": nil},
			link:  "https://ci.example.com/req-42",
		},
		{
			name:  "port-skills form",
			vars:  `{"request_id": "{{ .result.response.data.request_id }}", "status": "{{ .result.response.status }}"}`,
			links: `["https://ci.example.com/{{ .result.response.data.request_id }}"]`,
			want:  map[string]any{"request_id": "req-42", "status": float64(200)},
			link:  "https://ci.example.com/req-42",
		},
		{
			name: "both at once, and the trigger's output is still .outputs.trigger",
			vars: `{"a": "{{ .response.status }}", "b": "{{ .result.response.status }}", "env": "{{ .outputs.trigger.env }}"}`,
			want: map[string]any{"a": float64(200), "b": float64(200), "env": "dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, secret.MapSource{"URL": rcv.URL}, nil)
			links := ""
			if tt.links != "" {
				links = `, "links": ` + tt.links
			}
			def := `{"identifier": "vars", "nodes": [` + trigger + `,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/ok"},
				 "variables": ` + tt.vars + links + `}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`
			v := h.run(def, map[string]any{"env": "dev"})
			if got := result(v); got != "COMPLETED SUCCESS" {
				t.Fatalf("run ended %s", got)
			}
			out := output(t, v, "call")
			if len(out) != len(tt.want) {
				t.Errorf("output = %v, want %v", out, tt.want)
			}
			for k, w := range tt.want {
				if got, ok := out[k]; !ok || got != w {
					t.Errorf("output.%s = %v, want %v (output %v)", k, got, w, out)
				}
			}
			if tt.link != "" {
				if got := v.NodeRuns[1].Links; len(got) != 1 || got[0] != tt.link {
					t.Errorf("links = %v, want [%s]", got, tt.link)
				}
			}
		})
	}
}

// TestTriggerVariablesReadTheInputsAsRoots checks a trigger's variables in
// the docs.port.io form: the raw output (the inputs) is the root.
func TestTriggerVariablesReadTheInputsAsRoots(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"URL": rcv.URL}, nil)
	def := `{"identifier": "tv", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}}}},
		 "variables": {"upper": "{{ .env | ascii_upcase }}", "same": "{{ .result.env }}"}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/ok", "body": {"e": "{{ .outputs.trigger.upper }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`
	v := h.run(def, map[string]any{"env": "dev"})
	if got := result(v); got != "COMPLETED SUCCESS" {
		t.Fatalf("run ended %s", got)
	}
	if out := output(t, v, "trigger"); out["upper"] != "DEV" || out["same"] != "dev" {
		t.Errorf("trigger output = %v", out)
	}
	reqs := rcv.requests()
	if last := reqs[len(reqs)-1]; last.Body["e"] != "DEV" {
		t.Errorf("body = %s", last.RawBody)
	}
}
