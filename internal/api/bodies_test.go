package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// Every JSON body is refused with a 400 naming the field when it holds
// invalid UTF-8 or a lone surrogate escape (encoding/json would store them
// as U+FFFD: a secret abcd\xff\xfe stopped working and nobody was told), a
// duplicate key (the last one won), or a field name in another case (a
// duplicate in disguise). Answers never quote the bytes, and nothing is
// stored.
func TestBodiesWithBadTextOrDuplicateKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("bodies", true, e.rcv.URL+"/async", nil, nil))
	e.do("POST", "/v1/organization/secrets", e.admin, map[string]any{"secretName": "KEEP", "secretValue": "keep-value-1"}).expect(t, http.StatusCreated)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	nr := e.waiting(e.start("bodies", e.admin))
	before, err := e.st.Logs(context.Background(), nr)
	if err != nil {
		t.Fatal(err)
	}
	logsBefore := len(before)
	def := func(title string) string {
		return `{"identifier": "bodies", "title": "` + title + `", "nodes": [{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}}], "connections": []}`
	}
	const bad = "abcd\xff\xfe"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, field, msg                string
	}{
		// POST /v1/auth/access_token
		{"token: invalid UTF-8", "POST", "/v1/auth/access_token", "", `{"clientId": "cl_x", "clientSecret": "` + bad + `"}`, 400, "invalid_request", "clientSecret", "not valid UTF-8"},
		{"token: duplicate", "POST", "/v1/auth/access_token", "", `{"clientId": "a", "clientId": "b", "clientSecret": "x"}`, 400, "invalid_request", "clientId", "duplicate key"},

		// POST and PUT /v1/workflows: duplicates stay the definition's
		// problems (422, every one listed).
		{"create workflow: invalid UTF-8", "POST", "/v1/workflows", "", def(bad), 400, "invalid_request", "title", "not valid UTF-8"},
		{"create workflow: lone surrogate", "POST", "/v1/workflows", "", def(`\udc00`), 400, "invalid_request", "title", "lone UTF-16 surrogate"},
		{"create workflow: duplicate", "POST", "/v1/workflows", "", `{"identifier": "d", "identifier": "e", "nodes": [], "connections": []}`, 422, "invalid_definition", "identifier", "duplicate key"},
		{"replace workflow: invalid UTF-8", "PUT", "/v1/workflows/bodies", "", def(bad), 400, "invalid_request", "title", "not valid UTF-8"},

		// POST /v1/workflows/{id}/runs
		{"start run: invalid UTF-8 input", "POST", "/v1/workflows/bodies/runs", "", `{"inputs": {"env": "` + bad + `"}}`, 400, "invalid_request", "inputs.env", "not valid UTF-8"},
		{"start run: invalid UTF-8 input name", "POST", "/v1/workflows/bodies/runs", "", `{"inputs": {"e` + bad + `": "dev"}}`, 400, "invalid_request", "inputs", "key that is not valid UTF-8"},
		{"start run: duplicate input", "POST", "/v1/workflows/bodies/runs", "", `{"inputs": {"env": "dev", "env": "prod"}}`, 400, "invalid_request", "inputs.env", "duplicate key"},
		{"start run: field in another case", "POST", "/v1/workflows/bodies/runs", "", `{"inputs": {}, "Inputs": {"env": "prod"}}`, 400, "invalid_request", "Inputs", "case-sensitive"},

		// PATCH /v1/workflows/nodes/runs/{id}
		{"complete: invalid UTF-8 output", "PATCH", "/v1/workflows/nodes/runs/" + nr, ci, `{"status": "COMPLETED", "result": "SUCCESS", "output": {"a": [1, "` + bad + `"]}}`, 400, "invalid_request", "output.a[1]", "not valid UTF-8"},
		{"complete: invalid UTF-8 log", "PATCH", "/v1/workflows/nodes/runs/" + nr, ci, `{"logs": [{"message": "ok"}, {"message": "ok"}, {"message": "` + bad + `"}]}`, 400, "invalid_request", "logs[2].message", "not valid UTF-8"},
		{"complete: duplicate result", "PATCH", "/v1/workflows/nodes/runs/" + nr, ci, `{"status": "COMPLETED", "result": "FAILED", "result": "SUCCESS"}`, 400, "invalid_request", "result", "duplicate key"},
		{"complete: duplicate in output", "PATCH", "/v1/workflows/nodes/runs/" + nr, ci, `{"status": "COMPLETED", "result": "SUCCESS", "output": {"ok": false, "ok": true}}`, 400, "invalid_request", "output.ok", "duplicate key"},
		{"complete: result in another case", "PATCH", "/v1/workflows/nodes/runs/" + nr, ci, `{"status": "COMPLETED", "result": "FAILED", "Result": "SUCCESS"}`, 400, "invalid_request", "Result", "case-sensitive"},

		// POST /v1/workflows/nodes/runs/{id}/logs
		{"logs: invalid UTF-8", "POST", "/v1/workflows/nodes/runs/" + nr + "/logs", ci, `{"logs": [{"level": "INFO", "message": "` + bad + `"}]}`, 400, "invalid_request", "logs[0].message", "not valid UTF-8"},
		{"logs: lone surrogate", "POST", "/v1/workflows/nodes/runs/" + nr + "/logs", ci, `{"logs": [{"message": "x\ud83d"}]}`, 400, "invalid_request", "logs[0].message", "lone UTF-16 surrogate"},
		{"logs: duplicate", "POST", "/v1/workflows/nodes/runs/" + nr + "/logs", ci, `{"logs": [{"message": "a", "message": "b"}]}`, 400, "invalid_request", "logs[0].message", "duplicate key"},

		// POST and PATCH /v1/organization/secrets
		{"create secret: invalid UTF-8 value", "POST", "/v1/organization/secrets", "", `{"secretName": "BAD_UTF8", "secretValue": "` + bad + `"}`, 400, "invalid_request", "secretValue", "not valid UTF-8"},
		{"create secret: duplicate value", "POST", "/v1/organization/secrets", "", `{"secretName": "BAD_DUP", "secretValue": "first-value", "secretValue": "second-value"}`, 400, "invalid_request", "secretValue", "duplicate key"},
		{"create secret: value in another case", "POST", "/v1/organization/secrets", "", `{"secretName": "BAD_CASE", "secretValue": "first-value", "SecretValue": "second-value"}`, 400, "invalid_request", "SecretValue", "case-sensitive"},
		{"update secret: invalid UTF-8 value", "PATCH", "/v1/organization/secrets/KEEP", "", `{"secretValue": "` + bad + `"}`, 400, "invalid_request", "secretValue", "not valid UTF-8"},
		{"update secret: duplicate description", "PATCH", "/v1/organization/secrets/KEEP", "", `{"description": "a", "description": "b"}`, 400, "invalid_request", "description", "duplicate key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			if token == "" && !strings.Contains(tc.path, "/auth/") {
				token = e.admin
			}
			a := e.do(tc.method, tc.path, token, tc.body, skipRequestValidation, "1").expect(t, tc.status)
			if a.body["error"] != tc.code {
				t.Errorf("error = %v, want %s", a.body["error"], tc.code)
			}
			d, _ := a.body["details"].([]any)
			if len(d) == 0 || d[0].(map[string]any)["path"] != tc.field || !strings.Contains(d[0].(map[string]any)["message"].(string), tc.msg) {
				t.Errorf("details = %s, want path %s: ...%s", a.raw, tc.field, tc.msg)
			}
			if !utf8.ValidString(a.raw) || strings.ContainsRune(a.raw, utf8.RuneError) || strings.Contains(a.raw, "abcd") {
				t.Errorf("the answer quotes the bytes: %q", a.raw)
			}
		})
	}
	// Nothing was stored.
	for _, name := range []string{"BAD_UTF8", "BAD_DUP", "BAD_CASE"} {
		e.do("GET", "/v1/organization/secrets/"+name, e.admin, nil).expect(t, http.StatusNotFound)
	}
	if s := e.do("GET", "/v1/organization/secrets/KEEP", e.admin, nil).expect(t, http.StatusOK).obj("secret"); s["description"] != "" && s["description"] != nil {
		t.Errorf("secret KEEP changed: %v", s)
	}
	if w := e.do("GET", "/v1/workflows/bodies", e.admin, nil).expect(t, http.StatusOK).obj("workflow"); w["version"] != float64(1) {
		t.Errorf("workflow changed: %v", w)
	}
	stored, err := e.st.GetNodeRun(context.Background(), nr)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := e.st.Logs(context.Background(), nr)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != store.StatusInProgress || len(logs) != logsBefore {
		t.Errorf("a refused body changed the node run: %s, %d log lines, want %d", stored.Status, len(logs), logsBefore)
	}
}
