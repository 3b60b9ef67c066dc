package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var (
	_ store.WaitStore = (*Store)(nil)
	_ store.WakeStore = (*Store)(nil)
)

// ExpiredWaits returns the waiting node runs whose deadline is at or before
// now, earliest first (store.WaitStore), from the partial index of
// migration 0003, which holds only waiting node runs with a deadline.
func (s *Store) ExpiredWaits(ctx context.Context, now time.Time, limit int) ([]store.ExpiredWait, error) {
	if limit <= 0 {
		limit = 100
	}
	scan := func(row pgx.Row) (store.ExpiredWait, error) {
		var w store.ExpiredWait
		err := row.Scan(&w.NodeRunID, &w.RunID, &w.Deadline, &w.Continue)
		return w, err
	}
	ws, err := collect(ctx, s.pool, scan, `SELECT n.identifier, n.run_id, n.wait_deadline, n.wait_continue FROM node_runs n
		WHERE n.waiting AND n.wait_deadline IS NOT NULL AND n.wait_deadline <= $1 AND n.status = 'IN_PROGRESS'
		AND EXISTS (SELECT 1 FROM runs r WHERE r.identifier = n.run_id AND r.status = 'IN_PROGRESS')
		ORDER BY n.wait_deadline, n.identifier LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired waits: %w", err)
	}
	return ws, nil
}

// DueWakes returns the waiting node runs whose wake time is at or before
// now, earliest first (store.WakeStore), from the partial index of
// migration 0004.
func (s *Store) DueWakes(ctx context.Context, now time.Time, limit int) ([]store.DueWake, error) {
	if limit <= 0 {
		limit = 100
	}
	scan := func(row pgx.Row) (store.DueWake, error) {
		var (
			w     store.DueWake
			state []byte
		)
		if err := row.Scan(&w.NodeRunID, &w.RunID, &w.WakeAt, &state); err != nil {
			return store.DueWake{}, err
		}
		if state != nil {
			// The state was redacted when it was stored.
			w.State = redact.Reload(state)
		}
		return w, nil
	}
	ws, err := collect(ctx, s.pool, scan, `SELECT n.identifier, n.run_id, n.wake_at, n.wait_state FROM node_runs n
		WHERE n.waiting AND n.wake_at IS NOT NULL AND n.wake_at <= $1 AND n.status = 'IN_PROGRESS'
		AND EXISTS (SELECT 1 FROM runs r WHERE r.identifier = n.run_id AND r.status = 'IN_PROGRESS')
		ORDER BY n.wake_at, n.identifier LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due wakes: %w", err)
	}
	return ws, nil
}
