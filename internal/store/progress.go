package store

import (
	"context"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
)

// NodeRunProgress is what an outside system reports for a node run that is
// still IN_PROGRESS (Port's PATCH of a node run with status IN_PROGRESS): the
// output it has so far, its links and log lines. Port keeps such an output
// and shows it on the node run; a completion that sends none ends with it
// (docs/api.md, "Completing an async node").
type NodeRunProgress struct {
	NodeRunID string
	// Output replaces the stored output of the node run; zero keeps it.
	Output redact.JSON
	// Links replace the stored links when SetLinks is true (none clears
	// them); otherwise the stored links are kept.
	Links    []redact.Text
	SetLinks bool
	// Logs are appended, in order; they must belong to NodeRunID.
	Logs []Log
	// UpdatedAt is the node run's new updated time; zero is now.
	UpdatedAt time.Time
}

// ProgressStore is implemented by stores that keep the output and links an
// outside system reports for a node run before it completes. It is apart
// from Store, as ExternalRunStore is.
type ProgressStore interface {
	// SetNodeRunProgress stores p in one transaction: ErrNotFound when the
	// node run does not exist, ErrConflict when it or its run is no longer
	// IN_PROGRESS, and then nothing of p is stored. The node run's status,
	// result and Waiting are unchanged.
	SetNodeRunProgress(ctx context.Context, p NodeRunProgress) error
}
