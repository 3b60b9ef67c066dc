package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// portExport is a workflow as Port's GET /v1/workflows/{id} returns it: with
// id, orgId, the server fields and nulls where Port's schema allows them.
const portExport = `{"id":"wf_01HXYZ","orgId":"org_abc","identifier":"exported","title":null,"icon":null,"description":null,
 "category":null,"allowAnyoneToViewRuns":true,"version":7,"createdBy":"auth0|x","updatedBy":"auth0|x",
 "createdAt":"2026-05-01T10:00:00.000Z","updatedAt":"2026-05-02T10:00:00.000Z",
 "nodes":[{"identifier":"trigger","title":null,"icon":null,"description":null,"variables":{},
   "config":{"type":"SELF_SERVE_TRIGGER","published":true,"actionCardButtonText":"Run","executeActionButtonText":"Execute","variant":"DEFAULT",
     "userInputs":{"properties":{"env":{"type":"string","enum":["dev","prod"],"enumColors":{"dev":"green","prod":"red"}}},"required":[],"order":["env"]},
     "permissions":{"roles":["Member"],"users":[],"teams":[]}}},
  {"identifier":"summarize","title":"Summarize","icon":null,"description":null,"variables":{},"links":[],
   "config":{"type":"AI","userPrompt":"Summarize {{ .outputs.trigger.env }}","tools":["list_entities"]}}],
 "connections":[{"sourceIdentifier":"trigger","targetIdentifier":"summarize","description":null}]}`

// TestPortExportRoundTrip POSTs a Port export, GETs it, PUTs the answer back
// unchanged, and POSTs it to a second server: every step is accepted.
func TestPortExportRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.do("POST", "/v1/workflows", e.admin, portExport).expect(t, http.StatusCreated)
	if strings.Contains(created.raw, "orgId") || strings.Contains(created.raw, "wf_01HXYZ") {
		t.Errorf("Port's server fields were stored: %s", created.raw)
	}
	got := e.do("GET", "/v1/workflows/exported", e.admin, nil).expect(t, http.StatusOK)
	wf := got.body["workflow"]
	if !strings.Contains(got.raw, `"title":null`) || !strings.Contains(got.raw, `"enumColors"`) {
		t.Errorf("GET does not return the definition as written: %s", got.raw)
	}
	put := e.do("PUT", "/v1/workflows/exported", e.admin, wf).expect(t, http.StatusOK)
	if v := put.body["workflow"].(map[string]any)["version"]; v != 2.0 {
		t.Errorf("PUT version = %v, want 2", v)
	}
	other := newEnv(t)
	other.do("POST", "/v1/workflows", other.admin, wf).expect(t, http.StatusCreated)

	node := e.do("GET", "/v1/workflows/exported/nodes/summarize", e.admin, nil).expect(t, http.StatusOK)
	if cfg := node.body["node"].(map[string]any)["config"].(map[string]any); cfg["type"] != "AI" {
		t.Errorf("node = %s", node.raw)
	}
	e.do("GET", "/v1/workflows/exported/nodes/nope", e.admin, nil).expect(t, http.StatusNotFound)

	// The 201 of a run carries Port's nodeRuns and variables; the AI node
	// has no executor yet, so the run fails there, saying so.
	run := e.do("POST", "/v1/workflows/exported/runs", e.admin, map[string]any{"inputs": map[string]any{"env": "dev"}}).expect(t, http.StatusCreated)
	wr := run.body["workflowRun"].(map[string]any)
	if nrs, _ := wr["nodeRuns"].([]any); len(nrs) == 0 || wr["variables"] == nil {
		t.Errorf("201 lacks nodeRuns or variables: %s", run.raw)
	}
	_, nrs := e.waitRun(wr["identifier"].(string), func(r store.Run, _ []store.NodeRun) bool { return r.Status == store.StatusCompleted })
	if last := nrs[len(nrs)-1]; last.Result != store.ResultFailed || !strings.Contains(string(last.Output.Bytes()), "no executor") {
		t.Errorf("AI node run = %+v %s", last, last.Output.Bytes())
	}
}

// TestRunListPortParams checks Port's filters of GET /v1/workflows/runs and
// that an unknown parameter is refused, naming it, rather than ignored.
func TestRunListPortParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/sync", nil, nil))
	first := e.start("deploy", e.admin)
	e.completed(first)
	e.do("PUT", "/v1/workflows/deploy", e.admin, workflowDef("deploy", true, e.rcv.URL+"/sync", nil, nil)).expect(t, http.StatusOK)
	second := e.start("deploy", e.admin)
	e.completed(second)
	tests := []struct {
		query string
		want  []string
	}{
		{"?workflowRunIdentifiers=" + first, []string{first}},
		{"?workflowRunIdentifiers=" + first + "," + second, []string{second, first}},
		{"?workflowVersions=2", []string{second}},
		{"?workflowIdentifiers=deploy&workflowVersions=1", []string{first}},
		{"?workflowRunIdentifiers=wfr_nothingnothing00", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			a := e.do("GET", "/v1/workflows/runs"+tt.query, e.admin, nil).expect(t, http.StatusOK)
			var ids []string
			for _, r := range a.body["workflowRuns"].([]any) {
				ids = append(ids, r.(map[string]any)["identifier"].(string))
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("runs = %v, want %v", ids, tt.want)
			}
		})
	}
	for _, q := range []string{"?workflowRunIdentifier=" + first, "?workflowVersions=x", "?status=COMPLETED"} {
		a := e.do("GET", "/v1/workflows/runs"+q, e.admin, nil, skipRequestValidation, "1").expect(t, http.StatusBadRequest)
		name := strings.SplitN(strings.TrimPrefix(q, "?"), "=", 2)[0]
		if !strings.Contains(a.raw, name) {
			t.Errorf("%s: the 400 does not name %s: %s", q, name, a.raw)
		}
	}
}

// TestPortLogsAndCancelledResult completes an async node the way Port's
// integrations do: log entries {logLevel, log, tags}, then result
// CANCELLED, which ends the run CANCELLED.
func TestPortLogsAndCancelledResult(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	e.createWorkflow(workflowDef("async", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("async", e.admin)
	nr := e.waiting(runID)
	path := "/v1/workflows/nodes/runs/" + nr
	a := e.do("POST", path+"/logs", ci, map[string]any{"logs": []any{
		map[string]any{"logLevel": "WARN", "log": "port style", "tags": map[string]any{"step": "build"}},
		map[string]any{"level": "INFO", "message": "sluice style"},
	}}).expect(t, http.StatusOK)
	logs := a.body["workflowNodeRun"].(map[string]any)["nodeRunLogs"].([]any)
	var warn map[string]any
	for _, l := range logs {
		if m := l.(map[string]any); m["log"] == "port style" {
			warn = m
		}
	}
	if warn == nil || warn["logLevel"] != "WARN" || warn["tags"].(map[string]any)["step"] != "build" {
		t.Errorf("logs = %s", a.raw)
	}
	done := e.do("PATCH", path, ci, map[string]any{"status": "COMPLETED", "result": "CANCELLED"}).expect(t, http.StatusOK)
	if done.body["workflowNodeRun"].(map[string]any)["result"] != "CANCELLED" {
		t.Errorf("node run = %s", done.raw)
	}
	run, err := e.st.GetRun(context.Background(), runID)
	if err != nil || run.Result != store.ResultCancelled {
		t.Errorf("run = %+v, %v; want CANCELLED", run, err)
	}
	e.do("PATCH", path, ci, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}).expect(t, http.StatusConflict)
}
