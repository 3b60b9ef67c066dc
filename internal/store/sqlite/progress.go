package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ProgressStore = (*Store)(nil)

// SetNodeRunProgress stores the output, links and logs an outside system
// reports for a node run that is still IN_PROGRESS (store.ProgressStore),
// in one transaction that first checks the node run and its run.
func (s *Store) SetNodeRunProgress(ctx context.Context, p store.NodeRunProgress) error {
	if err := checkProgress(p); err != nil {
		return fmt.Errorf("sqlite: progress of node run %s: %w", p.NodeRunID, err)
	}
	now := time.Now()
	updated := ts(p.UpdatedAt, now)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var status, runStatus string
		err := tx.QueryRowContext(ctx, `SELECT n.status, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id
			WHERE n.identifier = ?`, p.NodeRunID).Scan(&status, &runStatus)
		if err != nil {
			return notFound(err)
		}
		if status != store.StatusInProgress || runStatus != store.StatusInProgress {
			return fmt.Errorf("%w: node run %s is %s in a run that is %s", store.ErrConflict, p.NodeRunID, status, runStatus)
		}
		links, err := encodeLinks(p.Links)
		if err != nil {
			return err
		}
		// output and links are kept when not given (COALESCE, CASE).
		_, err = tx.ExecContext(ctx, `UPDATE node_runs SET output = COALESCE(?, output),
			links = CASE WHEN ? THEN ? ELSE links END, updated_at = ? WHERE identifier = ?`,
			output(p.Output), p.SetLinks, links, updated, p.NodeRunID)
		if err != nil {
			return mapErr(err)
		}
		return s.insertLogs(ctx, tx, p.Logs, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: progress of node run %s: %w", p.NodeRunID, err)
	}
	return nil
}

// checkProgress refuses a progress whose logs belong to another node run.
func checkProgress(p store.NodeRunProgress) error {
	for i, l := range p.Logs {
		if l.NodeRunID != p.NodeRunID {
			return fmt.Errorf("log %d belongs to node run %s", i, l.NodeRunID)
		}
	}
	return nil
}
