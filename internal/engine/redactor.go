package engine

import (
	"context"
	"fmt"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// RunRedactor returns the redactor of an IN_PROGRESS run, for data sent
// from outside that is stored before a completion (an INPUT node's
// responses): the one this process drives the run with, or one rebuilt
// from the secrets the workflow references, as CompleteNodeRun rebuilds it.
// It fails with ErrNotInProgress when the run is finished (it keeps no
// redactor and takes no more data) and store.ErrNotFound when it is missing.
func (e *Engine) RunRedactor(ctx context.Context, runID string) (*redact.Redactor, error) {
	if red, ok := e.redactors.Load(runID); ok {
		return red.(*redact.Redactor), nil
	}
	st, _, err := e.load(ctx, runID)
	if err != nil {
		return nil, err
	}
	if st.run.Status != store.StatusInProgress {
		return nil, fmt.Errorf("run %s: %w", runID, ErrNotInProgress)
	}
	return st.red, nil
}

// NoteRedactor returns a redactor for text about a run that is written
// beside its own steps, whether or not the run has ended (a warning of the
// catalog's loop guard on the node run that made a change): the one this
// process drives the run with, or a new one that knows every secret the
// run's workflow references. It registers the values only; it keeps
// nothing for the run.
func (e *Engine) NoteRedactor(ctx context.Context, runID string) (*redact.Redactor, error) {
	if red, ok := e.redactors.Load(runID); ok {
		return red.(*redact.Redactor), nil
	}
	run, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("load run %s: %w", runID, err)
	}
	wf, err := e.Definition(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	st := e.newState(run, wf)
	if err := e.registerAll(ctx, st, ""); err != nil {
		return nil, err
	}
	return st.red, nil
}
