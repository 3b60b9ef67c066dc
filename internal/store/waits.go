package store

import (
	"context"
	"time"
)

// ExpiredWait is a node run that waits for a completion from outside and
// whose deadline (Transition.WaitUntil) has passed.
type ExpiredWait struct {
	RunID     string
	NodeRunID string
	Deadline  time.Time
	// Continue is Transition.WaitContinue: at the deadline the node
	// succeeds with {"timeout": true} instead of failing.
	Continue bool
}

// WaitStore is implemented by stores that keep the deadlines of waiting node
// runs (Transition.WaitUntil). It is apart from Store so that a store can
// add it on its own schedule; the server expires waits only on a store that
// implements it (docs/decisions/007-durable-waits.md).
type WaitStore interface {
	// ExpiredWaits returns at most limit node runs (limit <= 0 means 100)
	// that are IN_PROGRESS, wait for a completion from outside, belong to
	// an IN_PROGRESS run and have a deadline at or before now, earliest
	// deadline first.
	ExpiredWaits(ctx context.Context, now time.Time, limit int) ([]ExpiredWait, error)
}
