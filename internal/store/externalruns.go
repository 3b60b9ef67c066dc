package store

import (
	"context"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
)

// MaxExternalRunIDLen bounds an external run id, in bytes.
const MaxExternalRunIDLen = 256

// ExternalRun is the external run id of a node run: the id an external
// system (an Ocean integration, a CI provider) gave the work it does for
// the node run, recorded so that the node run can be found again from that
// system's events (Port's externalRunId).
type ExternalRun struct {
	NodeRunID string
	RunID     string
	// ExternalRunID is caller-supplied text, redacted before it is stored.
	ExternalRunID redact.Text
	SetAt         time.Time
}

// ExternalRunStore is implemented by stores that keep the external run ids
// of node runs. It is apart from Store, as IntegrationStore is
// (docs/decisions/024-external-run-ids.md).
type ExternalRunStore interface {
	// SetExternalRunID records id as the external run id of a node run,
	// replacing any earlier one: ErrNotFound when the node run does not
	// exist, ErrConflict when it or its run is no longer IN_PROGRESS (in
	// the same transaction as the write). id is 1 to MaxExternalRunIDLen
	// bytes. A zero now is the current time.
	SetExternalRunID(ctx context.Context, nodeRunID string, id redact.Text, now time.Time) error
	// ExternalRunIDs returns the external run ids of the given node runs
	// that have one, by node run identifier.
	ExternalRunIDs(ctx context.Context, nodeRunIDs []string) (map[string]ExternalRun, error)
	// FindExternalRuns returns at most limit (limit <= 0 means 100) node
	// runs whose external run id is exactly id, the most recently set
	// first; none is not an error.
	FindExternalRuns(ctx context.Context, id string, limit int) ([]ExternalRun, error)
}
