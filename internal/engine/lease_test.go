package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// clock is a settable clock shared by the engines of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestLeaseTakeover plays two processes (two engines, two lease owners) on
// one store. Process A starts a run and hangs in node one (a process that
// stalls, or dies, while a node is in flight). While A's lease lasts, B can
// neither claim nor drive the run; once it expired, B claims it, executes
// node one again with the same node-run identifier and completes the run.
// When A wakes and finishes node one, its commit is refused (it applies
// nothing), and its next heartbeat tells it the lease is lost.
func TestLeaseTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"terminate"`, 1))
	clk := &clock{t: time.Now()}

	var mu sync.Mutex
	seen := map[string][]string{} // node-run id → the processes that executed it
	release := make(chan struct{})
	newProc := func(name string, hang bool) *engine.Engine {
		reg := node.NewRegistry()
		reg.Register("WEBHOOK", funcExec(func(c context.Context, req *node.Request) (node.Result, error) {
			mu.Lock()
			seen[req.NodeRunID] = append(seen[req.NodeRunID], name)
			mu.Unlock()
			if hang {
				<-release // stalls, ignoring its context, like a hung process
			}
			return node.Result{Output: map[string]any{"by": name}}, nil
		}))
		reg.Register("UPSERT_ENTITY", funcExec(func(context.Context, *node.Request) (node.Result, error) {
			return node.Result{Output: map[string]any{}}, nil
		}))
		return engine.New(engine.Options{Store: st, Nodes: reg, Now: clk.now, LeaseOwner: "proc-" + name, LeaseTTL: 15 * time.Second})
	}
	a, b := newProc("a", true), newProc("b", false)

	run, err := a.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := st.GetLease(ctx, run.Identifier); err != nil || l.Owner != "proc-a" {
		t.Fatalf("lease after Start = %+v, %v; want proc-a", l, err)
	}
	aDone := make(chan error, 1)
	go func() { _, err := a.Execute(ctx, run.Identifier); aDone <- err }()
	waitFor(t, "A executes node one", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })

	// A's lease is live: B claims nothing and does not drive the run.
	if ids, err := b.ClaimRuns(ctx, 0); err != nil || len(ids) != 0 {
		t.Fatalf("B claimed %v (%v) while A's lease lasts", ids, err)
	}
	if got, err := b.Execute(ctx, run.Identifier); err != nil || got.Status != store.StatusInProgress {
		t.Fatalf("B's Execute under A's lease = %+v, %v", got, err)
	}
	// A renews: still holds it.
	if n, err := a.Heartbeat(ctx); err != nil || n != 1 {
		t.Fatalf("A's heartbeat renewed %d (%v), want 1", n, err)
	}

	// A stops renewing; its lease expires.
	clk.add(16 * time.Second)
	ids, err := b.ClaimRuns(ctx, 0)
	if err != nil || len(ids) != 1 || ids[0] != run.Identifier {
		t.Fatalf("B's claim after expiry = %v, %v; want [%s]", ids, err, run.Identifier)
	}
	done, err := b.Execute(ctx, run.Identifier)
	if err != nil || done.Status != store.StatusCompleted || done.Result != store.ResultSuccess {
		t.Fatalf("B's takeover = %+v, %v; want COMPLETED SUCCESS", done, err)
	}
	if _, err := st.GetLease(ctx, run.Identifier); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the lease after the run finished: %v, want released", err)
	}

	// A wakes: its heartbeat learns the loss and cancels its driver, and
	// its late commit applies nothing.
	if n, err := a.Heartbeat(ctx); err != nil || n != 0 {
		t.Fatalf("A's heartbeat after the takeover renewed %d (%v), want 0", n, err)
	}
	close(release)
	if err := <-aDone; err != nil {
		t.Fatalf("A's Execute after losing its lease: %v, want a quiet stop", err)
	}
	nrs, err := st.NodeRuns(ctx, run.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if len(nrs) != 3 {
		t.Fatalf("%d node runs, want 3 (trigger, one, two): a double transition", len(nrs))
	}
	one := nrs[1]
	if got := string(one.Output.Bytes()); got != `{"by":"b"}` {
		t.Errorf("node one's output = %s, want B's", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if by := seen[one.Identifier]; len(by) != 2 || by[0] != "a" || by[1] != "b" {
		t.Errorf("node run %s executed by %v, want [a b] with the same id", one.Identifier, by)
	}
	if one.Attempts != 2 {
		t.Errorf("node one's attempts = %d, want 2", one.Attempts)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClaimLeftRuns: a process alone on its store (serve on SQLite, after a
// restart) takes the runs a dead process leased without waiting for their
// leases to expire; ClaimRuns waits them out.
func TestClaimLeftRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"terminate"`, 1))
	reg := node.NewRegistry()
	ok := funcExec(func(context.Context, *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{}}, nil
	})
	reg.Register("WEBHOOK", ok)
	reg.Register("UPSERT_ENTITY", ok)
	dead := engine.New(engine.Options{Store: st, Nodes: reg, LeaseOwner: "proc-dead"})
	run, err := dead.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	next := engine.New(engine.Options{Store: st, Nodes: reg, LeaseOwner: "proc-next"})
	if ids, err := next.ClaimRuns(ctx, 0); err != nil || len(ids) != 0 {
		t.Fatalf("ClaimRuns under a live lease = %v, %v; want none", ids, err)
	}
	ids, err := next.ClaimLeftRuns(ctx, 0)
	if err != nil || len(ids) != 1 || ids[0] != run.Identifier {
		t.Fatalf("ClaimLeftRuns = %v, %v; want [%s]", ids, err, run.Identifier)
	}
	if got, err := next.Execute(ctx, run.Identifier); err != nil || got.Status != store.StatusCompleted {
		t.Fatalf("Execute after ClaimLeftRuns = %+v, %v", got, err)
	}
}

// TestHeartbeatAfterRunFinished: a run that finishes while a process holds
// its lease (another process cancelled it, or the driver's own last
// commit, which drops the lease row) is no lease lost to another process:
// the heartbeat stops the driver's node at once but logs no takeover.
func TestHeartbeatAfterRunFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"terminate"`, 1))
	started := make(chan struct{})
	reg := node.NewRegistry()
	reg.Register("WEBHOOK", funcExec(func(c context.Context, _ *node.Request) (node.Result, error) {
		close(started)
		<-c.Done() // a slow call, stopped by its context
		return node.Result{}, c.Err()
	}))
	reg.Register("UPSERT_ENTITY", funcExec(func(context.Context, *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{}}, nil
	}))
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := engine.New(engine.Options{Store: st, Nodes: reg, LeaseOwner: "proc-a", Logger: logger})
	run, err := a.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		if _, err := a.Execute(ctx, run.Identifier); err != nil {
			t.Errorf("Execute: %v", err)
		}
		close(done)
	}()
	<-started
	// Another process cancels the run.
	now := time.Now()
	if err := st.Apply(ctx, store.Transition{RunID: run.Identifier, Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Heartbeat(ctx); err != nil || n != 0 {
		t.Fatalf("heartbeat after the run finished renewed %d (%v), want 0", n, err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the heartbeat did not stop the driver of a finished run")
	}
	if r, err := st.GetRun(ctx, run.Identifier); err != nil || r.Result != store.ResultCancelled {
		t.Errorf("the run after its driver stopped = %+v, %v; want CANCELLED", r, err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "lost the lease") {
		t.Errorf("a finished run was logged as taken over:\n%s", logs.String())
	}
}

// writerFunc is an io.Writer from a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
