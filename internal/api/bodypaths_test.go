package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// A wrong type or malformed JSON anywhere in a body is answered with the
// exact JSON path of the value, array indices and map keys included
// (logs[1].logLevel, not encoding/json's logs.logLevel), and the position
// of malformed JSON besides; the answer never quotes the body, and nothing
// is stored.
func TestBodyErrorsNameIndexedPaths(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	e.createWorkflow(workflowDef("paths", true, e.rcv.URL+"/async", nil, nil))
	e.do("POST", "/v1/blueprints", e.admin, serviceBP).expect(t, http.StatusCreated)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	runID := e.start("paths", e.admin)
	nr := e.waiting(runID)
	ctx := context.Background()
	logsBefore, err := e.st.Logs(ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	_, runsBefore, err := e.st.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}

	const quiet = "do-not-quote-me"
	patch, logs := "/v1/workflows/nodes/runs/"+nr, "/v1/workflows/nodes/runs/"+nr+"/logs"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		field, msg                      string
	}{
		// Wrong types (422): encoding/json alone would say logs.logLevel.
		{"complete: second log line", "PATCH", patch, ci, `{"status": "COMPLETED", "result": "SUCCESS", "logs": [{"message": "ok"}, {"logLevel": 5, "message": "` + quiet + `"}]}`, 422, "logs[1].logLevel", "must be a string, got number"},
		{"complete: a link", "PATCH", patch, ci, `{"links": ["https://ci.example/1", {"url": "` + quiet + `"}]}`, 422, "links[1]", "must be a string, got object"},
		{"logs: third line", "POST", logs, ci, `{"logs": [{"message": "a"}, {"message": "b"}, {"message": ["` + quiet + `"]}]}`, 422, "logs[2].message", "must be a string, got array"},
		{"blueprint: required name", "POST", "/v1/blueprints", "", `{"identifier": "pathbp", "schema": {"properties": {}, "required": ["a", 2]}}`, 422, "schema.required[1]", "must be a string, got number"},
		{"blueprint: relation with an odd key", "POST", "/v1/blueprints", "", `{"identifier": "pathbp", "schema": {}, "relations": {"odd key": {"target": "service", "many": "yes"}}}`, 422, `relations["odd key"].many`, "must be a boolean, got string"},
		{"search: second rule", "POST", "/v1/entities/search", "", `{"combinator": "and", "rules": [{"property": "stage", "operator": "=", "value": "dev"}, {"property": 5}]}`, 422, "rules[1].property", "must be a string, got number"},
		{"AI provider: a header", "POST", "/v1/ai/providers", "", `{"name": "pathai", "baseUrl": "http://127.0.0.1:1/v1", "model": "m", "headers": {"X-Team": "a", "X-Odd header": 7}}`, 422, `headers["X-Odd header"]`, "must be a string, got number"},
		{"start run: trigger, already right", "POST", "/v1/workflows/paths/runs", "", `{"inputs": {}, "trigger": ["trigger"]}`, 422, "trigger", "must be a string, got array"},

		// Malformed JSON (400): the value being read, and where.
		{"complete: trailing comma in output", "PATCH", patch, ci, `{"status": "COMPLETED", "result": "SUCCESS", "output": {"items": [1, 2, ]}}`, 400, "output.items[2]", "malformed JSON at line 1, column 73 (byte 72)"},
		{"logs: cut short in a message", "POST", logs, ci, `{"logs": [{"message": "a"}, {"message": "` + quiet, 400, "logs[1].message", "malformed JSON at line 1, column 57"},
		{"start run: missing input value", "POST", "/v1/workflows/paths/runs", "", "{\n  \"inputs\": {\n    \"env\": \"dev\",\n    \"odd key\": }\n}", 400, `inputs["odd key"]`, "malformed JSON at line 4, column 16"},
		{"create workflow: missing node", "POST", "/v1/workflows", "", "{\n  \"identifier\": \"pathwf\",\n  \"nodes\": [,]\n}", 400, "nodes[0]", "malformed JSON at line 3, column 13"},
		{"create secret: cut short in the value", "POST", "/v1/organization/secrets", "", `{"secretName": "PATHS_SECRET", "secretValue": "` + quiet, 400, "secretValue", "malformed JSON at line 1"},
		{"entity: missing comma", "POST", "/v1/blueprints/service/entities", "", `{"identifier": "pathent", "properties": {"stage": "dev" "tier": "gold"}}`, 400, "properties", "malformed JSON"},
		{"logs: trailing comma (docs/api.md)", "POST", logs, ci, `{"logs": [{"message": "a"},]}`, 400, "logs[1]", "malformed JSON at line 1, column 28 (byte 27)"},
		{"top level: trailing data", "POST", "/v1/organization/secrets", "", `{"secretName": "PATHS_SECRET", "secretValue": "x"} {}`, 400, "(body)", "malformed JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			if token == "" {
				token = e.admin
			}
			a := e.do(tc.method, tc.path, token, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if a.body["error"] != "invalid_request" {
				t.Errorf("error = %v, want invalid_request", a.body["error"])
			}
			d, _ := a.body["details"].([]any)
			if len(d) != 1 || d[0].(map[string]any)["path"] != tc.field || !strings.Contains(d[0].(map[string]any)["message"].(string), tc.msg) {
				t.Errorf("details = %s, want path %s: ...%s", a.raw, tc.field, tc.msg)
			}
			if msg, _ := a.body["message"].(string); !strings.HasPrefix(msg, tc.field+": ") {
				t.Errorf("message = %q, want it to start with the path %s", msg, tc.field)
			}
			if strings.Contains(a.raw, quiet) {
				t.Errorf("the answer quotes the body: %s", a.raw)
			}
		})
	}

	// Nothing was stored.
	stored, err := e.st.GetNodeRun(ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	logsAfter, err := e.st.Logs(ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != store.StatusInProgress || len(logsAfter) != len(logsBefore) {
		t.Errorf("a refused body changed the node run: %s, %d log lines, want %d", stored.Status, len(logsAfter), len(logsBefore))
	}
	if _, n, err := e.st.ListRuns(ctx, store.RunFilter{}); err != nil || n != runsBefore {
		t.Errorf("runs = %d (%v), want %d", n, err, runsBefore)
	}
	e.do("GET", "/v1/blueprints/pathbp", e.admin, nil).expect(t, http.StatusNotFound)
	e.do("GET", "/v1/blueprints/service/entities/pathent", e.admin, nil).expect(t, http.StatusNotFound)
	e.do("GET", "/v1/workflows/pathwf", e.admin, nil).expect(t, http.StatusNotFound)
	e.do("GET", "/v1/organization/secrets/PATHS_SECRET", e.admin, nil).expect(t, http.StatusNotFound)
	if ps := e.do("GET", "/v1/ai/providers", e.admin, nil).expect(t, http.StatusOK).body["providers"].([]any); len(ps) != 0 {
		t.Errorf("providers = %v", ps)
	}
}
