package api

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// holdLock takes the write lock of the SQLite file at path from a
// connection of its own, as another process holding sluice.db would, until
// release (or the end of the test).
func holdLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatalf("BEGIN EXCLUSIVE: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// logWatch is a slog handler that hands every message to the test.
type logWatch struct{ msgs chan string }

func (h logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (h logWatch) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	select {
	case h.msgs <- b.String():
	default:
	}
	return nil
}
func (h logWatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logWatch) WithGroup(string) slog.Handler      { return h }

// wait waits until a message containing every one of want was logged.
func (h logWatch) wait(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a hang guard, not a timing assertion
	for {
		select {
		case m := <-h.msgs:
			all := true
			for _, w := range want {
				all = all && strings.Contains(m, w)
			}
			if all {
				return
			}
		case <-deadline:
			t.Fatalf("never logged %q", want)
		}
	}
}

// TestLockedStoreAnswers503AndStalledRunsResume holds a real exclusive lock
// on sluice.db (another connection's BEGIN EXCLUSIVE) from the moment a run's
// WEBHOOK node reaches its receiver, for longer than the store's busy
// timeout. The run's driver cannot commit the node's step and gives up
// (the engine's retries are off here, so that the sweep is what must bring
// the run back). Meanwhile requests that write answer 503 with Retry-After
// in the error envelope, run creation included. Once the lock is released,
// the server's periodic sweep drives the stalled run to SUCCESS, without a
// restart.
func TestLockedStoreAnswers503AndStalledRunsResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.db")
	st, err := sqlitetest.Open(ctx, path, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: dir, Generate: true, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring)
	if _, err := svc.Create(ctx, "test", "API_TOKEN", secretValue, ""); err != nil {
		t.Fatal(err)
	}

	var release func()
	var calls atomic.Int32
	nodeRuns := make(chan string, 8)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			release = holdLock(t, path) // the store becomes unavailable mid-node
		}
		nodeRuns <- r.Header.Get("X-Sluice-Node-Run")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"deployed": true}`)
	}))
	defer rcv.Close()

	logs := logWatch{msgs: make(chan string, 1024)}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	authn := auth.New(st, auth.Options{})
	srv, err := New(Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, Logger: slog.New(logs),
		SweepInterval: 20 * time.Millisecond, RetryFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		st.Close()
	}()
	if _, err := srv.Resume(ctx); err != nil { // starts the sweep
		t.Fatal(err)
	}
	c := &client{t: t, base: hs.URL, http: &http.Client{Transport: newValidator(t), Timeout: 30 * time.Second}}
	cred, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	token := c.do("POST", "/v1/auth/access_token", "", map[string]string{"clientId": cred.ClientID, "clientSecret": cred.ClientSecret}).expect(t, http.StatusOK).body["accessToken"].(string)
	c.do("POST", "/v1/workflows", token, workflowDef("locked", true, rcv.URL+"/sync", nil, nil)).expect(t, http.StatusCreated)
	runID := c.do("POST", "/v1/workflows/locked/runs", token, map[string]any{"inputs": map[string]any{"env": "prod"}}).expect(t, http.StatusCreated).obj("workflowRun")["identifier"].(string)

	first := <-nodeRuns
	logs.wait(t, "run execution stopped", runID, "SQLITE_BUSY") // the driver gave up

	for _, req := range []struct {
		name, method, path string
		body               any
	}{
		{"start a run", "POST", "/v1/workflows/locked/runs", map[string]any{"inputs": map[string]any{"env": "prod"}}},
		{"create a secret", "POST", "/v1/organization/secrets", map[string]any{"secretName": "OTHER", "secretValue": "other-value"}},
		{"create a workflow", "POST", "/v1/workflows", workflowDef("other", true, rcv.URL, nil, nil)},
		{"cancel a run", "POST", "/v1/workflows/runs/" + runID + "/cancel", nil},
		{"get a token", "POST", "/v1/auth/access_token", map[string]string{"clientId": cred.ClientID, "clientSecret": cred.ClientSecret}},
	} {
		a := c.do(req.method, req.path, token, req.body)
		if a.status != http.StatusServiceUnavailable || a.body["ok"] != false || a.body["error"] != "unavailable" || a.body["message"] == "" {
			t.Errorf("%s under a held lock: %d %s, want 503 with the unavailable envelope", req.name, a.status, a.raw)
		}
		if ra := a.header.Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" {
			t.Errorf("%s under a held lock: Retry-After %q, want seconds", req.name, ra)
		}
	}
	if run, _ := st.GetRun(ctx, runID); run.Status != store.StatusInProgress {
		t.Fatalf("the run is %s under the lock, want IN_PROGRESS", run.Status)
	}

	release()
	var run map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		run = c.do("GET", "/v1/workflows/runs/"+runID, token, nil).expect(t, http.StatusOK).obj("workflowRun")
		if run["status"] == store.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled run was never picked up again: %v", run)
		}
	}
	if run["result"] != store.ResultSuccess {
		t.Errorf("the swept run ended %v, want SUCCESS", run["result"])
	}
	if again := <-nodeRuns; again != first {
		t.Errorf("the node was delivered again as %s, want the same node run %s", again, first)
	}
	runs, _, err := st.ListRuns(ctx, store.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Errorf("runs after the lock: %d, %v; want only the first (the refused start created nothing)", len(runs), err)
	}
}
