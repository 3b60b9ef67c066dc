package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

func TestWorkflowLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil)

	created := e.do("POST", "/v1/workflows", e.admin, def).expect(t, http.StatusCreated).obj("workflow")
	if created["version"] != float64(1) || created["identifier"] != "deploy" || created["title"] != "Test deploy" || created["createdBy"] == "" || created["createdAt"] == nil {
		t.Errorf("created = %v", created)
	}
	dup := e.do("POST", "/v1/workflows", e.admin, def).expect(t, http.StatusConflict)
	if dup.body["error"] != "conflict" {
		t.Errorf("duplicate: %s", dup.raw)
	}

	// A run started on version 1 keeps it after the workflow changes.
	runID := e.start("deploy", e.admin)
	def["title"] = "Second"
	put := e.do("PUT", "/v1/workflows/deploy", e.admin, def).expect(t, http.StatusOK).obj("workflow")
	if put["version"] != float64(2) || put["title"] != "Second" || put["createdAt"] != created["createdAt"] {
		t.Errorf("replaced = %v", put)
	}
	got := e.do("GET", "/v1/workflows/deploy", e.admin, nil).expect(t, http.StatusOK).obj("workflow")
	if got["version"] != float64(2) {
		t.Errorf("get = %v", got)
	}
	run := e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK).obj("workflowRun")
	if run["workflow"].(map[string]any)["version"] != float64(1) {
		t.Errorf("run workflow = %v", run["workflow"])
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		detail string // a details[].path that must be present
	}{
		{"identifier differs from the path", "PUT", "/v1/workflows/deploy", workflowDef("other", true, e.rcv.URL, nil, nil), 422, "invalid_definition", "identifier"},
		{"replace a missing workflow", "PUT", "/v1/workflows/nope", workflowDef("nope", true, e.rcv.URL, nil, nil), 404, "not_found", ""},
		{"malformed JSON", "POST", "/v1/workflows", "{\n  \"identifier\": \"x\",\n  \"nodes\": [,]\n}", 400, "invalid_request", ""},
		{"empty body", "POST", "/v1/workflows", "", 400, "invalid_request", ""},
		{"secret in variables", "POST", "/v1/workflows", readExample(t, "invalid-secret-in-variables.json"), 422, "invalid_definition", "nodes[1].variables.token"},
		{"every problem is listed", "POST", "/v1/workflows", `{"identifier": "bad id!", "nodes": [], "connections": [], "extra": 1}`, 422, "invalid_definition", "extra"},
		{"delete a missing workflow", "DELETE", "/v1/workflows/nope", nil, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.method, tc.path, e.admin, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if a.body["error"] != tc.code {
				t.Errorf("error = %v, want %s", a.body["error"], tc.code)
			}
			if tc.detail != "" {
				found := false
				for _, d := range a.body["details"].([]any) {
					found = found || d.(map[string]any)["path"] == tc.detail
				}
				if !found {
					t.Errorf("details lack path %s: %s", tc.detail, a.raw)
				}
			}
		})
	}
	t.Run("malformed JSON names the position", func(t *testing.T) {
		a := e.do("POST", "/v1/workflows", e.admin, "{\n  \"identifier\": \"x\",\n  \"nodes\": [,]\n}", skipRequestValidation, "1")
		if msg, _ := a.body["message"].(string); !strings.Contains(msg, "line 3, column 13") {
			t.Errorf("message = %q", msg)
		}
	})
	t.Run("several problems at once", func(t *testing.T) {
		a := e.do("POST", "/v1/workflows", e.admin, `{"identifier": "bad id!", "nodes": [], "connections": [], "extra": 1}`)
		if n := len(a.body["details"].([]any)); n < 3 {
			t.Errorf("%d details, want every problem: %s", n, a.raw)
		}
	})

	e.do("DELETE", "/v1/workflows/deploy", e.admin, nil).expect(t, http.StatusOK)
	e.do("GET", "/v1/workflows/deploy", e.admin, nil).expect(t, http.StatusNotFound)
	e.do("POST", "/v1/workflows/deploy/runs", e.admin, map[string]any{}).expect(t, http.StatusNotFound)
	// Past runs stay readable.
	e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK)
	// The identifier can be created again; versions go on.
	again := e.do("POST", "/v1/workflows", e.admin, def).expect(t, http.StatusCreated).obj("workflow")
	if again["version"].(float64) < 3 {
		t.Errorf("recreated version = %v", again["version"])
	}
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/port/" + name)
	if err != nil {
		// Without the file this check would pass by checking nothing.
		t.Fatalf("example %s (examples/port): %v", name, err)
	}
	return string(b)
}

func TestStartRunInputs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/sync", nil, nil))
	bad := e.do("POST", "/v1/workflows/deploy/runs", e.admin, map[string]any{"inputs": map[string]any{"env": "qa"}}).expect(t, http.StatusBadRequest)
	if bad.body["error"] != "invalid_inputs" || !strings.Contains(bad.raw, "env") {
		t.Errorf("bad input: %s", bad.raw)
	}
	e.do("POST", "/v1/workflows/deploy/runs", e.admin, map[string]any{"trigger": "call"}).expect(t, http.StatusBadRequest) // not a trigger
	e.do("POST", "/v1/workflows/deploy/runs", e.admin, map[string]any{"inputs": 3}, skipRequestValidation, "1").expect(t, http.StatusUnprocessableEntity)

	// A synchronized webhook: the run completes on its own, the echoed
	// secret is masked.
	runID := e.start("deploy", e.admin)
	if run := e.completed(runID); run.Result != store.ResultSuccess {
		t.Fatalf("run = %+v", run)
	}
	v := e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK).obj("workflowRun")
	out := v["variables"].(map[string]any)["outputs"].(map[string]any)["call"]
	if b, _ := json.Marshal(out); !strings.Contains(string(b), "***") {
		t.Errorf("the echoed secret is not masked: %s", b)
	}
}

func TestRunsList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := e.user("m@example.com", store.RoleMember)
	e.createWorkflow(workflowDef("open", true, e.rcv.URL+"/async", []string{"m@example.com"}, nil))
	e.createWorkflow(workflowDef("closed", false, e.rcv.URL+"/async", []string{"m@example.com"}, nil))
	// The admin starts 3 runs of each; the member 2 of "closed". The member
	// may view the 3 "open" runs and their own 2.
	var mine []string
	for i := 0; i < 3; i++ {
		e.start("open", e.admin)
		e.start("closed", e.admin)
	}
	for i := 0; i < 2; i++ {
		mine = append(mine, e.start("closed", member))
	}
	cancelled := e.start("open", e.admin)
	e.do("POST", "/v1/workflows/runs/"+cancelled+"/cancel", e.admin, nil).expect(t, http.StatusOK)

	ids := func(a answer) []string {
		var out []string
		for _, r := range a.body["workflowRuns"].([]any) {
			out = append(out, r.(map[string]any)["identifier"].(string))
		}
		return out
	}
	tests := []struct {
		name  string
		token string
		query string
		n     int
		total int
	}{
		{"admin sees all", e.admin, "", 9, 9},
		{"admin, one workflow", e.admin, "?workflowIdentifiers=closed", 5, 5},
		{"comma-separated", e.admin, "?workflowIdentifiers=closed,open&limit=2", 2, 9},
		{"repeated", e.admin, "?statuses=COMPLETED&statuses=IN_PROGRESS&results=CANCELLED", 1, 1},
		{"createdBy", e.admin, "?createdBy=" + memberID(t, e, member), 2, 2},
		{"member sees what they may view", member, "", 6, 6},
		{"member, paged", member, "?limit=4&offset=4", 2, 6},
		{"member, past the end", member, "?offset=10", 0, 6},
		{"member, filtered", member, "?workflowIdentifiers=closed", 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("GET", "/v1/workflows/runs"+tc.query, tc.token, nil).expect(t, http.StatusOK)
			if got := ids(a); len(got) != tc.n || a.body["total"] != float64(tc.total) {
				t.Errorf("%d runs, total %v; want %d, %d", len(got), a.body["total"], tc.n, tc.total)
			}
		})
	}
	// Pages of a member's list are consistent: together they are the list.
	var paged []string
	for off := 0; off < 6; off += 4 {
		paged = append(paged, ids(e.do("GET", fmt.Sprintf("/v1/workflows/runs?limit=4&offset=%d", off), member, nil))...)
	}
	if whole := ids(e.do("GET", "/v1/workflows/runs", member, nil)); strings.Join(paged, ",") != strings.Join(whole, ",") {
		t.Errorf("pages %v != list %v", paged, whole)
	}
	for _, id := range mine {
		if !strings.Contains(strings.Join(paged, ","), id) {
			t.Errorf("the member's own run %s is missing", id)
		}
	}
	for _, q := range []string{"?limit=1001", "?limit=-1", "?offset=x", "?statuses=DONE", "?results=OK"} {
		a := e.do("GET", "/v1/workflows/runs"+q, e.admin, nil, skipRequestValidation, "1").expect(t, http.StatusBadRequest)
		if d, _ := a.body["details"].([]any); len(d) != 1 {
			t.Errorf("%s: details = %s", q, a.raw)
		}
	}
}

// memberID reads a member's user id through their token.
func memberID(t *testing.T, e *env, token string) string {
	a, err := e.auth.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestAsyncCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	def := workflowDef("async", true, e.rcv.URL+"/async", nil, nil)
	def["nodes"].([]any)[1].(map[string]any)["variables"] = map[string]any{"deployed": "{{ .result.id }}"}
	e.createWorkflow(def)

	runID := e.start("async", e.admin)
	nr := e.waiting(runID)
	path := "/v1/workflows/nodes/runs/" + nr
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown status", map[string]any{"status": "DONE"}, 400, "status"},
		{"completed without result", map[string]any{"status": "COMPLETED"}, 400, "result"},
		{"result without completion", map[string]any{"result": "SUCCESS"}, 400, "result"},
		{"bad log level", map[string]any{"logs": []any{map[string]any{"level": "LOUD", "message": "x"}}}, 400, "logs[0].level"},
		{"unknown field", map[string]any{"state": "COMPLETED"}, 422, "state"},
		{"wrong type", map[string]any{"logs": "x"}, 422, "logs"},
		{"level and logLevel", map[string]any{"logs": []any{map[string]any{"level": "INFO", "logLevel": "INFO", "log": "x"}}}, 400, "logs[0].level"},
		{"bad logLevel", map[string]any{"logs": []any{map[string]any{"logLevel": "LOUD", "log": "x"}}}, 400, "logs[0].logLevel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("PATCH", path, ci, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if d, _ := a.body["details"].([]any); len(d) == 0 || d[0].(map[string]any)["path"] != tc.field {
				t.Errorf("details = %s", a.raw)
			}
		})
	}
	logs := e.do("POST", path+"/logs", ci, map[string]any{"logs": []any{map[string]any{"level": "INFO", "message": "building with " + secretValue}}}).expect(t, http.StatusOK)
	if l := logs.obj("workflowNodeRun")["nodeRunLogs"].([]any); !strings.Contains(fmt.Sprint(l), "building with ***") {
		t.Errorf("logs = %v", l)
	}
	done := e.do("PATCH", path, ci, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"id": 42}, "logs": []any{map[string]any{"message": "done"}}}).expect(t, http.StatusOK)
	if n := done.obj("workflowNodeRun"); n["status"] != "COMPLETED" || fmt.Sprint(n["output"]) != "map[deployed:42]" {
		t.Errorf("node run = %v", n)
	}
	if run := e.completed(runID); run.Result != store.ResultSuccess {
		t.Errorf("run = %+v", run)
	}
	again := e.do("PATCH", path, ci, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}).expect(t, http.StatusConflict)
	if again.body["error"] != "conflict" {
		t.Errorf("second completion: %s", again.raw)
	}
	e.do("POST", path+"/logs", ci, map[string]any{"logs": []any{map[string]any{"message": "late"}}}).expect(t, http.StatusConflict)

	// A cancelled run's node cannot be completed; a run cannot be cancelled twice.
	runID = e.start("async", e.admin)
	nr = e.waiting(runID)
	c := e.do("POST", "/v1/workflows/runs/"+runID+"/cancel", ci, nil).expect(t, http.StatusOK).obj("workflowRun")
	if c["status"] != "COMPLETED" || c["result"] != "CANCELLED" {
		t.Errorf("cancelled run = %v", c)
	}
	e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, ci, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}).expect(t, http.StatusConflict)
	e.do("POST", "/v1/workflows/runs/"+runID+"/cancel", ci, nil).expect(t, http.StatusConflict)
	e.do("PATCH", "/v1/workflows/nodes/runs/wfnr_0000000000000000", ci, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}).expect(t, http.StatusNotFound)
	e.do("GET", "/v1/workflows/runs/wfr_0000000000000000", ci, nil).expect(t, http.StatusNotFound)

	// FAILED completions fail the node with the message sent.
	runID = e.start("async", e.admin)
	nr = e.waiting(runID)
	e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, ci, map[string]any{"status": "COMPLETED", "result": "FAILED", "output": map[string]any{"error": map[string]any{"message": "quota exceeded"}}}).expect(t, http.StatusOK)
	if run := e.completed(runID); run.Result != store.ResultFailed {
		t.Errorf("run = %+v", run)
	}
}

func TestSecretsEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const value = "very-secret-value-0042"
	created := e.do("POST", "/v1/organization/secrets", e.admin, map[string]any{"secretName": "DEPLOY_KEY", "secretValue": value, "description": "deploys"}).expect(t, http.StatusCreated)
	if s := created.obj("secret"); s["secretName"] != "DEPLOY_KEY" || s["description"] != "deploys" {
		t.Errorf("created = %v", s)
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"bad name", "POST", "/v1/organization/secrets", map[string]any{"secretName": "bad name", "secretValue": value}, 422, "secretName"},
		{"short value", "POST", "/v1/organization/secrets", map[string]any{"secretName": "SHORT", "secretValue": "abc"}, 422, "secretValue"},
		{"long description", "POST", "/v1/organization/secrets", map[string]any{"secretName": "D", "secretValue": value, "description": strings.Repeat("x", 201)}, 422, "description"},
		{"duplicate", "POST", "/v1/organization/secrets", map[string]any{"secretName": "DEPLOY_KEY", "secretValue": value}, 409, ""},
		{"unknown field", "POST", "/v1/organization/secrets", map[string]any{"secretName": "X", "value": value}, 422, "value"},
		{"missing", "GET", "/v1/organization/secrets/NOPE", nil, 404, ""},
		{"nothing to change", "PATCH", "/v1/organization/secrets/DEPLOY_KEY", map[string]any{}, 400, ""},
		{"update missing", "PATCH", "/v1/organization/secrets/NOPE", map[string]any{"description": "x"}, 404, ""},
		{"update short value", "PATCH", "/v1/organization/secrets/DEPLOY_KEY", map[string]any{"secretValue": "ab"}, 422, "secretValue"},
		{"delete missing", "DELETE", "/v1/organization/secrets/NOPE", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.method, tc.path, e.admin, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if tc.field != "" {
				if d, _ := a.body["details"].([]any); len(d) == 0 || d[0].(map[string]any)["path"] != tc.field {
					t.Errorf("details = %s", a.raw)
				}
			}
			if strings.Contains(a.raw, value) || strings.Contains(a.raw, `"abc"`) {
				t.Errorf("the answer quotes a value: %s", a.raw)
			}
		})
	}
	newValue := "another-value-0043"
	e.do("PATCH", "/v1/organization/secrets/DEPLOY_KEY", e.admin, map[string]any{"secretValue": newValue}).expect(t, http.StatusOK)
	list := e.do("GET", "/v1/organization/secrets", e.admin, nil).expect(t, http.StatusOK)
	if strings.Contains(list.raw, value) || strings.Contains(list.raw, newValue) || !strings.Contains(list.raw, "DEPLOY_KEY") {
		t.Errorf("list = %s", list.raw)
	}
	e.do("DELETE", "/v1/organization/secrets/DEPLOY_KEY", e.admin, nil).expect(t, http.StatusOK)
	audit := e.do("GET", "/v1/audit", e.admin, nil).expect(t, http.StatusOK)
	for _, action := range []string{"secret.create", "secret.update", "secret.delete"} {
		if !strings.Contains(audit.raw, action) {
			t.Errorf("audit lacks %s: %s", action, audit.raw)
		}
	}
	e.do("GET", "/v1/audit?limit=5000", e.admin, nil, skipRequestValidation, "1").expect(t, http.StatusBadRequest)
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wrong := e.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": e.adminCred.ClientID, "clientSecret": strings.Repeat("x", 40)}).expect(t, http.StatusUnauthorized)
	unknown := e.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": "cl_unknown", "clientSecret": strings.Repeat("x", 40)}).expect(t, http.StatusUnauthorized)
	if wrong.raw != unknown.raw {
		t.Errorf("a wrong secret and an unknown client answer differently:\n%s\n%s", wrong.raw, unknown.raw)
	}
	e.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": "x"}, skipRequestValidation, "1").expect(t, http.StatusBadRequest)
	ok := e.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": e.adminCred.ClientID, "clientSecret": e.adminCred.ClientSecret}).expect(t, http.StatusOK)
	if ok.body["tokenType"] != "Bearer" || ok.body["expiresIn"] != float64(auth.DefaultTokenTTL.Seconds()) || ok.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token answer = %s", ok.raw)
	}
	for _, h := range []string{"Basic abc", "Bearer", "Bearer slt_nope", "token"} {
		req, _ := http.NewRequest("GET", e.hs.URL+"/v1/workflows", nil)
		req.Header.Set("Authorization", h)
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d", h, resp.StatusCode)
		}
	}
}

func TestLimitsAndRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"identifier": "x", "description": "` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"body over the limit", "POST", "/v1/workflows", big, 413, "payload_too_large"},
		{"unknown route", "GET", "/v1/nothing", nil, 404, "not_found"},
		{"unknown route outside v1", "GET", "/", nil, 404, "not_found"},
		{"wrong method", "PATCH", "/v1/workflows", nil, 405, "method_not_allowed"},
		{"wrong method on a run", "DELETE", "/v1/workflows/runs/wfr_x", nil, 405, "method_not_allowed"},
		{"body not an object", "POST", "/v1/organization/secrets", `["x"]`, 400, "invalid_request"},
		{"trailing data", "POST", "/v1/organization/secrets", `{"secretName": "A"} {}`, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.method, tc.path, e.admin, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if a.body["ok"] != false || a.body["error"] != tc.code {
				t.Errorf("answer = %s", a.raw)
			}
			if tc.status == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/healthz", "", nil).expect(t, http.StatusOK)
	e.do("GET", "/readyz", "", nil).expect(t, http.StatusOK)
	doc := e.do("GET", "/v1/openapi.json", "", nil).expect(t, http.StatusOK)
	if doc.body["openapi"] != "3.0.3" || doc.body["paths"] == nil {
		t.Errorf("openapi.json = %.200s", doc.raw)
	}
	e.createWorkflow(workflowDef("m", true, e.rcv.URL+"/sync", nil, nil))
	e.completed(e.start("m", e.admin))
	wants := []string{
		"sluice_runs_started_total 1",
		`sluice_runs_finished_total{result="SUCCESS"} 1`,
		`sluice_node_duration_seconds_count{type="WEBHOOK"} 1`,
		`sluice_http_requests_total{code="201",route="POST /v1/workflows/{identifier}/runs"} 1`,
	}
	// The run is seen COMPLETED in the store as soon as it is committed;
	// the metrics are counted by the event hook just after the commit, so
	// they are read until they show it (a hang guard, not a timing check).
	var metrics string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		metrics = e.do("GET", "/metrics", "", nil).expect(t, http.StatusOK).raw
		missing := false
		for _, want := range wants {
			missing = missing || !strings.Contains(metrics, want)
		}
		if !missing || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, secretValue) {
		t.Error("metrics hold the secret")
	}
}

// TestShutdownAndResume stops a server while a node executes, past its
// grace period, and checks that a new server over the same store resumes
// the run to the end.
func TestShutdownAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	release := make(chan struct{})
	slow := newSlowReceiver(t, release)
	e.createWorkflow(workflowDef("slow", true, slow.URL+"/sync", nil, nil))
	runID := e.start("slow", e.admin)
	<-slow.arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown returned nil while a node was still executing past the grace period")
	}
	run, err := e.st.GetRun(context.Background(), runID)
	if err != nil || run.Status != store.StatusInProgress {
		t.Fatalf("after shutdown: %+v, %v", run, err)
	}
	close(release)

	srv2, err := New(Options{Store: e.st, Nodes: e.reg, Secrets: e.svc, Auth: e.auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv2.Shutdown(context.Background()) })
	if n, err := srv2.Resume(context.Background()); err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v", n, err)
	}
	if run := e.completed(runID); run.Result != store.ResultSuccess {
		t.Errorf("resumed run = %+v", run)
	}
}

func TestSaveWarnsAboutUndefinedSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := workflowDef("warned", true, e.rcv.URL+"/sync", nil, nil)
	call := def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)
	call["headers"] = map[string]any{"Authorization": "Bearer {{ .secrets.API_TOKEN }}", "X-Other": "{{ .secrets.NOT_YET }}"}
	r := e.do("POST", "/v1/workflows", e.admin, def).expect(t, http.StatusCreated)
	if !strings.Contains(r.raw, "secret NOT_YET is not defined yet") || strings.Contains(r.raw, "secret API_TOKEN is not defined") {
		t.Errorf("want one warning, for NOT_YET only: %s", r.raw)
	}
}

func TestRunsIsAReservedIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/v1/workflows", e.admin, workflowDef("runs", true, e.rcv.URL+"/sync", nil, nil)).expect(t, http.StatusUnprocessableEntity)
	if !strings.Contains(r.raw, `"path":"identifier"`) || !strings.Contains(r.raw, "reserved") {
		t.Errorf("answer: %s", r.raw)
	}
}
