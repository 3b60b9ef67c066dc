package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// holdLock opens a connection of its own to the database file at path (as
// another process would) and takes the write lock with BEGIN EXCLUSIVE. The
// returned function releases it; it is also released when the test ends.
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
			if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
				t.Errorf("ROLLBACK: %v", err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// TestLockedStoreIsUnavailable holds the write lock from another connection
// for longer than the store's busy timeout: every write fails with an error
// that matches store.ErrUnavailable and keeps SQLite's message, nothing is
// applied, and once the lock is released the same writes succeed.
func TestLockedStoreIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	s, err := Open(context.Background(), path, Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	run, first := gcRun("wfr_a")
	must(t, s.CreateRun(ctx, run, first, nil))
	started := store.NodeRun{Identifier: "wfr_a_1", NodeID: "next", Seq: 1, Attempts: 1}
	must(t, s.Apply(ctx, store.Transition{RunID: "wfr_a", Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_0", Result: store.ResultSuccess}, Start: &started}))
	_, err = s.CreateWorkflow(ctx, store.Workflow{Identifier: "wf", Definition: []byte(`{}`)})
	must(t, err)

	writes := []struct {
		name string
		call func() error
	}{
		{"CreateRun", func() error { r, f := gcRun("wfr_b"); return s.CreateRun(ctx, r, f, nil) }},
		{"Apply", func() error {
			return s.Apply(ctx, store.Transition{RunID: "wfr_a", Logs: []store.Log{{NodeRunID: "wfr_a_1", Level: "INFO", Message: redact.TrustedText("x")}}})
		}},
		{"AppendLogs", func() error {
			return s.AppendLogs(ctx, []store.Log{{NodeRunID: "wfr_a_1", Level: "INFO", Message: redact.TrustedText("x")}})
		}},
		{"BeginAttempt", func() error { _, err := s.BeginAttempt(ctx, "wfr_a_1"); return err }},
		{"CreateWorkflow", func() error {
			_, err := s.CreateWorkflow(ctx, store.Workflow{Identifier: "wf2", Definition: []byte(`{}`)})
			return err
		}},
		{"UpdateWorkflow", func() error {
			_, err := s.UpdateWorkflow(ctx, store.Workflow{Identifier: "wf", Definition: []byte(`{}`)})
			return err
		}},
		{"DeleteWorkflow", func() error { return s.DeleteWorkflow(ctx, "wf") }},
		{"CreateSecret", func() error {
			return s.CreateSecret(ctx, store.Secret{Name: "S", KeyID: "k", KeyFingerprint: []byte("fp"), Ciphertext: []byte{1}}, store.AuditEvent{Action: "secret.create", Secret: "S"})
		}},
		{"AddAudit", func() error { return s.AddAudit(ctx, []store.AuditEvent{{Action: "secret.resolve", Secret: "S"}}) }},
		{"CreateUser", func() error {
			return s.CreateUser(ctx, store.User{ID: "usr_1", Email: "a@example.com", Role: store.RoleMember})
		}},
		{"CreateClient", func() error { return s.CreateClient(ctx, store.Client{ID: "cl_1", SecretHash: []byte{1}}) }},
		{"DeleteExpiredTokens", func() error { _, err := s.DeleteExpiredTokens(ctx, time.Now()); return err }},
	}

	release := holdLock(t, path)
	for _, w := range writes {
		err := w.call()
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Errorf("%s while another connection holds the lock = %v, want an error matching ErrUnavailable that keeps SQLite's message", w.name, err)
		}
	}
	// Reads go on under WAL; what was refused is not there.
	nr, err := s.GetNodeRun(ctx, "wfr_a_1")
	must(t, err)
	if nr.Attempts != 1 {
		t.Errorf("attempts after a refused BeginAttempt = %d, want 1", nr.Attempts)
	}
	if _, err := s.GetRun(ctx, "wfr_b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun of the refused CreateRun = %v, want ErrNotFound", err)
	}

	release()
	for _, w := range writes {
		if err := w.call(); err != nil {
			t.Errorf("%s after the lock was released: %v", w.name, err)
		}
	}
}

// TestGroupCommitDiskFullFailsEveryMember makes a batch of several writes
// fail at COMMIT time with a real SQLITE_FULL (the database may not grow
// past its current size): every caller of the batch gets an error matching
// store.ErrUnavailable, and nothing of the batch is written.
func TestGroupCommitDiskFullFailsEveryMember(t *testing.T) {
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
		var pages int64
		if err := tx.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO node_run_logs (node_run_id, level, message, created_at) VALUES ('wfr_1_0', 'INFO', ?, 0)`, strings.Repeat("x", 1<<20))
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
	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = 4294967294`); err != nil {
		t.Fatal(err)
	}

	if got, want := b.got(), []int{1, n}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch sizes = %v, want %v", got, want)
	}
	for i, err := range errs {
		runID := fmt.Sprintf("wfr_%d", i+1)
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "disk is full") {
			t.Errorf("%s: Apply in a batch that hit a full disk = %v, want an error matching ErrUnavailable", runID, err)
		}
		nrs, err := s.NodeRuns(ctx, runID)
		must(t, err)
		if len(nrs) != 1 || nrs[0].Status != store.StatusInProgress {
			t.Errorf("%s: node runs after the failed batch: %+v, want only the IN_PROGRESS trigger", runID, nrs)
		}
	}
	s.hooks = testHooks{}
	for i := range n {
		must(t, s.Apply(ctx, gcStep(fmt.Sprintf("wfr_%d", i+1), "step")))
	}
}
