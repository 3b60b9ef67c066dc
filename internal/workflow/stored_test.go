package workflow

import "testing"

// TestParseStoredKeepsOlderDefinitions: a definition an earlier sluice
// accepted and stored, which a check added since refuses (a template that
// reads a root its context lacks), still parses as a stored definition,
// with the finding as a warning at the same path: an upgrade must not stop
// the runs of a stored workflow, or its waiting runs. Saving it again
// (Parse) refuses it.
func TestParseStoredKeepsOlderDefinitions(t *testing.T) {
	tests := []struct{ name, def, path, msg string }{
		{"inputs in a body", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .inputs.name }}"}}`),
			"nodes[1].config.body.n", ".outputs.trigger.NAME"},
		{"condition reads the node run", withA(`{"type":"CONDITION","outlets":[{"identifier":"y","expression":".workflowNodeRun.identifier == \"x\""}]}`),
			"nodes[1].config.outlets[0].expression", "read from .outputs, .workflow or .workflowRun"},
		{"event condition reads the entity", eventTrig(`".entity.properties.tier == \"critical\""`),
			"nodes[0].config.condition.expressions[0]", "the entity is .diff.after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if wf, probs := Parse([]byte(tt.def)); wf != nil || !find(probs.Errors, tt.path, tt.msg) {
				t.Fatalf("Parse: want the error %q at %s; got %v", tt.msg, tt.path, probs.Errors)
			}
			wf, probs := ParseStored([]byte(tt.def))
			if wf == nil || probs.Err() != nil {
				t.Fatalf("ParseStored refused a stored definition: %v", probs.Err())
			}
			if !find(probs.Warnings, tt.path, tt.msg) {
				t.Errorf("no warning %q at %s; warnings: %v", tt.msg, tt.path, probs.Warnings)
			}
		})
	}
	// Everything else stays an error for a stored definition too: it is
	// the same parser.
	if wf, _ := ParseStored([]byte(withA(`{"type":"WEBHOOK"}`))); wf != nil {
		t.Error("ParseStored accepted a WEBHOOK without a url")
	}
}
