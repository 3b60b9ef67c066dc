package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

const workflowCols = `identifier, version, definition, created_by, updated_by, created_at, updated_at, deleted`

func scanWorkflow(row pgx.Row) (store.Workflow, error) {
	var w store.Workflow
	if err := row.Scan(&w.Identifier, &w.Version, &w.Definition, &w.CreatedBy, &w.UpdatedBy, &w.CreatedAt, &w.UpdatedAt, &w.Deleted); err != nil {
		return store.Workflow{}, err
	}
	return w, nil
}

// lockWorkflow takes a transaction-level advisory lock on a workflow
// identifier, so that two writers of one workflow (which read its last
// version, then insert the next) take turns; each then reads what the
// other committed.
func lockWorkflow(ctx context.Context, tx pgx.Tx, identifier string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sluice.workflow:' || $1, 0))`, identifier); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

func insertWorkflow(ctx context.Context, tx pgx.Tx, w store.Workflow) error {
	_, err := tx.Exec(ctx, `INSERT INTO workflows (`+workflowCols+`, allow_anyone_to_view_runs) VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8)`,
		w.Identifier, w.Version, w.Definition, w.CreatedBy, w.UpdatedBy, w.CreatedAt, w.UpdatedAt, anyoneMayViewRuns(w.Definition))
	return err
}

// anyoneMayViewRuns reads allowAnyoneToViewRuns from a definition: true
// unless it is false, as workflow.Parse reads it (and as migration 0002
// filled the versions stored before). A definition that is not a JSON
// object counts as true, like the default.
func anyoneMayViewRuns(def []byte) bool {
	var d struct {
		Allow *bool `json:"allowAnyoneToViewRuns"`
	}
	if json.Unmarshal(def, &d) != nil || d.Allow == nil {
		return true
	}
	return *d.Allow
}

// stored returns t as this store keeps it: in UTC, to the microsecond.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CreateWorkflow stores version 1 of a new workflow, or the version after
// the last one when the identifier belonged to a deleted workflow. A zero
// UpdatedAt is CreatedAt, an empty UpdatedBy is CreatedBy.
func (s *Store) CreateWorkflow(ctx context.Context, wf store.Workflow) (store.Workflow, error) {
	if wf.Identifier == "" {
		return store.Workflow{}, errors.New("postgres: create workflow: empty identifier")
	}
	now := time.Now()
	w := store.Workflow{
		Identifier: wf.Identifier,
		Definition: wf.Definition,
		CreatedBy:  wf.CreatedBy,
		UpdatedBy:  wf.UpdatedBy,
		CreatedAt:  stored(ts(wf.CreatedAt, now)),
	}
	if w.UpdatedBy == "" {
		w.UpdatedBy = w.CreatedBy
	}
	w.UpdatedAt = w.CreatedAt
	if !wf.UpdatedAt.IsZero() {
		w.UpdatedAt = stored(wf.UpdatedAt)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockWorkflow(ctx, tx, wf.Identifier); err != nil {
			return err
		}
		var last int
		var live bool
		err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0), coalesce(bool_or(NOT deleted), false)
			FROM workflows WHERE identifier = $1`, wf.Identifier).Scan(&last, &live)
		if err != nil {
			return err
		}
		if live {
			return store.ErrExists
		}
		w.Version = last + 1
		return insertWorkflow(ctx, tx, w)
	})
	if err != nil {
		return store.Workflow{}, fmt.Errorf("postgres: create workflow %s: %w", wf.Identifier, err)
	}
	return w, nil
}

// UpdateWorkflow stores the next version of a workflow. CreatedBy and
// CreatedAt stay those of version 1; an empty UpdatedBy is wf.CreatedBy.
func (s *Store) UpdateWorkflow(ctx context.Context, wf store.Workflow) (store.Workflow, error) {
	now := time.Now()
	w := store.Workflow{
		Identifier: wf.Identifier,
		Definition: wf.Definition,
		UpdatedBy:  wf.UpdatedBy,
		UpdatedAt:  stored(ts(wf.UpdatedAt, now)),
	}
	if w.UpdatedBy == "" {
		w.UpdatedBy = wf.CreatedBy
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockWorkflow(ctx, tx, wf.Identifier); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT version, created_by, created_at FROM workflows
			WHERE identifier = $1 AND NOT deleted ORDER BY version DESC LIMIT 1`, wf.Identifier).
			Scan(&w.Version, &w.CreatedBy, &w.CreatedAt)
		if err != nil {
			return err
		}
		w.Version++
		return insertWorkflow(ctx, tx, w)
	})
	if err != nil {
		return store.Workflow{}, fmt.Errorf("postgres: update workflow %s: %w", wf.Identifier, err)
	}
	return w, nil
}

// GetWorkflow returns the newest version of a workflow that is not deleted.
func (s *Store) GetWorkflow(ctx context.Context, identifier string) (store.Workflow, error) {
	w, err := scanWorkflow(s.pool.QueryRow(ctx, `SELECT `+workflowCols+` FROM workflows
		WHERE identifier = $1 AND NOT deleted ORDER BY version DESC LIMIT 1`, identifier))
	if err != nil {
		return store.Workflow{}, fmt.Errorf("postgres: get workflow %s: %w", identifier, mapErr(err))
	}
	return w, nil
}

var _ store.LatestVersionReader = (*Store)(nil)

// LatestWorkflowVersion returns the version GetWorkflow would return
// (store.LatestVersionReader), without reading the definition.
func (s *Store) LatestWorkflowVersion(ctx context.Context, identifier string) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT version FROM workflows
		WHERE identifier = $1 AND NOT deleted ORDER BY version DESC LIMIT 1`, identifier).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("postgres: latest version of workflow %s: %w", identifier, mapErr(err))
	}
	return v, nil
}

// GetWorkflowVersion returns one version of a workflow, deleted or not.
func (s *Store) GetWorkflowVersion(ctx context.Context, identifier string, version int) (store.Workflow, error) {
	w, err := scanWorkflow(s.pool.QueryRow(ctx, `SELECT `+workflowCols+` FROM workflows
		WHERE identifier = $1 AND version = $2`, identifier, version))
	if err != nil {
		return store.Workflow{}, fmt.Errorf("postgres: get workflow %s version %d: %w", identifier, version, mapErr(err))
	}
	return w, nil
}

// ListWorkflows returns the newest version of every workflow that is not
// deleted, ordered by identifier (bytewise).
func (s *Store) ListWorkflows(ctx context.Context) ([]store.Workflow, error) {
	ws, err := collect(ctx, s.pool, scanWorkflow, `SELECT `+workflowCols+` FROM workflows w
		WHERE NOT deleted AND NOT EXISTS (
			SELECT 1 FROM workflows n WHERE n.identifier = w.identifier AND n.version > w.version)
		ORDER BY identifier`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list workflows: %w", err)
	}
	return ws, nil
}

// DeleteWorkflow marks every version of a workflow deleted.
func (s *Store) DeleteWorkflow(ctx context.Context, identifier string) error {
	ct, err := s.pool.Exec(ctx, `UPDATE workflows SET deleted = true WHERE identifier = $1 AND NOT deleted`, identifier)
	if err == nil && ct.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete workflow %s: %w", identifier, mapErr(err))
	}
	return nil
}
