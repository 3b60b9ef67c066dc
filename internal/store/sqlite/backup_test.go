package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// writeRun creates a run with its trigger node run and a log line, then
// completes it: three commits, as the engine makes them.
func writeRun(ctx context.Context, s *Store, id string) error {
	now := time.Now()
	r := store.Run{Identifier: id, WorkflowID: "wf", WorkflowVersion: 1, Status: store.StatusInProgress,
		CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now, UpdatedAt: now}
	nr := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateRun(ctx, r, nr, nil); err != nil {
		return err
	}
	if err := s.AppendLogs(ctx, []store.Log{{NodeRunID: nr.Identifier, Level: "INFO", Message: redact.TrustedText("hello from " + id)}}); err != nil {
		return err
	}
	return s.Apply(ctx, store.Transition{RunID: id,
		Complete: &store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultSuccess},
		Finish:   &store.RunCompletion{Result: store.ResultSuccess}})
}

// TestBackupWhileWriting takes a backup while goroutines commit runs, then
// opens the copy with this store and checks that it passes SQLite's
// integrity check and holds every run committed before the backup began,
// each one whole (a run in the copy has its node run, its log line, and
// is either completed or in progress as it was at some commit).
func TestBackupWhileWriting(t *testing.T) {
	ctx := t.Context()
	s := open(t, Options{})
	const writers = 4
	var (
		mu        sync.Mutex
		committed = map[string]bool{} // runs whose three commits returned
		stop      atomic.Bool
		wg        sync.WaitGroup
		errs      = make(chan error, writers)
		count     atomic.Int64
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("wfr_w%d_%d", w, i)
				if err := writeRun(ctx, s, id); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				committed[id] = true
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	// Let the writers get going, then back up while they run.
	for count.Load() < 200 {
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	mu.Lock()
	before := make([]string, 0, len(committed))
	for id := range committed {
		before = append(before, id)
	}
	mu.Unlock()
	dst := filepath.Join(t.TempDir(), "copy.db")
	err := s.Backup(ctx, dst)
	afterBackup := count.Load()
	// Keep writing a little after the backup, then stop.
	for count.Load() < afterBackup+50 {
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if fi, err := os.Stat(dst); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode = %v, want 0600 (it holds sealed secrets and token hashes)", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".copy.db.partial-*")); len(left) != 0 {
		t.Errorf("temporary files left beside the backup: %v", left)
	}

	copyStore, err := Open(ctx, dst, Options{})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer copyStore.Close()
	var check string
	if err := copyStore.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	if check != "ok" {
		t.Fatalf("integrity_check of the copy = %q", check)
	}
	var fk int
	if err := copyStore.r.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 0 {
		t.Errorf("foreign_key_check of the copy: %d violations", fk)
	}
	for _, id := range before {
		r, err := copyStore.GetRun(ctx, id)
		if err != nil {
			t.Fatalf("run %s committed before the backup began is not in the copy: %v", id, err)
		}
		if r.Status != store.StatusCompleted {
			t.Errorf("run %s: status %s in the copy, want COMPLETED (committed before the backup)", id, r.Status)
		}
	}
	// Every run in the copy is whole: its node run and log line are there.
	runs, total, err := copyStore.ListRuns(ctx, store.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if total < len(before) {
		t.Errorf("the copy holds %d runs, want at least the %d committed before the backup", total, len(before))
	}
	for _, r := range runs {
		nrs, err := copyStore.NodeRuns(ctx, r.Identifier)
		if err != nil || len(nrs) != 1 {
			t.Fatalf("run %s in the copy: node runs %v, %v", r.Identifier, nrs, err)
		}
		if (nrs[0].Status == store.StatusCompleted) != (r.Status == store.StatusCompleted) {
			t.Errorf("run %s in the copy is %s with its node run %s: not a committed state", r.Identifier, r.Status, nrs[0].Status)
		}
	}
	t.Logf("backup of %d runs committed before it (the copy holds %d; %d written in all)", len(before), total, count.Load())
}

// TestBackupRefusesExisting checks that a backup never replaces a file,
// even an empty one, and leaves it as it was.
func TestBackupRefusesExisting(t *testing.T) {
	s := open(t, Options{})
	for _, content := range []string{"", "precious"} {
		dst := filepath.Join(t.TempDir(), "there.db")
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		err := s.Backup(t.Context(), dst)
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("Backup over a file holding %q: error = %v, want ErrExists", content, err)
		}
		if b, _ := os.ReadFile(dst); string(b) != content {
			t.Errorf("the existing file now holds %q, want %q", b, content)
		}
	}
	err := s.Backup(t.Context(), filepath.Join(t.TempDir(), "missing-dir", "x.db"))
	if err == nil {
		t.Error("Backup into a missing directory succeeded")
	}
}
