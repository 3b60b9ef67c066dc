package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
)

// DueWake is a waiting node run whose wake time (Transition.WakeAt) has
// come: its executor asked to be called again then (a poll of a provider's
// run), with the state it saved (Transition.WaitState).
type DueWake struct {
	RunID     string
	NodeRunID string
	WakeAt    time.Time
	// State is what the executor saved, as redacted when it was stored.
	State redact.JSON
}

// WakeStore is implemented by stores that keep wake times and saved state of
// waiting node runs (Transition.WakeAt, WaitState, WaitFor). It is apart from
// Store so that a store can add it on its own schedule; executors that poll
// (INTEGRATION_ACTION with reportWorkflowStatus) and hand node runs to
// external integrations work only on a store that implements it
// (docs/decisions/012-wake-and-handoff.md).
type WakeStore interface {
	// DueWakes returns at most limit node runs (limit <= 0 means 100) that
	// are IN_PROGRESS, wait, belong to an IN_PROGRESS run and have a wake
	// time at or before now, earliest first.
	DueWakes(ctx context.Context, now time.Time, limit int) ([]DueWake, error)
}

// Installation is a configured integration: which provider acts for
// INTEGRATION_ACTION nodes that name its ID, where its API is, and the NAME
// of the organization secret that holds its token (never the token).
type Installation struct {
	ID          string
	Provider    string // github-ocean | gitlab | any other name
	BaseURL     string // "" for the provider's public API
	TokenSecret string // the secret's name; "" for none
	// External hands the node runs of a GitHub or GitLab installation to an
	// external integration (claim/ack) instead of calling the provider.
	// Installations of other providers are always external.
	External  bool
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Claim is the claim state of a node run handed to an external integration
// (a node run that waits with Transition.WaitFor "integration:" + ID). It
// never holds the configuration the claim returned.
type Claim struct {
	NodeRunID      string
	RunID          string
	InstallationID string
	ClaimedBy      string // the client id that claimed it last
	ClaimedUntil   time.Time
	// Claims counts how many times the node run was claimed.
	Claims  int
	AckedAt *time.Time
}

// Errors of acknowledgements; both match ErrConflict.
var (
	ErrAlreadyAcked = fmt.Errorf("%w: the node run is already acknowledged", ErrConflict)
	ErrNotClaimed   = fmt.Errorf("%w: the node run is not claimed by this client, or its claim expired", ErrConflict)
)

// WaitForIntegration is the Transition.WaitFor of a node run handed to the
// external integration of an installation.
func WaitForIntegration(installationID string) string { return "integration:" + installationID }

// IntegrationStore is implemented by stores that keep installations and the
// claims of external integrations. It is apart from Store, as WaitStore is.
type IntegrationStore interface {
	// CreateInstallation adds an installation; ErrExists when the id is
	// taken. Zero times are now.
	CreateInstallation(ctx context.Context, in Installation) error
	// GetInstallation returns one; ErrNotFound when missing.
	GetInstallation(ctx context.Context, id string) (Installation, error)
	// ListInstallations returns every installation, ordered by id.
	ListInstallations(ctx context.Context) ([]Installation, error)
	// DeleteInstallation removes one; ErrNotFound when missing. Node runs
	// that wait for it keep waiting (until a deadline or a cancel).
	DeleteInstallation(ctx context.Context, id string) error

	// ClaimNodeRuns claims, in one transaction, at most limit (1 to 100)
	// node runs that wait for installationID (WaitForIntegration), are
	// IN_PROGRESS in an IN_PROGRESS run, are not acknowledged and are not
	// claimed, or whose claim ended at or before now; oldest first. Each is
	// claimed by claimer until until. Two claims never return the same node
	// run while its claim lasts.
	ClaimNodeRuns(ctx context.Context, installationID, claimer string, now, until time.Time, limit int) ([]Claim, error)
	// AckNodeRun acknowledges a claimed node run, so that it is not offered
	// again: ErrNotFound when the node run was never claimed,
	// ErrAlreadyAcked when it is acknowledged already, ErrNotClaimed when
	// claimer does not hold an unexpired claim on it.
	AckNodeRun(ctx context.Context, nodeRunID, claimer string, now time.Time) (Claim, error)
	// GetClaim returns a node run's claim state; ErrNotFound when it was
	// never claimed.
	GetClaim(ctx context.Context, nodeRunID string) (Claim, error)
}
