package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/traceparent"
)

var _ store.TraceParentStore = (*Store)(nil)

// SetRunTraceParent records a run's trace parent (store.TraceParentStore).
func (s *Store) SetRunTraceParent(ctx context.Context, runID string, p traceparent.Parent) error {
	var v sql.NullString
	if !p.IsZero() {
		v = sql.NullString{String: p.String(), Valid: true}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET trace_parent = ? WHERE identifier = ?`, v, runID)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return mapErr(err)
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set the trace parent of run %s: %w", runID, err)
	}
	return nil
}

// RunTraceParent returns a run's trace parent (store.TraceParentStore).
func (s *Store) RunTraceParent(ctx context.Context, runID string) (traceparent.Parent, error) {
	var v sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT trace_parent FROM runs WHERE identifier = ?`, runID).Scan(&v)
	if err != nil {
		return traceparent.Parent{}, fmt.Errorf("sqlite: the trace parent of run %s: %w", runID, notFound(err))
	}
	if !v.Valid {
		return traceparent.Parent{}, nil
	}
	p, err := traceparent.Parse(v.String)
	if err != nil {
		return traceparent.Parent{}, fmt.Errorf("sqlite: the trace parent of run %s: %w", runID, err)
	}
	return p, nil
}
