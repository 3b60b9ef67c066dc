package store

import (
	"context"

	"github.com/sluice-run/sluice/internal/traceparent"
)

// Creation is a run as its creator stores it in one transaction: the run,
// its first node runs in order of Seq (the trigger's, completed; then any
// the creator began at once: pure nodes it evaluated, completed, and the
// first node to execute, IN_PROGRESS with its first attempt counted), their
// logs, and, with a store that implements LeaseStore, the run's lease and,
// with one that implements SealStore, its first sealed values.
type Creation struct {
	Run      Run
	NodeRuns []NodeRun
	Logs     []Log
	Lease    *Lease
	// Seal, kept by a store that implements SealStore, is the run's first
	// sealed row, written with its creation (Transition.Seal).
	Seal *SealedValues
	// TraceParent, kept by a store that implements TraceParentStore, is the
	// span context the run's creation request carried, written with the run
	// (zero: none), so that no process ever sees the run without it.
	TraceParent traceparent.Parent
}

// RunCreator is implemented by stores that create a run with several node
// runs in one transaction: the engine then commits a run's creation and
// the start of its first node together, one commit instead of two
// (docs/performance.md, "Fourth look").
type RunCreator interface {
	// CreateRunWith inserts c in one transaction: all of it, or nothing
	// (ErrExists when the run's identifier is taken). NodeRuns must not be
	// empty; an empty run Status is IN_PROGRESS; zero times are now.
	CreateRunWith(ctx context.Context, c Creation) error
}
