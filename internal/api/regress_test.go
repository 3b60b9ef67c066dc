package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
)

// A webhook receiver that logs to its node run (POST .../logs) before it
// answers the webhook must not deadlock with the engine.
func TestLogPostWhileTheWebhookWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var logStatus int
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		nr := req.Header.Get("X-Sluice-Node-Run")
		body := `{"logs":[{"level":"INFO","message":"received, deploying"}]}`
		r, _ := http.NewRequest("POST", e.hs.URL+"/v1/workflows/nodes/runs/"+nr+"/logs", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+e.admin)
		r.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(r); err == nil {
			logStatus = resp.StatusCode
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"queued":true}`)
	}))
	t.Cleanup(rcv.Close)
	def := workflowDef("dl", true, rcv.URL+"/async", nil, nil)
	call := def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)
	call["timeoutSeconds"] = 1
	e.createWorkflow(def)
	runID := e.start("dl", e.admin)
	_, nrs := e.waitRun(runID, func(r store.Run, nrs []store.NodeRun) bool {
		return len(nrs) == 2 && (nrs[1].Waiting || nrs[1].Status == store.StatusCompleted)
	})
	if !nrs[1].Waiting {
		out := nrs[1].Output.Bytes()
		t.Errorf("node run = %s %s, output %s; log POST answered %d (want the node waiting and the log stored)", nrs[1].Status, nrs[1].Result, bytes.TrimSpace(out), logStatus)
	}
	if logStatus != http.StatusOK {
		t.Errorf("the receiver's log POST answered %d, want 200", logStatus)
	}
	logs, err := e.st.Logs(context.Background(), nrs[1].Identifier)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range logs {
		found = found || l.Message.String() == "received, deploying"
	}
	if !found {
		t.Errorf("the receiver's log line was not stored: %+v", logs)
	}
}

// Naming a node that is not a trigger (or a workflow without a self-serve
// trigger) is a bad request, not a permission problem, for an Admin.
func TestBadTriggerIs400(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("bt", true, e.rcv.URL+"/x", nil, nil))
	r := e.do("POST", "/v1/workflows/bt/runs", e.admin, map[string]any{"trigger": "call"})
	if r.status != http.StatusBadRequest {
		t.Errorf("trigger naming an action node: status %d, want 400: %s", r.status, r.raw)
	}
	r = e.do("POST", "/v1/workflows/bt/runs", e.admin, map[string]any{"trigger": "nope"})
	if r.status != http.StatusBadRequest {
		t.Errorf("trigger naming no node: status %d, want 400: %s", r.status, r.raw)
	}
}

// A Member who may only execute a workflow completes its async webhook node
// themselves, forging the remote system's verdict.
func TestCreatorCannotCompleteTheirAsyncNode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("forge", false, e.rcv.URL+"/async", []string{"dev@example.com"}, nil))
	member := e.user("dev@example.com", "Member")
	runID := e.start("forge", member)
	nr := e.waiting(runID)
	r := e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, member, map[string]any{
		"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"tests": "passed"}})
	if r.status != http.StatusForbidden {
		t.Errorf("the run's creator (a Member) completing the async node: status %d, want 403: %s", r.status, r.raw)
	}
}

// Each POST .../logs (and each 409'd PATCH) decrypts every referenced secret
// and writes a secret.resolve audit event with no node run.
func TestLogPostsResolveNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("aud", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("aud", e.admin)
	nr := e.waiting(runID)
	before, _ := e.svc.Audit(context.Background(), 1000, 0)
	for i := 0; i < 3; i++ {
		e.do("POST", "/v1/workflows/nodes/runs/"+nr+"/logs", e.admin, map[string]any{"logs": []any{map[string]any{"message": "tick"}}}).expect(t, http.StatusOK)
	}
	after, _ := e.svc.Audit(context.Background(), 1000, 0)
	if len(after) != len(before) {
		t.Errorf("3 log posts added %d audit events: %+v", len(after)-len(before), after[0])
	}

	// A completion refused because the run is over resolves nothing either,
	// even from a server that never ran the run (no redactor in memory).
	e.do("POST", "/v1/workflows/runs/"+runID+"/cancel", e.admin, nil).expect(t, http.StatusOK)
	before, _ = e.svc.Audit(context.Background(), 1000, 0)
	fresh := engine.New(engine.Options{Store: e.st, Secrets: e.svc})
	if _, err := fresh.CompleteNodeRun(context.Background(), nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("completing a node of a cancelled run: %v, want ErrConflict", err)
	}
	after, _ = e.svc.Audit(context.Background(), 1000, 0)
	if len(after) != len(before) {
		t.Errorf("a refused completion added %d audit events", len(after)-len(before))
	}
}
