package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// progressNodeRun returns the node run wfnr of run runID as GET of the run
// shows it, and whether the run's variables hold an output for its node.
func (e *env) progressNodeRun(t *testing.T, runID, wfnr string) (map[string]any, bool) {
	t.Helper()
	got := e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK)
	run := got.obj("workflowRun")
	_, inVars := run["variables"].(map[string]any)["outputs"].(map[string]any)["call"]
	for _, x := range run["nodeRuns"].([]any) {
		if nr := x.(map[string]any); nr["identifier"] == wfnr {
			return nr, inVars
		}
	}
	t.Fatalf("run %s has no node run %s: %s", runID, wfnr, got.raw)
	return nil, false
}

// storedNodeRun is the node run as its row holds it, output and links
// encoded as JSON, to look for the secret value in what is stored.
func (e *env) storedNodeRun(t *testing.T, wfnr string) (store.NodeRun, string) {
	t.Helper()
	nr, err := e.st.GetNodeRun(context.Background(), wfnr)
	if err != nil {
		t.Fatal(err)
	}
	links := make([]string, len(nr.Links))
	for i, l := range nr.Links {
		links[i] = l.String()
	}
	lj, _ := json.Marshal(links)
	logs, err := e.st.Logs(context.Background(), wfnr)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range logs {
		msgs = append(msgs, l.Message.String())
	}
	return nr, string(nr.Output.Bytes()) + " " + string(lj) + " " + strings.Join(msgs, "\n")
}

// TestNodeRunProgress follows a receiver that reports its progress
// (PATCH status IN_PROGRESS with output and links, as port-labs/ocean's
// update_run_workflow_started does) and then completes, with or without
// an output of its own. The progress is shown on the node run while it
// runs, masked where it echoes a secret, in every answer and in the row.
func TestNodeRunProgress(t *testing.T) {
	t.Parallel()
	progressOut := map[string]any{"workflowRunUrl": "https://ci.example/runs/7", "workflowRunId": 7, "echo": "token=" + secretValue}
	wantProgress := map[string]any{"workflowRunUrl": "https://ci.example/runs/7", "workflowRunId": float64(7), "echo": "token=***"}
	tests := []struct {
		name string
		// progress are the IN_PROGRESS bodies, in order.
		progress []map[string]any
		// shown is the output and links the node run shows after them.
		shownOutput any
		shownLinks  []any
		complete    map[string]any
		wantResult  string
		wantOutput  any
		wantLinks   []any
	}{
		{
			name:        "completion without output ends with the progress",
			progress:    []map[string]any{{"status": "IN_PROGRESS", "output": progressOut, "links": []any{"https://ci.example/runs/7"}}},
			shownOutput: wantProgress, shownLinks: []any{"https://ci.example/runs/7"},
			complete:   map[string]any{"status": "COMPLETED", "result": "SUCCESS", "logs": []any{map[string]any{"logLevel": "INFO", "log": "Workflow completed: success"}}},
			wantResult: store.ResultSuccess, wantOutput: wantProgress, wantLinks: []any{"https://ci.example/runs/7"},
		},
		{
			name:        "completion with its own output and links replaces the progress",
			progress:    []map[string]any{{"status": "IN_PROGRESS", "output": progressOut, "links": []any{"https://ci.example/runs/7"}}},
			shownOutput: wantProgress, shownLinks: []any{"https://ci.example/runs/7"},
			complete:   map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"deploymentId": "dep-42"}, "links": []any{}},
			wantResult: store.ResultSuccess, wantOutput: map[string]any{"deploymentId": "dep-42"}, wantLinks: []any{},
		},
		{
			name: "a later progress replaces the output; logs only keep it; links [] clear them",
			progress: []map[string]any{
				{"output": map[string]any{"step": 1}, "links": []any{"https://ci.example/a"}},
				{"status": "IN_PROGRESS", "output": progressOut, "links": []any{}},
				{"status": "IN_PROGRESS", "logs": []any{map[string]any{"level": "INFO", "message": "still going"}}},
			},
			shownOutput: wantProgress, shownLinks: []any{},
			complete:   map[string]any{"status": "COMPLETED", "result": "SUCCESS"},
			wantResult: store.ResultSuccess, wantOutput: wantProgress, wantLinks: []any{},
		},
		{
			name:        "a failure without output takes its message from the progress",
			progress:    []map[string]any{{"status": "IN_PROGRESS", "output": map[string]any{"message": "tests are red"}}},
			shownOutput: map[string]any{"message": "tests are red"}, shownLinks: []any{},
			complete:   map[string]any{"status": "COMPLETED", "result": "FAILED"},
			wantResult: store.ResultFailed, wantOutput: map[string]any{"error": map[string]any{"message": "tests are red"}}, wantLinks: []any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
			receiver := e.machine("update:runs", "read:runs")
			runID := e.start("deploy", e.admin)
			wfnr := e.waiting(runID)
			for i, body := range tt.progress {
				a := e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, receiver, body).expect(t, http.StatusOK)
				if nr := a.obj("workflowNodeRun"); nr["status"] != "IN_PROGRESS" {
					t.Fatalf("progress %d: answer status = %v: %s", i, nr["status"], a.raw)
				}
			}
			shown, inVars := e.progressNodeRun(t, runID, wfnr)
			if shown["status"] != "IN_PROGRESS" || !reflect.DeepEqual(shown["output"], tt.shownOutput) || !reflect.DeepEqual(shown["links"], tt.shownLinks) {
				t.Errorf("in progress, GET shows status %v output %v links %v, want IN_PROGRESS %v %v", shown["status"], shown["output"], shown["links"], tt.shownOutput, tt.shownLinks)
			}
			if inVars {
				t.Errorf("the run's variables.outputs holds the output of a node still in progress")
			}
			if _, row := e.storedNodeRun(t, wfnr); strings.Contains(row, secretValue) {
				t.Errorf("the stored node run holds the secret value: %s", row)
			}

			a := e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, receiver, tt.complete).expect(t, http.StatusOK)
			if nr := a.obj("workflowNodeRun"); nr["status"] != "COMPLETED" || !reflect.DeepEqual(nr["output"], tt.wantOutput) {
				t.Errorf("completion answer: status %v output %v, want COMPLETED %v", nr["status"], nr["output"], tt.wantOutput)
			}
			if run := e.completed(runID); run.Result != tt.wantResult {
				t.Errorf("run result = %s, want %s", run.Result, tt.wantResult)
			}
			shown, inVars = e.progressNodeRun(t, runID, wfnr)
			if shown["result"] != tt.wantResult || !reflect.DeepEqual(shown["output"], tt.wantOutput) || !reflect.DeepEqual(shown["links"], tt.wantLinks) {
				t.Errorf("completed, GET shows result %v output %v links %v, want %s %v %v", shown["result"], shown["output"], shown["links"], tt.wantResult, tt.wantOutput, tt.wantLinks)
			}
			if !inVars {
				t.Errorf("the run's variables.outputs lacks the completed node's output")
			}
			if _, row := e.storedNodeRun(t, wfnr); strings.Contains(row, secretValue) {
				t.Errorf("the stored node run holds the secret value: %s", row)
			}
		})
	}
}

// TestNodeRunProgressRejected sends bad IN_PROGRESS bodies: each is refused
// with the JSON path at fault, and nothing of it is stored (no output, no
// links, no logs, no external run id).
func TestNodeRunProgressRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	receiver := e.machine("update:runs", "read:runs")
	runID := e.start("deploy", e.admin)
	wfnr := e.waiting(runID)
	out := map[string]any{"url": "https://ci.example/1"}
	_, before := e.storedNodeRun(t, wfnr) // the webhook's own log line
	tests := []struct {
		name   string
		body   any
		status int
		path   string
	}{
		{"too many links", map[string]any{"status": "IN_PROGRESS", "output": out, "links": []any{"a", "b", "c", "d"}}, 400, "links"},
		{"a link that is not a string", map[string]any{"status": "IN_PROGRESS", "output": out, "links": []any{"a", 7}}, 422, "links"},
		{"result while in progress", map[string]any{"status": "IN_PROGRESS", "result": "SUCCESS", "output": out}, 400, "result"},
		{"unknown status", map[string]any{"status": "RUNNING", "output": out}, 400, "status"},
		{"bad log level", map[string]any{"output": out, "logs": []any{map[string]any{"logLevel": "LOUD", "log": "x"}}}, 400, "logs[0].logLevel"},
		{"bad external run id", map[string]any{"output": out, "externalRunId": "has space"}, 422, "externalRunId"},
		{"unknown field", map[string]any{"output": out, "outputs": out}, 422, "outputs"},
		{"malformed JSON", `{"status": "IN_PROGRESS", "output": {"url": }`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, receiver, tt.body, skipRequestValidation, "1")
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.path != "" && !strings.Contains(a.raw, `"`+tt.path) {
				t.Errorf("the error does not name %s: %s", tt.path, a.raw)
			}
			nr, row := e.storedNodeRun(t, wfnr)
			if nr.Status != store.StatusInProgress || !nr.Output.IsZero() || len(nr.Links) != 0 || row != before {
				t.Errorf("a refused body changed the node run: status %s, stored %q", nr.Status, row)
			}
			shown, inVars := e.progressNodeRun(t, runID, wfnr)
			if inVars || shown["output"] != nil {
				t.Errorf("a refused body left an output: %v", shown["output"])
			}
			if shown["externalRunId"] != nil {
				t.Errorf("a refused body set externalRunId %v", shown["externalRunId"])
			}
		})
	}
}
