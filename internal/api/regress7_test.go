package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// An async receiver holding update:runs only (the documented recipe) adds
// logs to and completes the node runs of a workflow that does not let anyone
// view its runs, and its answers show the node run's state, not the run's
// data: the node's variables render other nodes' outputs (here the trigger's
// input), which the receiver may not read.
func TestUpdateRunsCompletesPrivateRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := workflowDef("private", false, e.rcv.URL+"/async", nil, nil)
	def["nodes"].([]any)[1].(map[string]any)["variables"] = map[string]any{
		"env": "{{ .outputs.trigger.env }}", "id": "{{ .result.id }}",
	}
	e.createWorkflow(def)
	updater := e.machine(authz.ScopeUpdateRuns)
	viewer := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)

	tests := []struct {
		name    string
		token   string
		canView bool
	}{
		{"update:runs only", updater, false},
		{"update:runs and read:runs", viewer, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runID := e.start("private", e.admin) // inputs env=prod
			nr := e.waiting(runID)
			path := "/v1/workflows/nodes/runs/" + nr
			view := http.StatusOK
			if !tc.canView {
				view = http.StatusNotFound
			}
			e.do("GET", "/v1/workflows/runs/"+runID, tc.token, nil).expect(t, view)

			logs := e.do("POST", path+"/logs", tc.token, map[string]any{"logs": []any{map[string]any{"message": "deploying"}}}).expect(t, http.StatusOK)
			done := e.do("PATCH", path, tc.token, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"id": 7}}).expect(t, http.StatusOK)
			for name, a := range map[string]answer{"logs": logs, "completion": done} {
				n := a.obj("workflowNodeRun")
				if n["identifier"] != nr {
					t.Errorf("%s answer: node run %v, want %s", name, n["identifier"], nr)
				}
				if !tc.canView && strings.Contains(a.raw, "prod") {
					t.Errorf("%s answer shows the trigger's input to a caller who may not view the run: %s", name, a.raw)
				}
				if !tc.canView && (n["output"] != nil || len(n["nodeRunLogs"].([]any)) != 0 || len(n["links"].([]any)) != 0) {
					t.Errorf("%s answer to a caller who may not view the run holds run data: %s", name, a.raw)
				}
			}
			if n := done.obj("workflowNodeRun"); n["status"] != store.StatusCompleted || n["result"] != store.ResultSuccess {
				t.Errorf("completion answer = %v", n)
			}
			if tc.canView && !strings.Contains(done.raw, "prod") {
				t.Errorf("the completion answer to a caller who may view the run lacks its output: %s", done.raw)
			}
			if run := e.completed(runID); run.Result != store.ResultSuccess {
				t.Errorf("run = %+v", run)
			}
			// What was sent is stored, whoever sent it.
			got := e.do("GET", "/v1/workflows/runs/"+runID+"?include=logs", e.admin, nil).expect(t, http.StatusOK).obj("workflowRun")
			node := got["nodeRuns"].([]any)[1].(map[string]any)
			if fmt.Sprint(node["output"]) != "map[env:prod id:7]" || !strings.Contains(fmt.Sprint(node["nodeRunLogs"]), "deploying") {
				t.Errorf("stored node run = %v", node)
			}
		})
	}
}

// The run's creator (a Member who may only execute the workflow) may no
// longer post log lines: reading them back, masked or not, was an oracle
// for the secrets the run resolved. Another Member gets 404 on a private
// run and 403 on a public one.
func TestMembersCannotPostLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	creator := e.user("dev@example.com", store.RoleMember)
	other := e.user("other@example.com", store.RoleMember)
	tests := []struct {
		name   string
		anyone bool
		token  string
		want   int
	}{
		{"creator, public run", true, creator, http.StatusForbidden},
		{"creator, private run", false, creator, http.StatusForbidden},
		{"other Member, public run", true, other, http.StatusForbidden},
		{"other Member, private run", false, other, http.StatusNotFound},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("logs-%d", i)
			e.createWorkflow(workflowDef(id, tc.anyone, e.rcv.URL+"/async", []string{"dev@example.com"}, nil))
			nr := e.waiting(e.start(id, creator))
			probe := map[string]any{"logs": []any{map[string]any{"message": "probe " + secretValue[:5]}}}
			e.do("POST", "/v1/workflows/nodes/runs/"+nr+"/logs", tc.token, probe).expect(t, tc.want)
		})
	}
}

// TestUpdateRunsCancelsPrivateRuns: update:runs lets a machine cancel a run
// of a private workflow without the right to read it; the answer is the
// run's summary. Callers who may neither cancel nor view it get 404, those
// who may view it but not cancel it 403.
func TestUpdateRunsCancelsPrivateRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("private", false, e.rcv.URL+"/async", nil, nil))
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"update:runs only", e.machine(authz.ScopeUpdateRuns), http.StatusOK},
		{"read:runs only", e.machine(authz.ScopeReadRuns), http.StatusForbidden},
		{"execute only", e.machine(authz.ScopeExecute), http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runID := e.start("private", e.admin)
			e.waiting(runID)
			a := e.do("POST", "/v1/workflows/runs/"+runID+"/cancel", tc.token, nil).expect(t, tc.want)
			if tc.want != http.StatusOK {
				return
			}
			got := a.obj("workflowRun")
			if got["result"] != store.ResultCancelled || got["nodeRuns"] != nil || strings.Contains(a.raw, "prod") {
				t.Errorf("cancel answer = %s; want the cancelled run's summary only", a.raw)
			}
		})
	}
}
