package api

import (
	"net/http"
	"strings"
	"testing"
)

// A run's body with the form's values at the top is refused naming the
// field and where it goes; nothing is started.
func TestRunBodyHint(t *testing.T) {
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/sync", nil, nil))
	tests := []struct {
		name string
		body any
		path string
		want []string
	}{
		{"a form value at the top", map[string]any{"env": "prod"}, "env",
			[]string{`env: unknown field`, `the form's values go under "inputs"`, `{"inputs": {"env": ...}}`}},
		{"beside inputs", map[string]any{"inputs": map[string]any{}, "dryRun": true}, "dryRun",
			[]string{`dryRun: unknown field`, `a run's body is {"inputs": {...}, "trigger": "..."}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", "/v1/workflows/deploy/runs", e.admin, tc.body, skipRequestValidation, "1").expect(t, http.StatusUnprocessableEntity)
			for _, w := range tc.want {
				if msg, _ := a.body["message"].(string); !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %s", msg, w)
				}
			}
			if d, _ := a.body["details"].([]any); len(d) != 1 || d[0].(map[string]any)["path"] != tc.path {
				t.Errorf("details %v, want one at %s", a.body["details"], tc.path)
			}
		})
	}
	runs := e.do("GET", "/v1/workflows/runs?workflowIdentifiers=deploy", e.admin, nil).expect(t, http.StatusOK)
	if strings.Contains(runs.raw, "wfr_") {
		t.Errorf("a refused body started a run: %s", runs.raw)
	}
}

// Errors other than an unknown top-level field pass unchanged.
func TestRunBodyHintLeavesOthers(t *testing.T) {
	for _, err := range []error{
		invalidField("inputs", "must be an object, got number"),
		schemaMismatch(invalidField("inputs.x", "unknown field")),
		badRequest("the request body must be a JSON object"),
	} {
		if got := runBodyHint(err); got != err {
			t.Errorf("%v became %v", err, got)
		}
	}
}
