package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// portForm is a self-serve trigger with Port's computed form fields: jq
// defaults reading the form and the caller, a hidden input, a disabled
// input, required written as jq, and a validation rule; then a node Port's
// AI that sluice cannot execute yet.
const portForm = `{"identifier": "form", "nodes": [
  {"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {
    "properties": {
      "env": {"type": "string", "enum": ["dev", "prod"]},
      "replicas": {"type": "number", "default": {"jqQuery": "if .form.env == \"prod\" then 3 else 1 end"}},
      "by": {"type": "string", "default": {"jqQuery": ".trigger.by.user.email"}},
      "who": {"type": "string", "default": {"jqQuery": ".user.email"}},
      "canary": {"type": "number", "default": 5, "visible": {"jqQuery": ".form.env == \"prod\""}},
      "legacy": {"type": "string", "disabled": true},
      "reason": {"type": "string"}
    },
    "required": {"jqQuery": "if .form.env == \"prod\" then [\"env\", \"reason\"] else [\"env\"] end"},
    "validations": [{"constraint": ".form.replicas <= 5", "message": "at most 5 replicas"}]
  }}, "variables": {"env": "{{ .result.env }}", "n": "{{ .result.replicas }}", "by": "{{ .result.by }}", "who": "{{ .result.who }}", "canary": "{{ .result.canary }}", "legacy": "{{ .result.legacy }}"}},
  {"identifier": "ai", "config": {"type": "AI", "userPrompt": "hi {{ .outputs.trigger.env }}"}}],
  "connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ai"}]}`

// TestPortFormAtRunStart checks that Port's computed form fields decide the
// trigger's output before a run is created, and that a run reaching an AI
// node fails that node saying it has no executor yet.
func TestPortFormAtRunStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil, nil)
	wf, problems := workflow.Parse([]byte(portForm))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatal(err)
	}
	actor := engine.Actor{ID: "usr_0123456789abcdef", Email: "ada@example.com"}
	start := func(inputs map[string]any) (store.Run, error) {
		return h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: inputs, Actor: actor})
	}
	tests := []struct {
		name   string
		inputs map[string]any
		want   map[string]any // trigger output (its variables)
		probs  []string       // "path: message" fragments
	}{
		{"dev: defaults, canary hidden, legacy dropped", map[string]any{"env": "dev", "legacy": "x"},
			map[string]any{"env": "dev", "n": 1.0, "by": "ada@example.com", "who": "ada@example.com", "canary": 5.0, "legacy": nil}, nil},
		{"prod: canary visible takes its default", map[string]any{"env": "prod", "reason": "r"},
			map[string]any{"env": "prod", "n": 3.0, "canary": 5.0}, nil},
		{"prod needs a reason", map[string]any{"env": "prod"}, nil, []string{"inputs.reason: required input is missing"}},
		{"validation", map[string]any{"env": "dev", "replicas": 9}, nil, []string{"userInputs.validations[0]: at most 5 replicas"}},
		{"given value still checked", map[string]any{"env": "qa"}, nil, []string{"inputs.env: must be one of dev, prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, err := start(tt.inputs)
			if tt.probs != nil {
				var ie *engine.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Start = %v; want an InputError", err)
				}
				got := ""
				for _, p := range ie.Problems {
					got += p.String() + "\n"
				}
				for _, want := range tt.probs {
					if !strings.Contains(got, want) {
						t.Errorf("problems:\n%s want %q", got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.eng.Execute(ctx, run.Identifier); err != nil {
				t.Fatal(err)
			}
			v := h.view(run.Identifier)
			got := output(t, v, "trigger")
			for k, want := range tt.want {
				if b1, b2 := mustJSON(got[k]), mustJSON(want); b1 != b2 {
					t.Errorf("trigger output %s = %s, want %s", k, b1, b2)
				}
			}
			if !strings.Contains(result(v), store.ResultFailed) {
				t.Fatalf("run result = %s; the AI node has no executor", result(v))
			}
			if msg := string(v.NodeRuns[1].Output); !strings.Contains(msg, "AI cannot run yet") || !strings.Contains(msg, "no executor") {
				t.Errorf("AI node output = %s", msg)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
