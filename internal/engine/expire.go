package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
)

// ErrWaitsNotSupported is returned by ExpireDue when the engine's store does
// not keep wait deadlines (it does not implement store.WaitStore).
var ErrWaitsNotSupported = errors.New("the store does not keep wait deadlines")

// ExpireDue ends, as timeouts, up to limit node runs that wait for a
// completion from outside and whose deadline (node.Result.WaitUntil) has
// passed, and returns the identifiers of their runs, which the caller then
// drives on with Execute. A node run ends FAILED with an error that names
// its deadline, or, when its onTimeout is "continue", SUCCESS with the
// output {"timeout": true}, to which its variables and links apply; either
// way the run follows the node's onFailure and connections as after any
// completion. A completion from outside that wins the race is kept: the
// expiry of that node run is then skipped.
//
// The deadlines are read from the store, so they hold across restarts, and
// nothing is held in memory or in a goroutine per waiting node run
// (docs/decisions/007-durable-waits.md).
func (e *Engine) ExpireDue(ctx context.Context, limit int) ([]string, error) {
	ws, ok := e.store.(store.WaitStore)
	if !ok {
		return nil, ErrWaitsNotSupported
	}
	due, err := ws.ExpiredWaits(ctx, e.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired waits: %w", err)
	}
	var runs []string
	var errs []error
	for _, w := range due {
		if _, err := e.CompleteNodeRun(ctx, w.NodeRunID, timeoutCompletion(w)); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue // completed or cancelled meanwhile
			}
			errs = append(errs, fmt.Errorf("expire node run %s: %w", w.NodeRunID, err))
			continue
		}
		runs = append(runs, w.RunID)
	}
	return runs, errors.Join(errs...)
}

// timeoutCompletion is how a node run that waited past its deadline ends.
func timeoutCompletion(w store.ExpiredWait) Completion {
	deadline := w.Deadline.UTC().Format(time.RFC3339)
	if w.Continue {
		return Completion{
			Status: store.StatusCompleted,
			Result: store.ResultSuccess,
			Output: map[string]any{"timeout": true},
			Logs: []LogLine{{Level: node.LevelWarn, Message: fmt.Sprintf(
				"no completion arrived before the deadline %s (timeoutSeconds); onTimeout is continue, so the node succeeds with {\"timeout\": true}", deadline)}},
		}
	}
	msg := fmt.Sprintf("timed out: no completion arrived before the deadline %s (timeoutSeconds)", deadline)
	return Completion{
		Status: store.StatusCompleted,
		Result: store.ResultFailed,
		Output: map[string]any{"error": map[string]any{"message": msg}},
		Logs:   []LogLine{{Level: node.LevelError, Message: msg}},
	}
}
