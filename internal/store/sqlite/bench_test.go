package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// syncLevels are the durability settings both benchmarks run at.
var syncLevels = []string{SyncNormal, SyncFull}

// BenchmarkApply measures one engine step: a transition that completes a
// node run (with an output and a link), appends one log line and starts the
// next node run, committed as one transaction. Compare it with
// BenchmarkRawInsert at the same level for our overhead over a bare commit.
func BenchmarkApply(b *testing.B) {
	for _, level := range syncLevels {
		b.Run(level, func(b *testing.B) {
			s := open(b, Options{Synchronous: level})
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			run := store.Run{Identifier: "wfr_bench", WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
			first := store.NodeRun{Identifier: "wfnr_0", RunID: run.Identifier, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
			if err := s.CreateRun(ctx, run, first, nil); err != nil {
				b.Fatal(err)
			}
			out := redact.Reload([]byte(`{"status":200,"response":{"data":{"ok":true,"id":"abc123"}}}`))
			links := []redact.Text{redact.TrustedText("https://example.test/job/1")}
			msg := redact.TrustedText("POST https://example.test/hook responded 200")
			cur := first.Identifier
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				next := store.NodeRun{Identifier: fmt.Sprintf("wfnr_%d", i), NodeID: "webhook", Seq: i, Status: store.StatusInProgress, CreatedAt: now}
				err := s.Apply(ctx, store.Transition{
					RunID:    run.Identifier,
					Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: out, Links: links, CompletedAt: now},
					Logs:     []store.Log{{NodeRunID: cur, Level: "INFO", Message: msg, CreatedAt: now}},
					Start:    &next,
				})
				if err != nil {
					b.Fatal(err)
				}
				cur = next.Identifier
			}
		})
	}
}

// BenchmarkApplyAudit is BenchmarkApply's step when the node resolved one
// secret: the same transition plus one audit event, in the same commit.
func BenchmarkApplyAudit(b *testing.B) {
	for _, level := range syncLevels {
		b.Run(level, func(b *testing.B) {
			s := open(b, Options{Synchronous: level})
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			run := store.Run{Identifier: "wfr_bench", WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
			first := store.NodeRun{Identifier: "wfnr_0", RunID: run.Identifier, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
			if err := s.CreateRun(ctx, run, first, nil); err != nil {
				b.Fatal(err)
			}
			out := redact.Reload([]byte(`{"status":200,"response":{"data":{"ok":true,"id":"abc123"}}}`))
			msg := redact.TrustedText("POST https://example.test/hook responded 200")
			cur := first.Identifier
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				next := store.NodeRun{Identifier: fmt.Sprintf("wfnr_%d", i), NodeID: "webhook", Seq: i, Status: store.StatusInProgress, CreatedAt: now}
				err := s.Apply(ctx, store.Transition{
					RunID:    run.Identifier,
					Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: out, CompletedAt: now},
					Logs:     []store.Log{{NodeRunID: cur, Level: "INFO", Message: msg, CreatedAt: now}},
					Start:    &next,
					Audit:    []store.AuditEvent{{Action: "secret.resolve", Actor: "engine", Secret: "GITHUB_TOKEN", RunID: run.Identifier, NodeRunID: cur, CreatedAt: now}},
				})
				if err != nil {
					b.Fatal(err)
				}
				cur = next.Identifier
			}
		})
	}
}

// BenchmarkRawInsert is the baseline: one single-row INSERT committed on
// its own, with plain database/sql, on the same kind of file (WAL, the same
// pragmas, one writer connection).
func BenchmarkRawInsert(b *testing.B) {
	for _, level := range syncLevels {
		b.Run(level, func(b *testing.B) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "raw.db"), level, DefaultBusyTimeout, false))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, "POST https://example.test/hook responded 200"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchParallelism is how many goroutines per GOMAXPROCS the parallel
// benchmarks run: a server drives many runs at once, one goroutine each.
const benchParallelism = 8

// BenchmarkApplyParallel is BenchmarkApply's step made by many runs at once,
// each driven by its own goroutine, so that their transitions are group
// committed. ns/op is the cost of one Apply in throughput terms (elapsed
// time over all the Applies of all the goroutines); writes/commit is how
// many transitions shared a commit on average.
func BenchmarkApplyParallel(b *testing.B) {
	for _, level := range syncLevels {
		b.Run(level, func(b *testing.B) {
			s := open(b, Options{Synchronous: level})
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			out := redact.Reload([]byte(`{"status":200,"response":{"data":{"ok":true,"id":"abc123"}}}`))
			links := []redact.Text{redact.TrustedText("https://example.test/job/1")}
			msg := redact.TrustedText("POST https://example.test/hook responded 200")
			var runs atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprintf("wfr_bench%d", runs.Add(1))
				run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
				first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
				if err := s.CreateRun(ctx, run, first, nil); err != nil {
					b.Error(err)
					return
				}
				cur := first.Identifier
				for i := 1; pb.Next(); i++ {
					next := store.NodeRun{Identifier: fmt.Sprintf("%s_%d", id, i), NodeID: "webhook", Seq: i, Status: store.StatusInProgress, CreatedAt: now}
					err := s.Apply(ctx, store.Transition{
						RunID:    id,
						Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: out, Links: links, CompletedAt: now},
						Logs:     []store.Log{{NodeRunID: cur, Level: "INFO", Message: msg, CreatedAt: now}},
						Start:    &next,
					})
					if err != nil {
						b.Error(err)
						return
					}
					cur = next.Identifier
				}
			})
			b.StopTimer()
			s.gc.mu.Lock()
			if s.gc.batches > 0 {
				b.ReportMetric(float64(s.gc.writes)/float64(s.gc.batches), "writes/commit")
			}
			s.gc.mu.Unlock()
		})
	}
}

// BenchmarkRawInsertParallel is the naive baseline for
// BenchmarkApplyParallel: the same goroutines each commit a single-row
// INSERT on its own through database/sql and one writer connection, with no
// group commit.
func BenchmarkRawInsertParallel(b *testing.B) {
	for _, level := range syncLevels {
		b.Run(level, func(b *testing.B) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "raw.db"), level, DefaultBusyTimeout, false))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, "POST https://example.test/hook responded 200"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
