package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// TestServeFailsANodeThatKeepsKillingIt runs `sluice serve` as a real
// process whose WEBHOOK node kills it: when the receiver gets the request,
// the test SIGKILLs the server, as an out-of-memory kill would, and starts it
// again over the same data dir, which resumes the run and sends the request
// again. After the 3rd kill, the next start does not execute the node
// again: it fails it with a message saying it was interrupted 3 times, and
// the run ends FAILED. The receiver saw exactly 3 requests.
func TestServeFailsANodeThatKeepsKillingIt(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := sluiceBinary(t)
	const clientID, clientSecret = "cl_loopadmin", "loop-admin-secret-0123456789abcdefghij"
	env := []string{"SLUICE_ADMIN_CLIENT_ID=" + clientID, "SLUICE_ADMIN_CLIENT_SECRET=" + clientSecret}
	dataDir := t.TempDir()

	var requests atomic.Int32
	arrived := make(chan struct{}, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		arrived <- struct{}{}
		<-r.Context().Done() // never answers: its sender dies first
	}))
	defer rcv.Close()

	srv := startServe(t, bin, dataDir, env...)
	c := &client{t: t, base: srv.base, http: &http.Client{Timeout: 30 * time.Second}}
	token := c.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": clientID, "clientSecret": clientSecret}).expect(t, 200).body["accessToken"].(string)
	c.do("POST", "/v1/organization/secrets", token, map[string]any{"secretName": "API_TOKEN", "secretValue": secretValue}).expect(t, 201)
	def := workflowDef("killer", true, rcv.URL+"/sync", nil, nil)
	def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)["timeoutSeconds"] = 600
	c.do("POST", "/v1/workflows", token, def).expect(t, 201)
	runID := c.do("POST", "/v1/workflows/killer/runs", token, map[string]any{"inputs": map[string]any{}}).expect(t, 201).obj("workflowRun")["identifier"].(string)

	for kill := 1; kill <= engine.DefaultMaxAttempts; kill++ {
		select {
		case <-arrived:
		case <-time.After(60 * time.Second): // a hang guard
			t.Fatalf("start %d never sent the node's request\n%s", kill, srv.stderr.String())
		}
		if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL: nothing is cleaned up
			t.Fatal(err)
		}
		<-srv.exited
		srv = startServe(t, bin, dataDir, env...)
		c.base = srv.base
	}

	var run map[string]any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		run = c.do("GET", "/v1/workflows/runs/"+runID, token, nil).expect(t, 200).obj("workflowRun")
		if run["status"] == store.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never completed after %d kills (requests: %d): %v\n%s", engine.DefaultMaxAttempts, requests.Load(), run, srv.stderr.String())
		}
	}
	if run["result"] != store.ResultFailed {
		t.Errorf("run = %v, want FAILED", run)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	if n := requests.Load(); n != int32(engine.DefaultMaxAttempts) {
		t.Errorf("the receiver got %d requests, want exactly %d", n, engine.DefaultMaxAttempts)
	}

	st, err := sqlitetest.Open(context.Background(), filepath.Join(dataDir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nrs, err := st.NodeRuns(context.Background(), runID)
	if err != nil || len(nrs) != 2 {
		t.Fatalf("node runs = %+v, %v", nrs, err)
	}
	call := nrs[1]
	want := fmt.Sprintf("node execution was interrupted %d times", engine.DefaultMaxAttempts)
	if call.Result != store.ResultFailed || call.Attempts != engine.DefaultMaxAttempts || !strings.Contains(string(call.Output.Bytes()), want) {
		t.Errorf("the node run: %s, %d attempts, output %s; want FAILED, %d, and a message with %q",
			call.Result, call.Attempts, call.Output.Bytes(), engine.DefaultMaxAttempts, want)
	}
}
