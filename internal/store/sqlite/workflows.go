package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

const workflowCols = `identifier, version, definition, created_by, updated_by, created_at, updated_at, deleted`

// scanner is a *sql.Row or *sql.Rows.
func scanWorkflow(sc scanner) (store.Workflow, error) {
	var (
		w                store.Workflow
		created, updated int64
	)
	if err := sc.Scan(&w.Identifier, &w.Version, &w.Definition, &w.CreatedBy, &w.UpdatedBy, &created, &updated, &w.Deleted); err != nil {
		return store.Workflow{}, err
	}
	w.CreatedAt, w.UpdatedAt = fromTS(created), fromTS(updated)
	return w, nil
}

func insertWorkflow(ctx context.Context, tx *sql.Tx, w store.Workflow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO workflows (`+workflowCols+`, allow_anyone_to_view_runs) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
		w.Identifier, w.Version, w.Definition, w.CreatedBy, w.UpdatedBy, w.CreatedAt.UnixNano(), w.UpdatedAt.UnixNano(), anyoneMayViewRuns(w.Definition))
	return mapErr(err)
}

// anyoneMayViewRuns reads allowAnyoneToViewRuns from a definition: true
// unless it is false, as workflow.Parse reads it (and as migration 0007
// filled the versions stored before). The definition was validated before
// it was saved; one that is not a JSON object counts as true, like the
// default.
func anyoneMayViewRuns(def []byte) bool {
	var d struct {
		Allow *bool `json:"allowAnyoneToViewRuns"`
	}
	if json.Unmarshal(def, &d) != nil || d.Allow == nil {
		return true
	}
	return *d.Allow
}

// CreateWorkflow stores version 1 of a new workflow, or the version after
// the last one when the identifier belonged to a deleted workflow. A zero
// UpdatedAt is CreatedAt, an empty UpdatedBy is CreatedBy.
func (s *Store) CreateWorkflow(ctx context.Context, wf store.Workflow) (store.Workflow, error) {
	if wf.Identifier == "" {
		return store.Workflow{}, errors.New("sqlite: create workflow: empty identifier")
	}
	now := time.Now()
	w := store.Workflow{
		Identifier: wf.Identifier,
		Definition: wf.Definition,
		CreatedBy:  wf.CreatedBy,
		UpdatedBy:  wf.UpdatedBy,
		CreatedAt:  fromTS(ts(wf.CreatedAt, now)),
	}
	if w.UpdatedBy == "" {
		w.UpdatedBy = w.CreatedBy
	}
	w.UpdatedAt = w.CreatedAt
	if !wf.UpdatedAt.IsZero() {
		w.UpdatedAt = fromTS(wf.UpdatedAt.UnixNano())
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var last int
		var live bool
		err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0), coalesce(max(deleted = 0), 0)
			FROM workflows WHERE identifier = ?`, wf.Identifier).Scan(&last, &live)
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
		return store.Workflow{}, fmt.Errorf("sqlite: create workflow %s: %w", wf.Identifier, err)
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
		UpdatedAt:  fromTS(ts(wf.UpdatedAt, now)),
	}
	if w.UpdatedBy == "" {
		w.UpdatedBy = wf.CreatedBy
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT version, created_by, created_at FROM workflows
			WHERE identifier = ? AND deleted = 0 ORDER BY version DESC LIMIT 1`, wf.Identifier).
			Scan(&w.Version, &w.CreatedBy, &created)
		if err != nil {
			return notFound(err)
		}
		w.Version++
		w.CreatedAt = fromTS(created)
		return insertWorkflow(ctx, tx, w)
	})
	if err != nil {
		return store.Workflow{}, fmt.Errorf("sqlite: update workflow %s: %w", wf.Identifier, err)
	}
	return w, nil
}

// GetWorkflow returns the newest version of a workflow that is not deleted.
func (s *Store) GetWorkflow(ctx context.Context, identifier string) (store.Workflow, error) {
	w, err := scanWorkflow(s.rd.getWorkflow.QueryRowContext(ctx, identifier))
	if err != nil {
		return store.Workflow{}, fmt.Errorf("sqlite: get workflow %s: %w", identifier, notFound(err))
	}
	return w, nil
}

var _ store.LatestVersionReader = (*Store)(nil)

// LatestWorkflowVersion returns the version GetWorkflow would return
// (store.LatestVersionReader), read from the index workflows_live alone.
func (s *Store) LatestWorkflowVersion(ctx context.Context, identifier string) (int, error) {
	var v int
	if err := s.rd.latestWorkflowVersion.QueryRowContext(ctx, identifier).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: latest version of workflow %s: %w", identifier, notFound(err))
	}
	return v, nil
}

// GetWorkflowVersion returns one version of a workflow, deleted or not.
func (s *Store) GetWorkflowVersion(ctx context.Context, identifier string, version int) (store.Workflow, error) {
	w, err := scanWorkflow(s.rd.getWorkflowVersion.QueryRowContext(ctx, identifier, version))
	if err != nil {
		return store.Workflow{}, fmt.Errorf("sqlite: get workflow %s version %d: %w", identifier, version, notFound(err))
	}
	return w, nil
}

// ListWorkflows returns the newest version of every workflow that is not
// deleted, ordered by identifier.
func (s *Store) ListWorkflows(ctx context.Context) ([]store.Workflow, error) {
	ws, err := queryAll(ctx, s.preparedR(), scanWorkflow, `SELECT `+workflowCols+` FROM workflows w
		WHERE deleted = 0 AND NOT EXISTS (
			SELECT 1 FROM workflows n WHERE n.identifier = w.identifier AND n.version > w.version)
		ORDER BY identifier`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list workflows: %w", err)
	}
	return ws, nil
}

// DeleteWorkflow marks every version of a workflow deleted.
func (s *Store) DeleteWorkflow(ctx context.Context, identifier string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE workflows SET deleted = 1 WHERE identifier = ? AND deleted = 0`, identifier)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete workflow %s: %w", identifier, err)
	}
	return nil
}
