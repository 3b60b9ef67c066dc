package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.Retainer = (*Store)(nil)

// The PostgreSQL store is no store.Backuper: pg_dump takes a consistent
// copy of a database in use (docs/operating.md).

// defaultRetainLimit and maxRetainLimit bound one batch of
// DeleteRunsBefore and DeleteAuditBefore, as in the SQLite store.
const (
	defaultRetainLimit = 100
	maxRetainLimit     = 1000
)

func retainLimit(limit int) int {
	switch {
	case limit <= 0:
		return defaultRetainLimit
	case limit > maxRetainLimit:
		return maxRetainLimit
	}
	return limit
}

// runChildren delete what is kept under the runs $1, children before
// parents.
var runChildren = []string{
	`DELETE FROM input_responses WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id = ANY($1))`,
	`DELETE FROM inputs WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id = ANY($1))`,
	`DELETE FROM integration_claims WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id = ANY($1))`,
	`DELETE FROM node_run_logs WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id = ANY($1))`,
	`DELETE FROM node_runs WHERE run_id = ANY($1)`,
	`DELETE FROM catalog_run_depths WHERE run_id = ANY($1)`,
	`DELETE FROM runs WHERE identifier = ANY($1)`,
}

// DeleteRunsBefore deletes at most limit COMPLETED runs completed before
// the given time, oldest first, with everything under them, in one
// transaction. The runs are locked (SKIP LOCKED: a run another transaction
// holds is left for the next batch).
func (s *Store) DeleteRunsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = retainLimit(limit)
	var n int
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT identifier FROM runs
			WHERE status = 'COMPLETED' AND created_at < $1 AND completed_at < $1
			ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED`, before, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		for _, q := range runChildren {
			if _, err := tx.Exec(ctx, q, ids); err != nil {
				return fmt.Errorf("%.40s...: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete runs completed before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// DeleteAuditBefore deletes at most limit audit events created before the
// given time, oldest first (index audit_events_created, migration 0008).
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	ct, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE created_at < $1 ORDER BY created_at, id LIMIT $2)`, before, retainLimit(limit))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete audit events before %s: %w", before.UTC().Format(time.RFC3339), mapErr(err))
	}
	return int(ct.RowsAffected()), nil
}
