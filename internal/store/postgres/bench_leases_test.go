package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// The costs of run leases (docs/decisions/023-leases-and-takeover.md),
// beside BenchmarkCreateRunPlain, CreateRun measured in the same run.

func benchCreate(b *testing.B, leased bool) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("wfr_%09d", i)
		run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess, CreatedAt: now}
		var err error
		if leased {
			err = s.CreateRunLeased(ctx, run, first, nil, store.Lease{Owner: "proc-a", Until: now.Add(time.Minute)})
		} else {
			err = s.CreateRun(ctx, run, first, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateRunPlain is CreateRun: the baseline of CreateRunLeased.
func BenchmarkCreateRunPlain(b *testing.B) { benchCreate(b, false) }

// BenchmarkCreateRunLeased is CreateRun with the lease in the same batch.
func BenchmarkCreateRunLeased(b *testing.B) { benchCreate(b, true) }

// BenchmarkReleaseLease is the one DELETE that ends each drive.
func BenchmarkReleaseLease(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	for i := range b.N {
		benchRun(b, s, fmt.Sprintf("wfr_%09d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("wfr_%09d", i)
		if ok, err := s.AcquireLease(ctx, id, store.Lease{Owner: "proc-a", Until: time.Now().Add(time.Minute)}, time.Now()); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := s.ReleaseLeases(ctx, "proc-a", []string{id}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenew1000 is one heartbeat of a process that drives 1,000 runs.
func BenchmarkRenew1000(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("wfr_%09d", i)
		benchRun(b, s, ids[i])
		if ok, err := s.AcquireLease(ctx, ids[i], store.Lease{Owner: "proc-a", Until: time.Now().Add(time.Minute)}, time.Now()); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	b.ResetTimer()
	for range b.N {
		held, err := s.RenewLeases(ctx, "proc-a", ids, time.Now().Add(time.Minute))
		if err != nil || len(held) != len(ids) {
			b.Fatal(len(held), err)
		}
	}
}

// BenchmarkClaimNone10000 is one claim tick with 10,000 IN_PROGRESS runs,
// all leased (live): what every process pays every claim interval.
func BenchmarkClaimNone10000(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO runs (identifier, workflow_id, workflow_version, status, created_by, trigger_node, created_at, updated_at)
		SELECT 'wfr_' || lpad(g::text, 9, '0'), 'deploy', 1, 'IN_PROGRESS', 'ann', 'trigger', $1, $1 FROM generate_series(1, 10000) g`, now); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO run_leases (run_id, owner, expires_at) SELECT identifier, 'proc-a', $1 FROM runs`, now.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ids, err := s.ClaimRuns(ctx, store.Lease{Owner: "proc-b", Until: now.Add(time.Minute)}, now, 100)
		if err != nil || len(ids) != 0 {
			b.Fatal(ids, err)
		}
	}
}
