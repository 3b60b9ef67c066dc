package store

import (
	"context"

	"github.com/sluice-run/sluice/internal/traceparent"
)

// TraceParentStore is implemented by stores that keep, with a run, the
// caller's span context a run-creation request carried (its W3C
// traceparent), so that any process that reports the run's spans, after a
// restart too, puts them in the caller's trace
// (docs/decisions/029-joining-the-callers-trace.md). It is apart from
// Store, as ExternalRunStore is. The parent is strictly parsed W3C hex
// (traceparent.Parse), not text of the caller's choosing.
type TraceParentStore interface {
	// SetRunTraceParent records p as run runID's trace parent:
	// ErrNotFound when there is no such run. A zero p clears it.
	SetRunTraceParent(ctx context.Context, runID string, p traceparent.Parent) error
	// RunTraceParent returns run runID's trace parent, the zero Parent
	// when it has none: ErrNotFound when there is no such run.
	RunTraceParent(ctx context.Context, runID string) (traceparent.Parent, error)
}
