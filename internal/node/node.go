// Package node defines how the engine executes a node: the Executor interface
// that every node type implements, and the Registry that maps config.type to
// an executor. A node type is added by writing one package under internal/node
// and registering it; the engine never switches on a type string.
package node

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Executor runs one node.
type Executor interface {
	// Execute runs the node described by req. A returned error fails the
	// node; its text is redacted before it is stored or shown. Executors
	// must not put URLs' userinfo or query strings in errors.
	Execute(ctx context.Context, req *Request) (Result, error)
}

// Log levels of node run logs.
const (
	LevelDebug = "DEBUG"
	LevelInfo  = "INFO"
	LevelWarn  = "WARN"
	LevelError = "ERROR"
)

// Request is everything an executor gets.
type Request struct {
	WorkflowID      string
	WorkflowVersion int
	RunID           string // wfr_...
	NodeRunID       string // wfnr_...
	// Node is the node's definition (compiled); flow-control executors read
	// their outlets from it.
	Node *workflow.Node
	// Config is the node's config rendered for this run: a map decoded from
	// JSON (numbers as json.Number or float64). Executors decode it into
	// their own types and report bad values with their JSON path
	// ("config.headers.Authorization: must be a string").
	Config map[string]any
	// Eval evaluates a compiled bare expression against the run's context
	// (.outputs, .workflow, .workflowRun); CONDITION uses it.
	Eval func(e *tmpl.Expr) (any, error)
	// Log appends a line to the node run's log. The engine redacts it.
	Log func(level, message string)
	// Redact passes v through the run's redactor, for what an executor
	// stores or shows itself (an INPUT node's prompt and notifications).
	Redact func(v any) (redact.JSON, error)
	// Secret resolves an organization secret by name for this node run
	// (an installation's token): the engine audits the resolution and
	// registers the value with the run's redactor before it returns it, so
	// that a provider echoing it back is masked. Nil when the engine has
	// no secrets.
	Secret func(ctx context.Context, name string) (string, error)
	// State, for a Poller's Poll, is what the executor saved with its last
	// Result.State (decoded JSON, as redacted when it was stored); nil for
	// Execute.
	State any
}

// Poller is implemented by executors whose node waits on something they
// check themselves (a provider's run): a Result with Pending and WakeAt
// makes the engine call Poll at WakeAt, from the store, across restarts,
// with no goroutine while it waits. Poll returns what Execute would: a
// Result that is Pending again (with the next WakeAt), an Output, or an
// error that fails the node.
type Poller interface {
	Poll(ctx context.Context, req *Request) (Result, error)
}

// Pure is implemented by executors whose Execute only computes its Result
// from its Request: it changes nothing outside the run, never waits (no
// Pending), returns at once, and gives the same Result for the same
// Request (CONDITION). The engine evaluates such a node within the step
// that reaches it and stores its node run, already completed, with that
// step's commit (store.Transition.Passed), instead of one commit to start
// it and another to complete it. A process that stops before that commit
// evaluates the node again when the run resumes, which, being pure, is
// the same.
type Pure interface {
	Executor
	// Pure reports whether Execute is pure as described; false makes the
	// engine start and complete the node in commits of their own.
	Pure() bool
}

// Result is what a node produced.
type Result struct {
	// Output is the node's raw result (.result for variables and links).
	Output any
	// Pending leaves the node IN_PROGRESS: it is completed from outside
	// (an async webhook, a Kafka consumer, an approval).
	Pending bool
	// WaitUntil, with Pending, is the deadline of the wait (zero: none).
	// The engine stores it with the waiting node run; a node run still
	// waiting then ends as a timeout: it fails, or, with
	// OnTimeoutContinue, succeeds with the output {"timeout": true}. The
	// deadline survives a restart and holds no goroutine.
	WaitUntil time.Time
	// OnTimeoutContinue is onTimeout "continue" for WaitUntil.
	OnTimeoutContinue bool
	// WakeAt, with Pending, asks the engine to call the executor's Poll
	// (it must implement Poller) at that time, with State. The state is
	// redacted and stored: it must hold what the next poll needs (a
	// provider's run id and URL), never a secret.
	WakeAt time.Time
	State  any
	// WaitFor, with Pending, says what the node run waits for, when
	// something other than a completion through the API picks it up:
	// "integration:ID" hands it to the external integration of
	// installation ID (claim-pending / ack).
	WaitFor string
	// Outlet is the outlet taken by a flow-control node; "" means none
	// matched (the fallback connection, or the branch ends).
	Outlet string
}

// Registry maps node types to executors. It is built once at start-up and
// read-only afterwards.
type Registry struct {
	m map[string]Executor
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Executor{}} }

// Register adds the executor for a node type. Registering a type twice is a
// programming error and panics.
func (r *Registry) Register(typ string, e Executor) {
	if _, dup := r.m[typ]; dup {
		panic(fmt.Sprintf("node: executor for %s registered twice", typ))
	}
	r.m[typ] = e
}

// Lookup returns the executor for a node type.
func (r *Registry) Lookup(typ string) (Executor, bool) {
	e, ok := r.m[typ]
	return e, ok
}

// Types returns the registered types, sorted.
func (r *Registry) Types() []string {
	ts := make([]string, 0, len(r.m))
	for t := range r.m {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}
