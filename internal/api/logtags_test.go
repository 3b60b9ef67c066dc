package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// TestLogTags sends log lines with tags in every shape Port and Ocean use,
// through both paths that take logs (POST .../logs and the node-run PATCH
// in progress), and checks the answer, the stored row and the run's view
// keep the shape sent, with a secret in a tag masked everywhere.
func TestLogTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	e.createWorkflow(workflowDef("async", true, e.rcv.URL+"/async", nil, nil))
	tests := []struct {
		name     string
		tags     string // the JSON of "tags"; "" leaves it out
		wantJSON string // the tags in answers
	}{
		{"object (Port)", `{"step": "build"}`, `{"step":"build"}`},
		{"list (Ocean GitHub)", `["workflow_completion"]`, `["workflow_completion"]`},
		{"empty object (Ocean core)", `{}`, `{}`},
		{"empty list (Ocean)", `[]`, `[]`},
		{"absent", ``, `{}`},
		{"null", `null`, `{}`},
		{"secret in an object (the header it derives from, whole)", `{"token": "Bearer ` + secretValue + `", "` + secretValue + `": "k"}`, `{"***":"k","token":"***"}`},
		{"secret in a list", `["a", "x-` + secretValue + `-y"]`, `["a","x-***-y"]`},
	}
	for _, via := range []string{"POST logs", "PATCH"} {
		for _, tc := range tests {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				runID := e.start("async", e.admin)
				nr := e.waiting(runID)
				line := `{"logLevel": "INFO", "log": "tagged"`
				if tc.tags != "" {
					line += `, "tags": ` + tc.tags
				}
				line += `}`
				path, method, body := "/v1/workflows/nodes/runs/"+nr+"/logs", "POST", `{"logs": [`+line+`]}`
				if via == "PATCH" {
					path, method, body = "/v1/workflows/nodes/runs/"+nr, "PATCH", `{"status": "IN_PROGRESS", "logs": [`+line+`]}`
				}
				a := e.do(method, path, ci, body).expect(t, http.StatusOK)
				checkTagged(t, "answer", a.raw, tc.wantJSON)
				run := e.do("GET", "/v1/workflows/runs/"+runID+"?include=logs", ci, nil).expect(t, http.StatusOK)
				checkTagged(t, "GET run", run.raw, tc.wantJSON)
				logs, err := e.st.Logs(context.Background(), nr)
				if err != nil {
					t.Fatal(err)
				}
				var stored []string
				for _, l := range logs {
					if l.Message.String() == "tagged" {
						stored = append(stored, tagsJSON(t, l))
					}
				}
				if len(stored) != 1 || stored[0] != tc.wantJSON {
					t.Errorf("stored tags = %v, want [%s]", stored, tc.wantJSON)
				}
			})
		}
	}
}

// tagsJSON renders a stored log's tags as the answers show them.
func tagsJSON(t *testing.T, l store.Log) string {
	t.Helper()
	var v any = store.TagStrings(l.Tags)
	if l.TagList != nil {
		v = store.TagListStrings(l.TagList)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkTagged finds the log line "tagged" in an answer holding a node run
// or a run and checks its tags, and that the secret shows nowhere.
func checkTagged(t *testing.T, what, raw, want string) {
	t.Helper()
	if strings.Contains(raw, secretValue) {
		t.Errorf("%s shows the secret: %s", what, raw)
	}
	var found []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["log"] == "tagged" {
				b, _ := json.Marshal(x["tags"])
				found = append(found, string(b))
				return
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	walk(v)
	if len(found) != 1 || found[0] != want {
		t.Errorf("%s: tags = %v, want [%s]: %s", what, found, want, raw)
	}
}

// TestLogTagsRefused sends tags of wrong types: the whole request is a 422
// naming the exact path, and no log of it is stored.
func TestLogTagsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	e.createWorkflow(workflowDef("async", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("async", e.admin)
	nr := e.waiting(runID)
	good := `{"logLevel": "INFO", "log": "fine", "tags": ["ok"]}, {"level": "WARN", "message": "fine too", "tags": {"a": "b"}}`
	tests := []struct {
		name, bad, path, msg string
	}{
		{"number in a list", `{"log": "x", "tags": [1]}`, "logs[2].tags[0]", "must be a string, got number"},
		{"null in a list", `{"log": "x", "tags": ["a", null]}`, "logs[2].tags[1]", "must be a string, got null"},
		{"object in a list", `{"log": "x", "tags": ["a", "b", {"k": "v"}]}`, "logs[2].tags[2]", "must be a string, got object"},
		{"list in a list", `{"log": "x", "tags": [["a"]]}`, "logs[2].tags[0]", "must be a string, got array"},
		{"number in an object", `{"log": "x", "tags": {"step": 2}}`, "logs[2].tags.step", "must be a string, got number"},
		{"boolean under an odd key", `{"log": "x", "tags": {"odd key": true}}`, `logs[2].tags["odd key"]`, "must be a string, got boolean"},
		{"a string", `{"log": "x", "tags": "workflow_completion"}`, "logs[2].tags", "must be an object of strings or an array of strings, got string"},
		{"a number", `{"log": "x", "tags": 7}`, "logs[2].tags", "must be an object of strings or an array of strings, got number"},
	}
	before, err := e.st.Logs(context.Background(), nr)
	if err != nil {
		t.Fatal(err)
	}
	for _, via := range []string{"POST logs", "PATCH"} {
		for _, tc := range tests {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				path, method, body := "/v1/workflows/nodes/runs/"+nr+"/logs", "POST", `{"logs": [`+good+`, `+tc.bad+`]}`
				if via == "PATCH" {
					path, method, body = "/v1/workflows/nodes/runs/"+nr, "PATCH", `{"status": "COMPLETED", "result": "SUCCESS", "logs": [`+good+`, `+tc.bad+`]}`
				}
				a := e.do(method, path, ci, body, skipRequestValidation, "1").expect(t, http.StatusUnprocessableEntity)
				d, _ := a.body["details"].([]any)
				if len(d) != 1 || d[0].(map[string]any)["path"] != tc.path || d[0].(map[string]any)["message"] != tc.msg {
					t.Errorf("details = %s, want %s: %s", a.raw, tc.path, tc.msg)
				}
				if m, _ := a.body["message"].(string); m != tc.path+": "+tc.msg {
					t.Errorf("message = %q", m)
				}
				after, err := e.st.Logs(context.Background(), nr)
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Errorf("%d logs stored after a refused request, want %d", len(after), len(before))
				}
			})
		}
	}
	if nrun, err := e.st.GetNodeRun(context.Background(), nr); err != nil || nrun.Status != store.StatusInProgress {
		t.Errorf("node run = %+v, %v; want it still IN_PROGRESS", nrun, err)
	}
}

// TestOceanGitHubCompletion completes a node run with the body Ocean's
// GitHub integration sends when the dispatched GitHub workflow ends
// (reconstructed from port-labs/ocean commit 07f33bfce3,
// integrations/github/github/helpers/port_client_helpers.py,
// report_run_workflow_completed): Port's logLevel with the message alias
// and tags as a list. The node run completes and the run finishes.
func TestOceanGitHubCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci := e.machine(authz.ScopeUpdateRuns, authz.ScopeReadRuns)
	e.createWorkflow(workflowDef("async", true, e.rcv.URL+"/async", nil, nil))
	for _, tc := range []struct {
		conclusion, level, result string
	}{
		{"success", "INFO", store.ResultSuccess},
		{"failure", "ERROR", store.ResultFailed},
	} {
		t.Run(tc.conclusion, func(t *testing.T) {
			runID := e.start("async", e.admin)
			nr := e.waiting(runID)
			body := `{"status": "COMPLETED", "result": "` + tc.result + `", "logs": [{"logLevel": "` + tc.level +
				`", "message": "Workflow completed: ` + tc.conclusion + `", "tags": ["workflow_completion"]}]}`
			a := e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, ci, body).expect(t, http.StatusOK)
			if n := a.obj("workflowNodeRun"); n["status"] != store.StatusCompleted || n["result"] != tc.result {
				t.Errorf("node run = %s", a.raw)
			}
			if !strings.Contains(a.raw, `"log":"Workflow completed: `+tc.conclusion+`","tags":["workflow_completion"]`) {
				t.Errorf("the answer does not show the log with its list of tags: %s", a.raw)
			}
			if run := e.completed(runID); run.Result != tc.result {
				t.Errorf("run = %+v, want %s", run, tc.result)
			}
		})
	}
}

// FuzzLogTags checks parseLogTags on any JSON: it never panics, accepts
// exactly objects and arrays of strings (and null), and an error names a
// path under the one it was given.
func FuzzLogTags(f *testing.F) {
	for _, s := range []string{`{"step":"build"}`, `["workflow_completion"]`, `[]`, `{}`, `null`, `[1]`, `{"a":true}`, `"x"`, `[["a"]]`, `{"odd key":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		tags, list, err := parseLogTags("logs[0].tags", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Details) != 1 || !strings.HasPrefix(e.Details[0].Path, "logs[0].tags") {
				t.Fatalf("error %q does not name the tags", err)
			}
			return
		}
		if tags != nil && list != nil {
			t.Fatalf("both an object and a list from %q", data)
		}
		switch x := v.(type) {
		case nil:
		case map[string]any:
			if len(tags) != len(x) {
				t.Fatalf("%d tags from %q", len(tags), data)
			}
		case []any:
			if len(list) != len(x) {
				t.Fatalf("%d tags from %q", len(list), data)
			}
		default:
			t.Fatalf("accepted %q", data)
		}
	})
}
