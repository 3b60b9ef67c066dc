package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.WaitStore = (*Store)(nil)

// ExpiredWaits returns the waiting node runs whose deadline is at or before
// now, earliest first (store.WaitStore). It reads the partial index of
// migration 0006, which holds only waiting node runs with a deadline.
func (s *Store) ExpiredWaits(ctx context.Context, now time.Time, limit int) ([]store.ExpiredWait, error) {
	if limit <= 0 {
		limit = 100
	}
	scan := func(sc scanner) (store.ExpiredWait, error) {
		var (
			w        store.ExpiredWait
			deadline int64
		)
		if err := sc.Scan(&w.NodeRunID, &w.RunID, &deadline, &w.Continue); err != nil {
			return store.ExpiredWait{}, err
		}
		w.Deadline = fromTS(deadline)
		return w, nil
	}
	ws, err := queryAll(ctx, s.r, scan, `SELECT n.identifier, n.run_id, n.wait_deadline, n.wait_continue FROM node_runs n
		WHERE n.waiting = 1 AND n.wait_deadline IS NOT NULL AND n.wait_deadline <= ? AND n.status = 'IN_PROGRESS'
		AND (SELECT r.status FROM runs r WHERE r.identifier = n.run_id) = 'IN_PROGRESS'
		ORDER BY n.wait_deadline LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: expired waits: %w", err)
	}
	return ws, nil
}
