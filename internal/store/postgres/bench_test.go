package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// The benchmarks mirror the SQLite store's (internal/store/sqlite's
// bench_test.go) and run against the server of SLUICE_TEST_DATABASE_URL
// (make bench-postgres starts one). Each has a baseline measured in the
// same run on the same server and schema:
//
//   - BenchmarkRawInsert: one single-row INSERT committed on its own with
//     raw pgx, the cheapest commit there is;
//   - BenchmarkRawStep: the same rows a step writes (complete a node run,
//     insert the next, insert a log line) in one raw pgx.Batch without any
//     of the store's checks, locks or error mapping.
//
// Compare BenchmarkApply with both: Apply/RawStep is what the store adds
// to the writes themselves.

var (
	benchOut   = redact.Reload([]byte(`{"status":200,"response":{"data":{"ok":true,"id":"abc123"}}}`))
	benchLinks = []redact.Text{redact.TrustedText("https://example.test/job/1")}
	benchMsg   = redact.TrustedText("POST https://example.test/hook responded 200")
)

// benchRun creates run id with its trigger node run id+"_0".
func benchRun(b *testing.B, s *Store, id string) {
	b.Helper()
	now := time.Now()
	run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
	first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
	if err := s.CreateRun(context.Background(), run, first, nil); err != nil {
		b.Fatal(err)
	}
}

// step is BenchmarkApply's transition: complete cur (with an output and a
// link), one log line, start node run i.
func step(runID, cur string, i int, now time.Time) store.Transition {
	next := store.NodeRun{Identifier: fmt.Sprintf("%s_%d", runID, i), NodeID: "webhook", Seq: i, Status: store.StatusInProgress, CreatedAt: now}
	return store.Transition{
		RunID:    runID,
		Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: benchOut, Links: benchLinks, CompletedAt: now},
		Logs:     []store.Log{{NodeRunID: cur, Level: "INFO", Message: benchMsg, CreatedAt: now}},
		Start:    &next,
	}
}

// BenchmarkApply measures one engine step committed as one transaction (one
// round trip).
func BenchmarkApply(b *testing.B) {
	s := open(b)
	defer s.Close()
	benchRun(b, s, "wfr_bench")
	ctx := context.Background()
	now := time.Now()
	cur := "wfr_bench_0"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		if err := s.Apply(ctx, step("wfr_bench", cur, i, now)); err != nil {
			b.Fatal(err)
		}
		cur = fmt.Sprintf("wfr_bench_%d", i)
	}
}

// BenchmarkApplyAudit is BenchmarkApply's step with one audit event.
func BenchmarkApplyAudit(b *testing.B) {
	s := open(b)
	defer s.Close()
	benchRun(b, s, "wfr_bench")
	ctx := context.Background()
	now := time.Now()
	cur := "wfr_bench_0"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		tr := step("wfr_bench", cur, i, now)
		tr.Audit = []store.AuditEvent{{Action: "secret.resolve", Actor: "engine", Secret: "GITHUB_TOKEN", RunID: "wfr_bench", NodeRunID: cur, CreatedAt: now}}
		if err := s.Apply(ctx, tr); err != nil {
			b.Fatal(err)
		}
		cur = fmt.Sprintf("wfr_bench_%d", i)
	}
}

// BenchmarkRawInsert is the first baseline: a single-row INSERT committed on
// its own, with raw pgx on the store's pool.
func BenchmarkRawInsert(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.pool.Exec(ctx, `INSERT INTO t (v) VALUES ($1)`, benchMsg.String()); err != nil {
			b.Fatal(err)
		}
	}
}

// rawStep queues the rows of one step with no check: the completion of
// cur, the insert of node run i and one log line.
func rawStep(bt *pgx.Batch, runID, cur string, i int, now time.Time) {
	bt.Queue(`UPDATE node_runs SET status = 'COMPLETED', result = $1, output = $2, links = $3, completed_at = $4, updated_at = $4
		WHERE identifier = $5`, store.ResultSuccess, benchOut.Bytes(), []string{benchLinks[0].String()}, now, cur)
	bt.Queue(`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, created_at, updated_at, attempts)
		VALUES ($1, $2, 'webhook', $3, 'IN_PROGRESS', $4, $4, 0)`, fmt.Sprintf("%s_%d", runID, i), runID, i, now)
	bt.Queue(`INSERT INTO node_run_logs (node_run_id, level, message, created_at) VALUES ($1, 'INFO', $2, $3)`, cur, benchMsg.String(), now)
}

// BenchmarkRawStep is the second baseline: the rows of BenchmarkApply's
// step, written in one raw pgx.Batch (one round trip, one implicit
// transaction) with no check, lock or error mapping.
func BenchmarkRawStep(b *testing.B) {
	s := open(b)
	defer s.Close()
	benchRun(b, s, "wfr_bench")
	ctx := context.Background()
	now := time.Now()
	cur := "wfr_bench_0"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		var bt pgx.Batch
		rawStep(&bt, "wfr_bench", cur, i, now)
		if err := s.pool.SendBatch(ctx, &bt).Close(); err != nil {
			b.Fatal(err)
		}
		cur = fmt.Sprintf("wfr_bench_%d", i)
	}
}

// benchParallelism is how many goroutines per GOMAXPROCS the parallel
// benchmarks run, as in the SQLite store's: a server drives many runs at
// once, one goroutine each. The pool has pgxpool's default size,
// max(4, GOMAXPROCS) connections.
const benchParallelism = 8

// BenchmarkApplyParallel is BenchmarkApply's step made by many runs at once,
// each driven by its own goroutine. ns/op is the cost of one Apply in
// throughput terms.
func BenchmarkApplyParallel(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	var runs atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("wfr_bench%d", runs.Add(1))
		benchRun(b, s, id)
		cur := id + "_0"
		for i := 1; pb.Next(); i++ {
			if err := s.Apply(ctx, step(id, cur, i, now)); err != nil {
				b.Error(err)
				return
			}
			cur = fmt.Sprintf("%s_%d", id, i)
		}
	})
}

// BenchmarkRawStepParallel is the baseline of BenchmarkApplyParallel: the
// same goroutines each write their steps' rows with raw pgx batches.
func BenchmarkRawStepParallel(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	var runs atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("wfr_bench%d", runs.Add(1))
		benchRun(b, s, id)
		cur := id + "_0"
		for i := 1; pb.Next(); i++ {
			var bt pgx.Batch
			rawStep(&bt, id, cur, i, now)
			if err := s.pool.SendBatch(ctx, &bt).Close(); err != nil {
				b.Error(err)
				return
			}
			cur = fmt.Sprintf("%s_%d", id, i)
		}
	})
}

// BenchmarkRawInsertParallel is the naive baseline of
// BenchmarkApplyParallel: the same goroutines each commit a single-row
// INSERT on its own.
func BenchmarkRawInsertParallel(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.pool.Exec(ctx, `INSERT INTO t (v) VALUES ($1)`, benchMsg.String()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
