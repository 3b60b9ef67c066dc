package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// seedRuns writes n completed runs of 3 node runs with 2 log lines each,
// completed at base+i ms.
func seedRuns(b *testing.B, s *Store, n int, base time.Time) {
	b.Helper()
	ctx := b.Context()
	for i := range n {
		at := base.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprintf("wfr_%06d", i)
		r := store.Run{Identifier: id, WorkflowID: "wf", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: at, UpdatedAt: at}
		if err := s.CreateRun(ctx, r, first, nil); err != nil {
			b.Fatal(err)
		}
		prev := first.Identifier
		for seq := 1; seq <= 3; seq++ {
			nr := store.NodeRun{Identifier: fmt.Sprintf("%s_%d", id, seq), RunID: id, NodeID: fmt.Sprint("n", seq), Seq: seq, Status: store.StatusInProgress, CreatedAt: at, UpdatedAt: at}
			tr := store.Transition{RunID: id, Complete: &store.NodeRunCompletion{NodeRunID: prev, Result: store.ResultSuccess, CompletedAt: at},
				Start: &nr, Logs: []store.Log{{NodeRunID: nr.Identifier, Level: "INFO", Message: redact.TrustedText("line one"), CreatedAt: at}, {NodeRunID: nr.Identifier, Level: "INFO", Message: redact.TrustedText("line two"), CreatedAt: at}}}
			if seq == 3 {
				tr.Finish = &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at}
			}
			if err := s.Apply(ctx, tr); err != nil {
				b.Fatal(err)
			}
			prev = nr.Identifier
		}
	}
}

// BenchmarkDeleteRunsBefore measures one retention batch of 100 runs
// (each with 4 node runs and 6 log lines), next to the baseline of
// writing those 100 runs.
func BenchmarkDeleteRunsBefore(b *testing.B) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "sluice.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("write100(baseline)", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			seedRuns(b, s, 100, base.Add(time.Duration(i)*time.Hour))
			b.StopTimer()
			if _, err := s.DeleteRunsBefore(b.Context(), base.Add(1000*time.Hour), 1000); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("delete100", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			seedRuns(b, s, 100, base)
			b.StartTimer()
			n, err := s.DeleteRunsBefore(b.Context(), base.Add(time.Hour), 100)
			if err != nil || n != 100 {
				b.Fatalf("deleted %d, %v", n, err)
			}
		}
	})
}

// BenchmarkBackup measures sluice backup of a store of 2,000 runs.
func BenchmarkBackup(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "sluice.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seedRuns(b, s, 2000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		if err := s.Backup(b.Context(), filepath.Join(dir, fmt.Sprintf("b%d.db", i))); err != nil {
			b.Fatal(err)
		}
	}
}
