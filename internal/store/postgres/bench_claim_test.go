package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// claimSizes are the numbers of unfinished runs BenchmarkClaimWaiting looks
// over: 0 is the baseline (empty tables, same run), the others have all but
// claimLive runs waiting on the outside.
var claimSizes = []int{0, 10_000, 100_000}

// claimLive is how many of the unfinished runs do not wait: they are being
// driven (a live lease), so that no look claims anything and every
// iteration sees the same tables.
const claimLive = 5

// BenchmarkClaimWaiting is one claim tick (ClaimRuns, limit 100) of a
// process over n unfinished runs of which all but claimLive wait for a
// completion from outside (docs/performance.md, "The claim tick").
func BenchmarkClaimWaiting(b *testing.B) {
	for _, n := range claimSizes {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			s := open(b)
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			seedWaiting(b, s, n, now)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ids, err := s.ClaimRuns(ctx, store.Lease{Owner: "proc-b", Until: now.Add(time.Minute)}, now, 100)
				if err != nil || len(ids) != 0 {
					b.Fatal(ids, err)
				}
			}
		})
	}
}

// seedWaiting inserts n IN_PROGRESS runs, each with its trigger's node run
// completed and a second node run IN_PROGRESS, waiting on the outside for
// all but the last claimLive runs, which are leased live to proc-a.
func seedWaiting(b *testing.B, s *Store, n int, now time.Time) {
	b.Helper()
	if n == 0 {
		return
	}
	ctx := context.Background()
	last := fmt.Sprintf("wfr_%09d", n-claimLive) // the last run that waits
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO runs (identifier, workflow_id, workflow_version, status, created_by, trigger_node, created_at, updated_at)
		SELECT 'wfr_' || lpad(g::text, 9, '0'), 'deploy', 1, 'IN_PROGRESS', 'ann', 'trigger', $2, $2 FROM generate_series(1, $1::int) g`, []any{n, now}},
		{`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, result, created_at, updated_at, completed_at)
		SELECT identifier || '_0', identifier, 'trigger', 0, 'COMPLETED', 'SUCCESS', $1, $1, $1 FROM runs`, []any{now}},
		{`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, waiting, created_at, updated_at)
		SELECT identifier || '_1', identifier, 'publish', 1, 'IN_PROGRESS', identifier <= $2, $1, $1 FROM runs`, []any{now, last}},
		{`INSERT INTO run_leases (run_id, owner, expires_at) SELECT identifier, 'proc-a', $1 FROM runs WHERE identifier > $2`, []any{now.Add(time.Hour), last}},
	} {
		if _, err := s.pool.Exec(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, q.sql)
		}
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkApplyTrigger is BenchmarkApply's step with and without the
// trigger of migration 0013 (dropped for the baseline, same run): what
// the marker costs a step that completes a node run that did not wait
// (its WHEN is false).
func BenchmarkApplyTrigger(b *testing.B) {
	for _, with := range []bool{true, false} {
		b.Run(fmt.Sprintf("trigger=%v", with), func(b *testing.B) {
			s := open(b)
			defer s.Close()
			ctx := context.Background()
			if !with {
				if _, err := s.pool.Exec(ctx, `DROP TRIGGER node_runs_needs_driver ON node_runs`); err != nil {
					b.Fatal(err)
				}
			}
			benchRun(b, s, "wfr_bench")
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
		})
	}
}

// BenchmarkClaimSome is a claim tick that finds work: beside n waiting runs
// (as in BenchmarkClaimWaiting), 10 runs that need a driver (released by a
// driver that gave up); each iteration claims the 10 and releases them
// again, so the next finds them too.
func BenchmarkClaimSome(b *testing.B) {
	for _, n := range claimSizes {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			s := open(b)
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			seedWaiting(b, s, n, now)
			var drivable []string
			for i := range 10 {
				id := fmt.Sprintf("wfr_x%02d", i)
				run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
				first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
				if err := s.CreateRunLeased(ctx, run, first, nil, store.Lease{Owner: "proc-a", Until: now.Add(time.Minute)}); err != nil {
					b.Fatal(err)
				}
				drivable = append(drivable, id)
			}
			if err := s.ReleaseLeases(ctx, "proc-a", drivable); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ids, err := s.ClaimRuns(ctx, store.Lease{Owner: "proc-b", Until: now.Add(time.Minute)}, now, 100)
				if err != nil || len(ids) != len(drivable) {
					b.Fatal(ids, err)
				}
				if err := s.ReleaseLeases(ctx, "proc-b", ids); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
