package workflow

import (
	"strings"
	"testing"
)

// TestAIPromptSecrets: an AI node's prompts are outbound fields (decision
// 013, revised): .secrets is accepted there with a warning naming the known
// limit, and still refused in the node's other members.
func TestAIPromptSecrets(t *testing.T) {
	tests := []struct {
		name, config string
		// warn is the path of the expected warning; err the path of the
		// expected error ("" for none).
		warn, err string
	}{
		{"user prompt", `{"type":"AI","userPrompt":"token {{ .secrets.TOKEN }}"}`, "nodes[1].config.userPrompt", ""},
		{"system prompt", `{"type":"AI","userPrompt":"hi","systemPrompt":"{{ .secrets.TOKEN | @base64 }}"}`, "nodes[1].config.systemPrompt", ""},
		{"prompt without secrets", `{"type":"AI","userPrompt":"hi {{ .outputs.trigger.x }}"}`, "", ""},
		{"model", `{"type":"AI","userPrompt":"hi","provider":"p","model":"{{ .secrets.TOKEN }}"}`, "", "nodes[1].config.model"},
		{"output schema", `{"type":"AI","userPrompt":"hi","outputSchema":{"type":"object","description":"{{ .secrets.TOKEN }}"}}`, "", "nodes[1].config.outputSchema.description"},
		{"whole secrets in a prompt", `{"type":"AI","userPrompt":"{{ .secrets | keys }}"}`, "", "nodes[1].config.userPrompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, probs := Parse([]byte(withA(tt.config)))
			if tt.err != "" {
				if wf != nil || !find(probs.Errors, tt.err, "") {
					t.Fatalf("want an error at %s; errors %v, warnings %v", tt.err, probs.Errors, probs.Warnings)
				}
				return
			}
			if err := probs.Err(); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, w := range probs.Warnings {
				if strings.Contains(w.Message, "reads .secrets") {
					got = append(got, w.Path)
					if !strings.Contains(w.Message, "beyond what masking recognises") {
						t.Errorf("warning %q does not say the known limit", w.Message)
					}
				}
			}
			switch {
			case tt.warn == "" && len(got) > 0:
				t.Errorf("warnings about secrets at %v, want none", got)
			case tt.warn != "" && (len(got) != 1 || got[0] != tt.warn):
				t.Errorf("warnings about secrets at %v, want one at %s", got, tt.warn)
			}
		})
	}
}
