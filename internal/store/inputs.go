package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
)

// ErrResponded is returned (wrapping ErrConflict) by InputStore.Respond when
// the responder has already responded to the node run: one response each.
var ErrResponded = fmt.Errorf("%w: already responded", ErrConflict)

// ErrDecided is returned (wrapping ErrConflict) by InputStore.Respond when
// the node run no longer takes responses: an outlet already reached its
// count, or the node run or its run is no longer IN_PROGRESS.
var ErrDecided = fmt.Errorf("%w: no longer takes responses", ErrConflict)

// InputRequest is what an INPUT node run asks its responders: its
// description and form as rendered when the run reached the node
// (redacted, since they are shown), opened by the node's executor.
type InputRequest struct {
	NodeRunID string
	RunID     string
	Prompt    redact.JSON
	CreatedAt time.Time
}

// InputResponse is one responder's answer to an INPUT node run.
type InputResponse struct {
	NodeRunID string
	// ResponderID is the user's id: one response per responder.
	ResponderID string
	// Email, FirstName and LastName are the responder's, as they were when
	// they responded (Port's submitterInfo).
	Email     string
	FirstName string
	LastName  string
	Button    string
	// Inputs are the form's values as validated, redacted.
	Inputs      redact.JSON
	RespondedAt time.Time
}

// InputOutlet is an outlet of an INPUT node as Respond evaluates it: the
// button it counts and how many responses with that button take it.
type InputOutlet struct {
	Button string
	Need   int
}

// InputDecision is the state of an INPUT node run after a response: the
// outlet taken ("" while none reached its count) and every response so far,
// oldest first.
type InputDecision struct {
	NodeRunID string
	RunID     string
	Outlet    string
	Responses []InputResponse
}

// InputStore keeps the requests of INPUT node runs and their responses, and
// decides, one response at a time, when an outlet reaches its count. It is
// apart from Store so that a store can add it on its own schedule; a server
// on a store without it fails INPUT nodes saying so.
type InputStore interface {
	// OpenInput records the request of an INPUT node run. Opening it again
	// (the node executed again after a restart) replaces the prompt and
	// keeps the responses. ErrNotFound when the node run is missing,
	// ErrConflict when it or its run is not IN_PROGRESS.
	OpenInput(ctx context.Context, req InputRequest) error
	// GetInput returns the request of a node run; ErrNotFound when none was
	// opened.
	GetInput(ctx context.Context, nodeRunID string) (InputRequest, error)
	// Respond records r and, in the same transaction, counts the responses
	// per button and takes the first outlet, in the order given, whose count
	// reaches Need. Exactly one response ever takes an outlet: once one has,
	// the node run takes no more responses. It fails with ErrNotFound when
	// no request was opened for r.NodeRunID, ErrResponded when r.ResponderID
	// responded already, and ErrDecided when an outlet was taken already or
	// the node run or its run is not IN_PROGRESS; nothing is recorded then.
	Respond(ctx context.Context, r InputResponse, outlets []InputOutlet) (InputDecision, error)
	// Responses returns the decision so far of a node run (Outlet "" while
	// undecided) with its responses, oldest first; ErrNotFound when no
	// request was opened.
	Responses(ctx context.Context, nodeRunID string) (InputDecision, error)
	// UndeliveredDecisions returns at most limit (<= 0: 100) decisions
	// whose node run is still IN_PROGRESS in an IN_PROGRESS run: the
	// process that decided stopped before it completed the node run.
	UndeliveredDecisions(ctx context.Context, limit int) ([]InputDecision, error)
	// OpenInputs returns at most limit (<= 0: 100) requests that take
	// responses (undecided, node run and run IN_PROGRESS), oldest first.
	OpenInputs(ctx context.Context, limit int) ([]InputRequest, error)
}
