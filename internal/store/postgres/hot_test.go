package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// TestRunWritesAreHOT checks that a node run's completion and a run's
// finish, the updates every run makes, are HOT updates: PostgreSQL writes
// the new row version without an index entry (migration 0015, decision
// 027). An index that names a column they change (such as runs.status,
// also in a partial index's WHERE) would make them write one in every
// index of the table again. The counts are the transaction's own
// (pg_stat_get_xact_*), read before it commits.
func TestRunWritesAreHOT(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	now := time.Now()
	run := store.Run{Identifier: "wfr_hot", WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
	first := store.NodeRun{Identifier: "wfr_hot_0", RunID: run.Identifier, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
	if err := s.CreateRunLeased(ctx, run, first, nil, store.Lease{Owner: "proc-a", Until: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateRunLeased: %v", err)
	}
	// In this order: the run's finish needs no node run IN_PROGRESS, but a
	// completion needs its run IN_PROGRESS.
	steps := []struct {
		name, table, sql string
		args             []any
	}{
		{name: "complete a node run", table: "node_runs", sql: sqlCompleteNodeRun,
			args: []any{"SUCCESS", []byte(`{"ok":true}`), []string{"https://example.test/x"}, now, first.Identifier, run.Identifier}},
		{name: "finish the run", table: "runs", sql: sqlFinishRun, args: []any{"SUCCESS", now, run.Identifier}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				t.Fatalf("begin: %v", err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck // after Commit: nothing to undo
			if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			var updated, hot int64
			if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_updated($1::regclass), pg_stat_get_xact_tuples_hot_updated($1::regclass)`,
				st.table).Scan(&updated, &hot); err != nil {
				t.Fatalf("read the transaction's counts of %s: %v", st.table, err)
			}
			if updated != 1 || hot != 1 {
				t.Errorf("%s: %d row(s) of %s updated, %d of them HOT; want 1 and 1", st.name, updated, st.table, hot)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
		})
	}
	if _, err := s.GetLease(ctx, run.Identifier); err == nil {
		t.Errorf("the finished run still has its lease row: the finish's trigger (migration 0014) did not run")
	}
	got, err := s.GetRun(ctx, run.Identifier)
	if err != nil || got.Status != store.StatusCompleted || got.Result != "SUCCESS" {
		t.Errorf("GetRun after the finish = %+v, %v; want COMPLETED SUCCESS", got, err)
	}
}
