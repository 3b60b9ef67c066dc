package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/traceparent"
)

var _ store.TraceParentStore = (*Store)(nil)

// SetRunTraceParent records a run's trace parent (store.TraceParentStore).
func (s *Store) SetRunTraceParent(ctx context.Context, runID string, p traceparent.Parent) error {
	var v *string
	if !p.IsZero() {
		v = new(p.String())
	}
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET trace_parent = $2 WHERE identifier = $1`, runID, v)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: set the trace parent of run %s: %w", runID, mapErr(err))
	}
	return nil
}

// RunTraceParent returns a run's trace parent (store.TraceParentStore).
func (s *Store) RunTraceParent(ctx context.Context, runID string) (traceparent.Parent, error) {
	var v *string
	err := s.pool.QueryRow(ctx, `SELECT trace_parent FROM runs WHERE identifier = $1`, runID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return traceparent.Parent{}, fmt.Errorf("postgres: the trace parent of run %s: %w", runID, mapErr(err))
	}
	if v == nil {
		return traceparent.Parent{}, nil
	}
	p, err := traceparent.Parse(*v)
	if err != nil {
		return traceparent.Parent{}, fmt.Errorf("postgres: the trace parent of run %s: %w", runID, err)
	}
	return p, nil
}
