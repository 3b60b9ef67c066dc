package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
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
			s := open(b, Options{})
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
	t := now.UnixNano()
	for _, q := range []string{
		`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?1)
		INSERT INTO runs (identifier, workflow_id, workflow_version, status, created_by, trigger_node, created_at, updated_at)
		SELECT printf('wfr_%09d', i), 'deploy', 1, 'IN_PROGRESS', 'ann', 'trigger', ?2, ?2 FROM g`,
		`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, result, created_at, updated_at, completed_at)
		SELECT identifier || '_0', identifier, 'trigger', 0, 'COMPLETED', 'SUCCESS', ?2, ?2, ?2 FROM runs`,
		`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, waiting, created_at, updated_at)
		SELECT identifier || '_1', identifier, 'publish', 1, 'IN_PROGRESS', identifier <= printf('wfr_%09d', ?1 - ?3), ?2, ?2 FROM runs`,
		`INSERT INTO run_leases (run_id, owner, expires_at)
		SELECT identifier, 'proc-a', ?4 FROM runs WHERE identifier > printf('wfr_%09d', ?1 - ?3)`,
		`ANALYZE`,
		// The seed's pages leave the WAL, as they would have long ago on
		// a store that holds this many runs.
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	} {
		if _, err := s.w.ExecContext(ctx, q, n, t, claimLive, now.Add(time.Hour).UnixNano()); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
}

// BenchmarkApplyTrigger is BenchmarkApply's step (synchronous NORMAL) with
// and without the trigger of migration 0017 (dropped for the baseline,
// same run): what the marker costs a step that completes a node run that
// did not wait (its WHEN is false).
func BenchmarkApplyTrigger(b *testing.B) {
	for _, with := range []bool{true, false} {
		b.Run(fmt.Sprintf("trigger=%v", with), func(b *testing.B) {
			s := open(b, Options{Synchronous: SyncNormal})
			defer s.Close()
			ctx := context.Background()
			if !with {
				if _, err := s.w.ExecContext(ctx, `DROP TRIGGER node_runs_needs_driver`); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			run := store.Run{Identifier: "wfr_bench", WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
			first := store.NodeRun{Identifier: "wfnr_0", RunID: run.Identifier, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
			if err := s.CreateRun(ctx, run, first, nil); err != nil {
				b.Fatal(err)
			}
			out := redact.Reload([]byte(`{"status":200,"response":{"data":{"ok":true,"id":"abc123"}}}`))
			cur := first.Identifier
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				next := store.NodeRun{Identifier: fmt.Sprintf("wfnr_%d", i), NodeID: "webhook", Seq: i, Status: store.StatusInProgress, CreatedAt: now}
				err := s.Apply(ctx, store.Transition{
					RunID:    run.Identifier,
					Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: out, CompletedAt: now},
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

// BenchmarkClaimSome is a claim tick that finds work: beside n waiting runs
// (as in BenchmarkClaimWaiting), 10 runs that need a driver (released by a
// driver that gave up); each iteration claims the 10 and releases them
// again, so the next finds them too.
func BenchmarkClaimSome(b *testing.B) {
	for _, n := range claimSizes {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			s := open(b, Options{})
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
