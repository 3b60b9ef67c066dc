package cli

import (
	"encoding/json"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestServeOnPostgresKafkaTimeout: a real `serve --database-url` process
// runs a KAFKA node that nobody completes, with timeoutSeconds and onTimeout
// "continue". The process is stopped while the node waits and started
// again on the same database: the deadline kept by the PostgreSQL store
// (store.WaitStore) ends the wait, the node succeeds with {"timeout": true}
// and the next node sees it.
func TestServeOnPostgresKafkaTimeout(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	args := []string{"--data-dir", dir, "--database-url", url, "--dev-kafka", "--dev-kafka-port", port}
	srv := startServer(t, args...)
	id, secret := credentials(t, srv.banner)
	token, code := srv.token(t, id, secret)
	if code != http.StatusOK {
		t.Fatalf("token exchange: %d", code)
	}
	def := map[string]any{
		"identifier": "announce-or-not", "title": "Announce",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER"}},
			map[string]any{"identifier": "announce", "config": map[string]any{"type": "KAFKA",
				"payload": map[string]any{"what": "deploy"}, "timeoutSeconds": 3, "onTimeout": "continue"}},
			map[string]any{"identifier": "after", "config": map[string]any{"type": "CONDITION",
				"outlets": []any{map[string]any{"identifier": "timedout", "title": "timed out", "expression": ".outputs.announce.timeout == true"}}}},
		},
		"connections": []any{
			map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "announce"},
			map[string]any{"sourceIdentifier": "announce", "targetIdentifier": "after"},
		},
	}
	if code, v := srv.apiCall(t, "POST", "/v1/workflows", token, def); code != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d %v", code, v)
	}
	code, v := srv.apiCall(t, "POST", "/v1/workflows/announce-or-not/runs", token, map[string]any{"inputs": map[string]any{}})
	if code != http.StatusCreated {
		t.Fatalf("POST runs: %d %v", code, v)
	}
	runID, _ := v["workflowRun"].(map[string]any)["identifier"].(string)

	type nodeRun struct {
		Node struct {
			Identifier string `json:"identifier"`
		} `json:"node"`
		Status string         `json:"status"`
		Output map[string]any `json:"output"`
	}
	type runView struct {
		WorkflowRun struct {
			Status   string    `json:"status"`
			Result   string    `json:"result"`
			NodeRuns []nodeRun `json:"nodeRuns"`
		} `json:"workflowRun"`
	}
	get := func(s *server) runView {
		t.Helper()
		var r runView
		if c := s.call(t, "GET", "/v1/workflows/runs/"+runID, token, nil, &r); c != http.StatusOK {
			t.Fatalf("GET the run: %d", c)
		}
		return r
	}
	// Wait until the KAFKA node runs (it published and waits), then stop.
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := get(srv)
		if n := len(r.WorkflowRun.NodeRuns); n >= 2 && r.WorkflowRun.NodeRuns[1].Node.Identifier == "announce" {
			if r.WorkflowRun.Status != "IN_PROGRESS" {
				t.Fatalf("the run ended before its KAFKA node timed out: %+v\n%s", r, srv.logs())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the KAFKA node never ran: %+v\n%s", r, srv.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v\n%s", err, srv.logs())
	}

	srv = startServer(t, args...)
	var r runView
	for deadline := time.Now().Add(60 * time.Second); ; {
		r = get(srv)
		if r.WorkflowRun.Status == "COMPLETED" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.WorkflowRun.Status != "COMPLETED" || r.WorkflowRun.Result != "SUCCESS" {
		t.Fatalf("run %s is %s/%s, want COMPLETED/SUCCESS\n%s", runID, r.WorkflowRun.Status, r.WorkflowRun.Result, srv.logs())
	}
	var outputs []string
	for _, nr := range r.WorkflowRun.NodeRuns {
		b, _ := json.Marshal(nr.Output)
		outputs = append(outputs, nr.Node.Identifier+"="+string(b))
	}
	want := []string{`trigger={}`, `announce={"timeout":true}`, `after={"selectedOutlet":{"identifier":"timedout"}}`}
	if len(outputs) != len(want) {
		t.Fatalf("node outputs = %v, want %v", outputs, want)
	}
	for i := range want {
		if outputs[i] != want[i] {
			t.Fatalf("node outputs = %v, want %v", outputs, want)
		}
	}
	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Errorf("serve: %v\n%s", err, srv.logs())
	}
}
