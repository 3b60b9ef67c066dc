package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ProgressStore = (*Store)(nil)

// sqlSetProgress updates an IN_PROGRESS node run of an IN_PROGRESS run with
// an output ($2, NULL keeps it) and links ($4 true replaces them with $3),
// and fails the batch (ErrNotFound, ErrConflict) when there is no such node
// run or it or its run is finished, so that the logs queued after it are
// not kept either.
const sqlSetProgress = `WITH cur AS (
	SELECT n.status, r.status AS run_status FROM node_runs n JOIN runs r ON r.identifier = n.run_id WHERE n.identifier = $1
), upd AS (
	UPDATE node_runs n SET output = COALESCE($2::bytea, n.output),
		links = CASE WHEN $4::boolean THEN $3::text[] ELSE n.links END, updated_at = $5
	FROM runs r WHERE n.identifier = $1 AND r.identifier = n.run_id AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
	RETURNING 1
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM cur) THEN sluice_assert(false, 'SLNFD', 'node run ' || $1::text || ' not found')
	ELSE sluice_assert(EXISTS (SELECT 1 FROM upd), 'SLCNF', (SELECT 'node run ' || $1::text || ' is ' || status || ' in a run that is ' || run_status FROM cur)) END`

// SetNodeRunProgress stores the output, links and logs an outside system
// reports for a node run that is still IN_PROGRESS (store.ProgressStore),
// in one round trip and one transaction.
func (s *Store) SetNodeRunProgress(ctx context.Context, p store.NodeRunProgress) error {
	for i, l := range p.Logs {
		if l.NodeRunID != p.NodeRunID {
			return fmt.Errorf("postgres: progress of node run %s: log %d belongs to node run %s", p.NodeRunID, i, l.NodeRunID)
		}
	}
	now := time.Now()
	var w batch
	w.exec("", sqlSetProgress, p.NodeRunID, output(p.Output), encodeLinks(p.Links), p.SetLinks, ts(p.UpdatedAt, now))
	err := queueLogs(&w, p.Logs, now)
	if err == nil {
		err = s.send(ctx, &w)
	}
	if err != nil {
		return fmt.Errorf("postgres: progress of node run %s: %w", p.NodeRunID, err)
	}
	return nil
}
