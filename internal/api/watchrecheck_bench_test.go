package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// recheckRuns creates 1,000 IN_PROGRESS runs in a fresh PostgreSQL store,
// for the recheck benchmarks, and returns the store and its database URL.
func recheckRuns(b *testing.B) (*postgres.Store, string) {
	ctx := context.Background()
	url := pgtest.URL(b)
	st, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	now := time.Now().UTC()
	if _, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: "deploy", Definition: []byte(`{"identifier":"deploy","title":"deploy","nodes":[],"connections":[]}`),
		CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	for i := range recheckBenchRuns {
		id := fmt.Sprintf("wfr_%04d", i)
		run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now, UpdatedAt: now}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateRun(ctx, run, first, nil); err != nil {
			b.Fatal(err)
		}
	}
	return st, url
}

const recheckBenchRuns = 1000

// BenchmarkRecheckRead measures the read a waiter on a run another process
// drives makes every runevents.DefaultRecheck (finishedInStore: GetRun on
// PostgreSQL), from many goroutines at once over 1,000 IN_PROGRESS runs:
// its ns/op times 1,000 is the CPU second per second that 1,000 such
// waiters cost (decision 033).
func BenchmarkRecheckRead(b *testing.B) {
	ctx := context.Background()
	st, _ := recheckRuns(b)
	const runs = recheckBenchRuns
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			run, err := st.GetRun(ctx, fmt.Sprintf("wfr_%04d", i%runs))
			if err != nil || run.Status != store.StatusInProgress {
				b.Errorf("GetRun: %v %v", run.Status, err)
				return
			}
			i++
		}
	})
}

// BenchmarkRecheckReadBaseline is BenchmarkRecheckRead's baseline, in the
// same run: the same rows read by a bare pgx query of the status alone,
// the least a recheck could cost over loopback.
func BenchmarkRecheckReadBaseline(b *testing.B) {
	ctx := context.Background()
	_, url := recheckRuns(b)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			var status string
			if err := pool.QueryRow(ctx, `SELECT status FROM runs WHERE identifier = $1`, fmt.Sprintf("wfr_%04d", i%recheckBenchRuns)).Scan(&status); err != nil || status != store.StatusInProgress {
				b.Errorf("status: %q %v", status, err)
				return
			}
			i++
		}
	})
}
