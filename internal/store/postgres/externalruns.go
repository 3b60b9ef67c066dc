package postgres

import (
	"context"

	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ExternalRunStore = (*Store)(nil)

// SetExternalRunID records a node run's external run id
// (store.ExternalRunStore), in one statement that checks that the node run
// and its run are IN_PROGRESS.
func (s *Store) SetExternalRunID(ctx context.Context, nodeRunID string, id redact.Text, now time.Time) error {
	ext := id.String()
	if ext == "" || len(ext) > store.MaxExternalRunIDLen {
		return fmt.Errorf("postgres: external run id of %s: must be 1 to %d bytes", nodeRunID, store.MaxExternalRunIDLen)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO node_run_external_ids (node_run_id, run_id, external_run_id, set_at)
		SELECT n.identifier, n.run_id, $2, $3 FROM node_runs n JOIN runs r ON r.identifier = n.run_id
		WHERE n.identifier = $1 AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
		ON CONFLICT (node_run_id) DO UPDATE SET external_run_id = excluded.external_run_id, set_at = excluded.set_at`,
		nodeRunID, ext, ts(now, time.Now()))
	if err == nil && tag.RowsAffected() == 0 {
		var status, runStatus string
		err = s.pool.QueryRow(ctx, `SELECT n.status, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id WHERE n.identifier = $1`,
			nodeRunID).Scan(&status, &runStatus)
		if err == nil {
			err = fmt.Errorf("%w: node run %s is %s in a run that is %s", store.ErrConflict, nodeRunID, status, runStatus)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: set the external run id of %s: %w", nodeRunID, mapErr(err))
	}
	return nil
}

const externalRunCols = `node_run_id, run_id, external_run_id, set_at`

func scanExternalRuns(rows pgx.Rows) ([]store.ExternalRun, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ExternalRun, error) {
		var (
			e   store.ExternalRun
			ext string
		)
		if err := row.Scan(&e.NodeRunID, &e.RunID, &ext, &e.SetAt); err != nil {
			return store.ExternalRun{}, err
		}
		// Redacted before it was written (SetExternalRunID takes redact.Text).
		e.ExternalRunID = redact.TrustedText(ext)
		e.SetAt = e.SetAt.UTC()
		return e, nil
	})
}

// ExternalRunIDs returns the external run ids of the given node runs
// (store.ExternalRunStore).
func (s *Store) ExternalRunIDs(ctx context.Context, nodeRunIDs []string) (map[string]store.ExternalRun, error) {
	out := make(map[string]store.ExternalRun, len(nodeRunIDs))
	if len(nodeRunIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+externalRunCols+` FROM node_run_external_ids WHERE node_run_id = ANY($1)`, nodeRunIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: external run ids: %w", mapErr(err))
	}
	es, err := scanExternalRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: external run ids: %w", mapErr(err))
	}
	for _, e := range es {
		out[e.NodeRunID] = e
	}
	return out, nil
}

// FindExternalRuns returns the node runs with an external run id
// (store.ExternalRunStore).
func (s *Store) FindExternalRuns(ctx context.Context, id string, limit int) ([]store.ExternalRun, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+externalRunCols+` FROM node_run_external_ids
		WHERE external_run_id = $1 ORDER BY set_at DESC, node_run_id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: node runs of external run id: %w", mapErr(err))
	}
	es, err := scanExternalRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: node runs of external run id: %w", mapErr(err))
	}
	return es, nil
}
