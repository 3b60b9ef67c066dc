package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// gcRun returns an IN_PROGRESS run and its trigger node run (id+"_0").
func gcRun(id string) (store.Run, store.NodeRun) {
	now := time.Now()
	r := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
	return r, store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", CreatedAt: now}
}

// gcStep returns the transition that completes run id's trigger, logs msg
// on it and starts node run id+"_1".
func gcStep(id, msg string) store.Transition {
	return store.Transition{
		RunID:    id,
		Complete: &store.NodeRunCompletion{NodeRunID: id + "_0", Result: store.ResultSuccess, Output: redact.Reload([]byte(`{"ok":true}`))},
		Logs:     []store.Log{{NodeRunID: id + "_0", Level: "INFO", Message: redact.TrustedText(msg)}},
		Start:    &store.NodeRun{Identifier: id + "_1", NodeID: "next", Seq: 1},
	}
}

// batches records the size of every batch that reaches COMMIT and holds
// the first one until release is closed.
type batches struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	held    chan struct{} // closed when the first commit is held
	// inject, when set, runs in every batch after the first, before COMMIT.
	inject func(ctx context.Context, tx *sql.Tx) error
}

// install sets the hooks of s: the first commit closes b.held and waits for
// b.release, and queued is closed once want writes wait behind it.
func (b *batches) install(s *Store, want int) (queued <-chan struct{}) {
	b.release = make(chan struct{})
	b.held = make(chan struct{})
	q := make(chan struct{})
	var once sync.Once
	s.hooks.enqueued = func(n int) {
		if n >= want {
			once.Do(func() { close(q) })
		}
	}
	s.hooks.beforeCommit = func(ctx context.Context, tx *sql.Tx, size int) error {
		b.mu.Lock()
		b.sizes = append(b.sizes, size)
		first := len(b.sizes) == 1
		b.mu.Unlock()
		if first {
			close(b.held)
			<-b.release
			return nil
		}
		if b.inject != nil {
			return b.inject(ctx, tx)
		}
		return nil
	}
	return q
}

func (b *batches) got() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.sizes...)
}

// TestGroupCommitOwnResults applies many transitions at once, a quarter of
// which fail in different ways, and checks that every caller gets exactly
// its own result, that nothing of a failed transition is written and that
// everything of a successful one is. The first commit is held until all the
// others are queued, so they are batched deterministically (and more than
// maxBatch of them, so the bound is used).
func TestGroupCommitOwnResults(t *testing.T) {
	const n = 100
	s := open(t, Options{})
	defer s.Close()
	ctx := t.Context()

	type kind int
	const (
		good kind = iota
		conflict
		exists
		missing
	)
	kindOf := func(i int) kind { return kind(i % 4) }
	wants := map[kind]error{good: nil, conflict: store.ErrConflict, exists: store.ErrExists, missing: store.ErrNotFound}
	id := func(i int) string { return fmt.Sprintf("wfr_%03d", i) }

	lead, leadFirst := gcRun("wfr_lead")
	must(t, s.CreateRun(ctx, lead, leadFirst, nil))
	for i := range n {
		r, first := gcRun(id(i))
		switch kindOf(i) {
		case missing:
			continue
		case conflict:
			// A run that a cancel already finished.
			r.Status, r.Result = store.StatusCompleted, store.ResultCancelled
		}
		must(t, s.CreateRun(ctx, r, first, nil))
	}

	var b batches
	queued := b.install(s, n)
	leadErr := make(chan error, 1)
	go func() { leadErr <- s.Apply(ctx, gcStep(lead.Identifier, "lead")) }()
	<-b.held

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		tr := gcStep(id(i), "step of "+id(i))
		if kindOf(i) == exists {
			// Complete applies first, then Start fails: the savepoint
			// must undo the completion too.
			tr.Start.Identifier = leadFirst.Identifier
		}
		wg.Go(func() { errs[i] = s.Apply(ctx, tr) })
	}
	<-queued
	close(b.release)
	wg.Wait()
	must(t, <-leadErr)

	if got, want := b.got(), []int{1, maxBatch, n - maxBatch}; !reflect.DeepEqual(got, want) {
		t.Errorf("batch sizes = %v, want %v", got, want)
	}
	for i := range n {
		k := kindOf(i)
		if want := wants[k]; want == nil && errs[i] != nil || want != nil && !errors.Is(errs[i], want) {
			t.Errorf("%s: Apply = %v, want %v", id(i), errs[i], want)
		}
		if k == missing {
			continue
		}
		nrs, err := s.NodeRuns(ctx, id(i))
		must(t, err)
		logs, err := s.Logs(ctx, id(i)+"_0")
		must(t, err)
		if k == good {
			if len(nrs) != 2 || nrs[0].Status != store.StatusCompleted || nrs[1].Identifier != id(i)+"_1" || len(logs) != 1 || logs[0].Message.String() != "step of "+id(i) {
				t.Errorf("%s: after a successful Apply: node runs %+v, logs %+v", id(i), nrs, logs)
			}
			continue
		}
		if len(nrs) != 1 || nrs[0].Status != store.StatusInProgress || len(logs) != 0 {
			t.Errorf("%s: after a failed Apply: node runs %+v, logs %+v; want only the IN_PROGRESS trigger, no logs", id(i), nrs, logs)
		}
	}
	if nrs, err := s.NodeRuns(ctx, "wfr_missing"); err != nil || len(nrs) != 0 {
		t.Errorf("node runs of a missing run: %v, %v", nrs, err)
	}
}

// TestGroupCommitFailingCommit makes the COMMIT of a batch fail for real (a
// deferred foreign key violation, which SQLite checks at COMMIT) and checks
// that every write of that batch fails with the commit's error, that none of
// them is written, and that the store works afterwards.
func TestGroupCommitFailingCommit(t *testing.T) {
	const n = 8
	s := open(t, Options{})
	defer s.Close()
	ctx := t.Context()
	for i := range n + 1 {
		r, first := gcRun(fmt.Sprintf("wfr_%d", i))
		must(t, s.CreateRun(ctx, r, first, nil))
	}

	var b batches
	queued := b.install(s, n)
	b.inject = func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO node_run_logs (node_run_id, level, message, created_at) VALUES ('wfnr_none', 'INFO', '', 0)`)
		return err
	}
	leadErr := make(chan error, 1)
	go func() { leadErr <- s.Apply(ctx, gcStep("wfr_0", "lead")) }()
	<-b.held
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Apply(ctx, gcStep(fmt.Sprintf("wfr_%d", i+1), "step")) })
	}
	<-queued
	close(b.release)
	wg.Wait()
	must(t, <-leadErr)

	if got, want := b.got(), []int{1, n}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch sizes = %v, want %v", got, want)
	}
	for i, err := range errs {
		runID := fmt.Sprintf("wfr_%d", i+1)
		if err == nil || !strings.Contains(err.Error(), "commit: ") || !strings.Contains(err.Error(), runID) {
			t.Errorf("%s: Apply in a batch whose commit failed = %v, want the commit's error naming the run", runID, err)
		}
		nrs, err := s.NodeRuns(ctx, runID)
		must(t, err)
		if len(nrs) != 1 || nrs[0].Status != store.StatusInProgress {
			t.Errorf("%s: node runs after a failed commit: %+v, want only the IN_PROGRESS trigger", runID, nrs)
		}
	}
	var orphans int
	must(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM node_run_logs WHERE node_run_id = 'wfnr_none'`).Scan(&orphans))
	if orphans != 0 {
		t.Errorf("%d rows of the failed commit were written", orphans)
	}

	// The connection is out of the failed transaction: the same writes
	// now commit.
	s.hooks = testHooks{}
	for i := range n {
		must(t, s.Apply(ctx, gcStep(fmt.Sprintf("wfr_%d", i+1), "step")))
	}
}

// TestGroupCommitCancelWhileQueued cancels a write that waits behind a
// commit: it returns the context's error, the writes around it commit and
// it is not applied.
func TestGroupCommitCancelWhileQueued(t *testing.T) {
	s := open(t, Options{})
	defer s.Close()
	ctx := t.Context()
	for _, id := range []string{"wfr_a", "wfr_b", "wfr_c"} {
		r, first := gcRun(id)
		must(t, s.CreateRun(ctx, r, first, nil))
	}

	var b batches
	queued := b.install(s, 1)
	leadErr := make(chan error, 1)
	go func() { leadErr <- s.Apply(ctx, gcStep("wfr_a", "lead")) }()
	<-b.held

	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- s.Apply(cctx, gcStep("wfr_b", "cancelled")) }()
	<-queued
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "wfr_b") {
		t.Errorf("Apply cancelled while queued = %v, want context.Canceled naming the run", err)
	}
	// A write queued after the cancelled one left commits normally.
	after := make(chan error, 1)
	go func() { after <- s.Apply(ctx, gcStep("wfr_c", "after")) }()
	close(b.release)
	must(t, <-leadErr)
	must(t, <-after)

	for id, want := range map[string]int{"wfr_a": 2, "wfr_b": 1, "wfr_c": 2} {
		nrs, err := s.NodeRuns(ctx, id)
		must(t, err)
		if len(nrs) != want {
			t.Errorf("%s: %d node runs, want %d", id, len(nrs), want)
		}
	}
	if err := s.Apply(cctx, gcStep("wfr_b", "cancelled")); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a done context = %v, want context.Canceled", err)
	}
}

// TestGroupCommitCloseDrains closes the store while writes wait behind a
// commit: Close waits for them to commit, writes that arrive meanwhile or
// later fail with ErrClosed, and no goroutine is left behind.
func TestGroupCommitCloseDrains(t *testing.T) {
	const n = 16
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "sluice.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	must(t, err)
	for i := range n + 1 {
		r, first := gcRun(fmt.Sprintf("wfr_%d", i))
		must(t, s.CreateRun(ctx, r, first, nil))
	}

	var b batches
	queued := b.install(s, n)
	leadErr := make(chan error, 1)
	go func() { leadErr <- s.Apply(ctx, gcStep("wfr_0", "lead")) }()
	<-b.held
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Apply(ctx, gcStep(fmt.Sprintf("wfr_%d", i+1), "step")) })
	}
	<-queued
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for !s.closing() {
		runtime.Gosched()
	}
	if err := s.Apply(ctx, gcStep("wfr_0", "late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply while closing = %v, want ErrClosed", err)
	}
	close(b.release)
	must(t, <-closed)
	wg.Wait()
	must(t, <-leadErr)
	for i, err := range errs {
		if err != nil {
			t.Errorf("wfr_%d: Apply queued before Close = %v, want it drained and committed", i+1, err)
		}
	}
	if err := s.Apply(ctx, gcStep("wfr_0", "late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}

	// Everything that was queued is on disk.
	s, err = Open(ctx, path, Options{})
	must(t, err)
	for i := range n + 1 {
		if nrs, err := s.NodeRuns(ctx, fmt.Sprintf("wfr_%d", i)); err != nil || len(nrs) != 2 {
			t.Errorf("wfr_%d after reopening: %d node runs (%v), want 2", i, len(nrs), err)
		}
	}
	must(t, s.Close())

	// The store starts no goroutine of its own; database/sql's end with
	// Close, asynchronously, so wait for them to go.
	for range 1000 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Errorf("%d goroutines after Close, %d before Open:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}

// closing reports whether Close began.
func (s *Store) closing() bool {
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	return s.gc.closed
}

// must fails the test now when err is not nil.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
