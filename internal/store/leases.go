package store

import (
	"context"
	"time"
)

// Lease says which process drives a run, and until when: a process that
// holds a live lease on a run is the only one that executes its nodes. A
// process renews the leases of the runs it drives (LeaseStore.RenewLeases)
// well before they expire; a run whose lease expired (its process died or
// hung) and that does not wait for a completion from outside is claimed by
// another process (LeaseStore.ClaimRuns) and resumed there, with the same
// node-run identifiers. docs/decisions/023-leases-and-takeover.md.
type Lease struct {
	// Owner identifies the process (unique per process start).
	Owner string
	// Until is when the lease expires unless renewed.
	Until time.Time
}

// LeaseStore is implemented by stores that keep run leases, so that several
// processes can share one store: each run is driven by one of them at a
// time, and the runs of a process that died are taken over by the others.
// Times compared with a lease's Until are the caller's (now): processes
// sharing a store need clocks that agree to well within a lease's length.
//
// A lease is a hint to the drivers, not a lock on the data: the writes of a
// transition stay conditional (a node run completes once, a Seq is taken
// once, a run finishes once), so a process that lost its lease while it was
// paused and wakes to commit gets ErrConflict and applies nothing.
type LeaseStore interface {
	// CreateRunLeased is CreateRun with the run leased to l.Owner until
	// l.Until in the same transaction: a run is never visible unleased
	// between its creation and its first step.
	CreateRunLeased(ctx context.Context, run Run, first NodeRun, logs []Log, l Lease) error
	// AcquireLease leases an IN_PROGRESS run to l.Owner until l.Until when
	// it has no lease, its lease expired at or before now, or l.Owner
	// holds it already (then it is extended). ok is false, and nothing
	// changes, when another owner holds a lease that has not expired.
	// ErrNotFound when there is no such run, ErrConflict when the run is
	// not IN_PROGRESS.
	AcquireLease(ctx context.Context, runID string, l Lease, now time.Time) (ok bool, err error)
	// RenewLeases extends, in one statement, the leases owner holds on the
	// given runs to until, and returns the runs among them it still holds
	// (any order); a run missing from the answer was taken over by another
	// process after its lease expired, and must not be driven on.
	RenewLeases(ctx context.Context, owner string, runIDs []string, until time.Time) ([]string, error)
	// ReleaseLeases drops the leases owner holds on the given runs (all of
	// its leases when runIDs is empty). Leases of others are untouched. A
	// released run that still needs a driver (not finished, not waiting on
	// the outside, or a waiting node run of it completed while the lease
	// was held) is claimed by the next ClaimRuns, at once.
	ReleaseLeases(ctx context.Context, owner string, runIDs []string) error
	// ClaimRuns leases to l.Owner at most limit (<= 0: 100) IN_PROGRESS
	// runs that need a driver and have none, oldest first, and returns
	// their identifiers: runs whose lease expired at or before now, runs
	// released while they needed a driver, and runs one of whose waiting
	// node runs completed (by any transition) since their lease was
	// released; never runs that wait for a completion from outside (an
	// IN_PROGRESS node run with NodeRun.Waiting) nor runs created by
	// CreateRun (their creator does not lease: it drives them). Two
	// callers never claim the same run while the lease lasts. Its cost
	// grows with the runs that need a driver, not with the runs that wait
	// (docs/decisions/023-leases-and-takeover.md).
	ClaimRuns(ctx context.Context, l Lease, now time.Time, limit int) ([]string, error)
	// GetLease returns a run's lease, expired or not; ErrNotFound when the
	// run has none (a run released or completed without a driver has none,
	// and a finished run has none: the transition that finishes a run drops
	// its lease, so its driver need not release it).
	GetLease(ctx context.Context, runID string) (Lease, error)
}
