package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// TestStartRunTraceparent starts runs with and without a W3C traceparent:
// a valid one is stored with the run (its trace parent), a malformed one
// is ignored and the run is created all the same (W3C: a receiver that
// cannot parse it starts a new trace; it is never an error).
func TestStartRunTraceparent(t *testing.T) {
	t.Parallel()
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/sync", nil, nil))
	body := map[string]any{"inputs": map[string]any{"env": "prod"}}
	tests := []struct {
		name string
		hdr  []string
		want string // the stored trace parent, "" for none
	}{
		{"none", nil, ""},
		{"valid", []string{"traceparent", valid}, valid},
		{"valid, header name in another case", []string{"Traceparent", valid}, valid},
		{"uppercase hex", []string{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}, ""},
		{"all-zero trace id", []string{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"version ff", []string{"traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, ""},
		{"garbage", []string{"traceparent", "not a traceparent"}, ""},
		{"two joined", []string{"traceparent", valid + "," + valid}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do("POST", "/v1/workflows/deploy/runs", e.admin, body, tt.hdr...).expect(t, http.StatusCreated)
			runID := a.obj("workflowRun")["identifier"].(string)
			got, err := e.st.RunTraceParent(context.Background(), runID)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("stored trace parent = %q, want %q", got.String(), tt.want)
			}
			e.completed(runID)
		})
	}
	// A repeated header is ignored too (W3C), even when both are valid.
	req, err := http.NewRequest("POST", e.hs.URL+"/v1/workflows/deploy/runs", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Add("traceparent", valid)
	req.Header.Add("traceparent", valid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		WorkflowRun struct {
			Identifier string `json:"identifier"`
		} `json:"workflowRun"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d (%v) with a repeated traceparent, want 201", resp.StatusCode, err)
	}
	if got, err := e.st.RunTraceParent(context.Background(), created.WorkflowRun.Identifier); err != nil || !got.IsZero() {
		t.Errorf("a repeated traceparent was stored: %v, %v", got, err)
	}
	e.completed(created.WorkflowRun.Identifier)
}
