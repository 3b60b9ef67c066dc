package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestNodeRunDisplayFields checks Port's nodeTitle, nodeIcon and
// nodeConfigType on node runs: read from the version the run ran, null
// where that version sets none, and unchanged by a newer version.
func TestNodeRunDisplayFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := workflowDef("display", true, e.rcv.URL+"/async", nil, nil)
	call := def["nodes"].([]any)[1].(map[string]any)
	call["title"], call["icon"] = "Call the API", "Webhook"
	e.createWorkflow(def)
	runID := e.start("display", e.admin)
	nodeRunID := e.waiting(runID)

	// A newer version renames the node: the run keeps showing its own.
	call["title"] = "Renamed"
	e.do("PUT", "/v1/workflows/display", e.admin, def).expect(t, http.StatusOK)

	got := e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK)
	want := map[string][3]any{
		"trigger": {nil, nil, "SELF_SERVE_TRIGGER"},
		"call":    {"Call the API", "Webhook", "WEBHOOK"},
	}
	nrs := got.obj("workflowRun")["nodeRuns"].([]any)
	if len(nrs) != len(want) {
		t.Fatalf("node runs = %s", got.raw)
	}
	for _, x := range nrs {
		nr := x.(map[string]any)
		id := nr["node"].(map[string]any)["identifier"].(string)
		w := want[id]
		if nr["nodeTitle"] != w[0] || nr["nodeIcon"] != w[1] || nr["nodeConfigType"] != w[2] {
			t.Errorf("node run of %s: nodeTitle %v, nodeIcon %v, nodeConfigType %v; want %v", id, nr["nodeTitle"], nr["nodeIcon"], nr["nodeConfigType"], w)
		}
	}

	// The PATCH answer carries them too.
	done := e.do("PATCH", "/v1/workflows/nodes/runs/"+nodeRunID, e.admin, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}).expect(t, http.StatusOK)
	if nr := done.obj("workflowNodeRun"); nr["nodeTitle"] != "Call the API" || nr["nodeConfigType"] != "WEBHOOK" {
		t.Errorf("PATCH answer = %s", done.raw)
	}
}

// TestPortNodeRunPath checks Port's other form of the node-run update,
// PATCH /v1/workflows/runs/{wfr}/nodes/{wfnr}: the same operation as
// PATCH /v1/workflows/nodes/runs/{wfnr}, refusing a node run of another
// run as a missing one, and changing nothing then.
func TestPortNodeRunPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("older", true, e.rcv.URL+"/async", nil, nil))
	runA := e.start("older", e.admin)
	nodeA := e.waiting(runA)
	runB := e.start("older", e.admin)
	nodeB := e.waiting(runB)

	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		msg    string
	}{
		{"node run of another run", "/v1/workflows/runs/" + runA + "/nodes/" + nodeB, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}, http.StatusNotFound, "not found in run " + runA},
		{"missing run", "/v1/workflows/runs/wfr_0000000000000000/nodes/" + nodeA, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}, http.StatusNotFound, "not found"},
		{"missing node run", "/v1/workflows/runs/" + runA + "/nodes/wfnr_0000000000000000", map[string]any{"status": "COMPLETED", "result": "SUCCESS"}, http.StatusNotFound, "not found"},
		{"bad result", "/v1/workflows/runs/" + runA + "/nodes/" + nodeA, map[string]any{"status": "COMPLETED", "result": "DONE"}, http.StatusBadRequest, "result"},
		{"Port's logs, in progress", "/v1/workflows/runs/" + runA + "/nodes/" + nodeA, map[string]any{"status": "IN_PROGRESS", "logs": []any{map[string]any{"logLevel": "INFO", "log": "started", "tags": map[string]any{"env": "prod"}}}}, http.StatusOK, `"log":"started"`},
		{"completed", "/v1/workflows/runs/" + runA + "/nodes/" + nodeA, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"id": "abc"}}, http.StatusOK, `"result":"SUCCESS"`},
		{"again", "/v1/workflows/runs/" + runA + "/nodes/" + nodeA, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}, http.StatusConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.status == http.StatusBadRequest {
				hdr = []string{skipRequestValidation, "1"}
			}
			got := e.do("PATCH", tt.path, e.admin, tt.body, hdr...).expect(t, tt.status)
			if !strings.Contains(got.raw, tt.msg) {
				t.Errorf("answer lacks %q: %s", tt.msg, got.raw)
			}
		})
	}
	// Run B's node run was never touched through run A's path.
	if nr, err := e.st.GetNodeRun(t.Context(), nodeB); err != nil || nr.Status != "IN_PROGRESS" {
		t.Errorf("node run of run B = %+v, %v", nr, err)
	}
	e.completed(runA)
}
