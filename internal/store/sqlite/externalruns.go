package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ExternalRunStore = (*Store)(nil)

// SetExternalRunID records a node run's external run id
// (store.ExternalRunStore).
func (s *Store) SetExternalRunID(ctx context.Context, nodeRunID string, id redact.Text, now time.Time) error {
	ext := id.String()
	if ext == "" || len(ext) > store.MaxExternalRunIDLen {
		return fmt.Errorf("sqlite: external run id of %s: must be 1 to %d bytes", nodeRunID, store.MaxExternalRunIDLen)
	}
	if now.IsZero() {
		now = time.Now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var runID, status, runStatus string
		err := tx.QueryRowContext(ctx, `SELECT n.run_id, n.status, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id
			WHERE n.identifier = ?`, nodeRunID).Scan(&runID, &status, &runStatus)
		if err != nil {
			return notFound(err)
		}
		if status != store.StatusInProgress || runStatus != store.StatusInProgress {
			return fmt.Errorf("%w: node run %s is %s in a run that is %s", store.ErrConflict, nodeRunID, status, runStatus)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO node_run_external_ids (node_run_id, run_id, external_run_id, set_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (node_run_id) DO UPDATE SET external_run_id = excluded.external_run_id, set_at = excluded.set_at`,
			nodeRunID, runID, ext, now.UnixNano())
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set the external run id of %s: %w", nodeRunID, err)
	}
	return nil
}

const externalRunCols = `node_run_id, run_id, external_run_id, set_at`

func scanExternalRun(sc scanner) (store.ExternalRun, error) {
	var (
		e   store.ExternalRun
		ext string
		at  int64
	)
	if err := sc.Scan(&e.NodeRunID, &e.RunID, &ext, &at); err != nil {
		return store.ExternalRun{}, err
	}
	// Redacted before it was written (SetExternalRunID takes redact.Text).
	e.ExternalRunID = redact.TrustedText(ext)
	e.SetAt = fromTS(at)
	return e, nil
}

// ExternalRunIDs returns the external run ids of the given node runs
// (store.ExternalRunStore).
func (s *Store) ExternalRunIDs(ctx context.Context, nodeRunIDs []string) (map[string]store.ExternalRun, error) {
	out := make(map[string]store.ExternalRun, len(nodeRunIDs))
	if len(nodeRunIDs) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(nodeRunIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: external run ids: %w", err)
	}
	es, err := queryAll(ctx, s.r, scanExternalRun, `SELECT `+externalRunCols+` FROM node_run_external_ids
		WHERE node_run_id IN (SELECT value FROM json_each(?))`, string(ids))
	if err != nil {
		return nil, fmt.Errorf("sqlite: external run ids: %w", err)
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
	es, err := queryAll(ctx, s.r, scanExternalRun, `SELECT `+externalRunCols+` FROM node_run_external_ids
		WHERE external_run_id = ? ORDER BY set_at DESC, node_run_id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: node runs of external run id: %w", err)
	}
	return es, nil
}
