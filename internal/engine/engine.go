// Package engine drives workflow runs: it creates a run from a trigger, renders
// each node's config, resolves the secrets the node reads, executes the node
// through its registered executor, applies variables and links, redacts
// everything the node produced, and commits each step to the store before it
// takes the next one. A run follows one path; parallelism lives between runs.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/traceparent"
	"github.com/sluice-run/sluice/internal/workflow"
)

// SecretSource resolves secret values by name for one node run. It fails
// with an error matching secret.ErrNotDefined for a name it does not know.
type SecretSource interface {
	Resolve(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error)
}

// Options configure an Engine.
type Options struct {
	Store   store.Store
	Nodes   *node.Registry
	Secrets SecretSource // nil: every secret reference fails as not defined
	Logger  *slog.Logger // nil: discard
	// OnEvent, when set, is called synchronously as the run progresses (the
	// CLI prints from it). It must not block for long.
	OnEvent func(Event)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ProcessRedactor, when set, also registers every secret value the
	// engine resolves, so that the process's own log (written through
	// ProcessRedactor.NewWriter) masks them too, as a second line of defence.
	ProcessRedactor *redact.Redactor
	// MaxTemplateBytes bounds what one render of a node's templates may
	// allocate for strings, arrays and objects (tmpl.Limits.MaxBytes): a
	// template that would grow past it fails its node instead of
	// exhausting the process's memory. 0 means tmpl.DefaultMaxBytes.
	MaxTemplateBytes int
	// MaxDefinitions bounds how many compiled workflow versions the engine
	// keeps in memory (least recently used evicted; an evicted version is
	// parsed again from the store when needed). 0 means
	// DefaultMaxDefinitions.
	MaxDefinitions int
	// MaxAttempts bounds how many times the execution of one node run may
	// begin: a node run whose execution was interrupted (the process
	// stopped while it ran) MaxAttempts times is failed instead of being
	// executed again. 0 means DefaultMaxAttempts.
	MaxAttempts int
	// RetryFor is how long a driver retries a step that the store refused
	// as unavailable (store.ErrUnavailable), with exponential backoff, before
	// it gives up and leaves the run as committed for a later sweep
	// (Engine.ExecuteIfIdle). 0 means DefaultRetryFor; a negative value
	// disables the retries.
	RetryFor time.Duration
	// Tracer, when set, is told of every node run and run that ends
	// (trace.go); nil traces nothing.
	Tracer Tracer
	// Sealer, when set (else Secrets when it implements Sealer) and the
	// store implements store.SealStore, seals every value a run's redactor
	// knows into the store with the step that used it, so that a waiting
	// run keeps no redactor in memory (seal.go).
	Sealer Sealer
	// LeaseOwner, when set on a store that implements store.LeaseStore,
	// makes the engine lease each run it drives to this owner (one per
	// process, see NewLeaseOwner), so that several processes can share the
	// store (lease.go, docs/decisions/023-leases-and-takeover.md).
	// LeaseTTL is the leases' length; 0 means DefaultLeaseTTL.
	LeaseOwner string
	LeaseTTL   time.Duration
}

// DefaultMaxAttempts is Options.MaxAttempts when it is 0.
const DefaultMaxAttempts = 3

// DefaultRetryFor is Options.RetryFor when it is 0.
const DefaultRetryFor = time.Minute

// The backoff between retries of a step refused by an unavailable store
// starts at minBackoff and doubles up to maxBackoff.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// EventKind says what happened.
type EventKind int

// Event kinds.
const (
	NodeStarted EventKind = iota + 1
	NodeFinished
	NodeWaiting // the node stays IN_PROGRESS until completed from outside
	RunFinished
	// RunDriving: this engine begins a drive of an IN_PROGRESS run; a
	// RunIdle for the same run follows when that drive ends, whatever
	// happened (after RunFinished, when it finished the run). Between the
	// two, this process will report the run's end or the drive's, so a
	// watcher of this process needs nothing read to wait for it
	// (runevents.Subscription.Live). Neither is logged nor leaves the
	// process.
	RunDriving
	RunIdle
)

// Event reports progress. Error is redacted.
type Event struct {
	Kind      EventKind
	RunID     string
	NodeID    string
	NodeRunID string
	Type      string
	Result    string // node or run result, for NodeFinished and RunFinished
	Duration  time.Duration
	Error     string
}

// Engine drives runs. It is safe for concurrent use; each run is driven by
// one goroutine at a time.
type Engine struct {
	store   store.Store
	nodes   *node.Registry
	secrets SecretSource
	log     *slog.Logger
	onEvent func(Event)
	now     func() time.Time
	procRed *redact.Redactor
	// maxAttempts and retryFor are Options.MaxAttempts and
	// Options.RetryFor with their defaults applied.
	maxAttempts int
	// limits bound every render of the engine's templates.
	limits   tmpl.Limits
	retryFor time.Duration
	tracer   Tracer // nil: no tracing

	defs    *defCache // compiled workflow versions, least recently used evicted
	started sync.Map  // run identifier → *runState, from Start to Execute
	// redactors holds each unfinished run's redactor: it knows every value
	// the run's nodes used, so what an outside completion sends is masked
	// against the same values, even those derived or rotated meanwhile.
	redactors sync.Map      // run identifier → *redact.Redactor
	redCache  *redact.Cache // matchers shared by the runs' redactors
	// degraded holds the runs whose redactor was rebuilt after a restart
	// without every value the waiting node derived (re-derivation failed):
	// their completions are masked whole (maskConservatively).
	degraded sync.Map // run identifier → struct{}
	// sealer and seals, both set when sealing is on (initSeal).
	sealer Sealer
	seals  store.SealStore

	// leases is nil unless the engine leases the runs it drives.
	leases *leases

	mu      sync.Mutex
	locks   map[string]*runLock // run identifier → lock, while a run is driven
	cancels map[string]context.CancelFunc
}

type runLock struct {
	mu   sync.Mutex
	refs int
}

// New returns an engine.
func New(opts Options) *Engine {
	e := &Engine{
		store:   opts.Store,
		nodes:   opts.Nodes,
		secrets: opts.Secrets,
		log:     opts.Logger,
		onEvent: opts.OnEvent,
		now:     opts.Now,
		procRed: opts.ProcessRedactor,
		tracer:  opts.Tracer,
		// Runs of the same workflows register the same patterns; 256
		// matchers cover many workflows and stay small.
		redCache: redact.NewCache(256),
		defs:     newDefCache(opts.MaxDefinitions),
		locks:    map[string]*runLock{},
		cancels:  map[string]context.CancelFunc{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.nodes == nil {
		e.nodes = node.NewRegistry()
	}
	e.limits = renderLimits(opts.MaxTemplateBytes)
	e.initSeal(opts)
	e.leases = newLeases(opts.Store, opts.LeaseOwner, opts.LeaseTTL)
	e.maxAttempts = opts.MaxAttempts
	if e.maxAttempts <= 0 {
		e.maxAttempts = DefaultMaxAttempts
	}
	switch e.retryFor = opts.RetryFor; {
	case e.retryFor == 0:
		e.retryFor = DefaultRetryFor
	case e.retryFor < 0:
		e.retryFor = 0
	}
	return e
}

// Errors returned by the engine.
var (
	// ErrInvalidInputs wraps an *InputError.
	ErrInvalidInputs = errors.New("invalid inputs")
	// ErrNotTrigger is returned when a run is started from a node that is not
	// a trigger of the workflow.
	ErrNotTrigger = errors.New("not a trigger")
)

// InputError lists every problem with a run's inputs.
type InputError struct {
	Problems []workflow.Problem
}

func (e *InputError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	return fmt.Sprintf("%s (and %d more)", e.Problems[0].String(), len(e.Problems)-1)
}

// Unwrap makes errors.Is(err, ErrInvalidInputs) true.
func (e *InputError) Unwrap() error { return ErrInvalidInputs }

// Actor is who started a run.
type Actor struct {
	ID        string // stored as the run's createdBy
	Email     string
	FirstName string
	LastName  string
}

// StartRequest starts a run.
type StartRequest struct {
	Workflow *workflow.Workflow
	Version  int
	// Trigger is the identifier of the trigger node; "" picks the workflow's
	// only SELF_SERVE_TRIGGER.
	Trigger string
	Inputs  map[string]any
	Actor   Actor
	// Output, for a run that starts by itself (EVENT_TRIGGER,
	// SCHEDULE_TRIGGER: Trigger must name one), is the trigger's output;
	// such triggers take no inputs.
	Output map[string]any
	// Authorize, when set, is called with the trigger's output (the inputs
	// validated, defaults applied) before anything is stored: an error it
	// returns is Start's, and no run is created. The API decides a
	// trigger's permission policy here, since it reads the form. It must
	// not keep or change the form.
	Authorize func(ctx context.Context, form map[string]any) error
	// RunID, when set, is the run's identifier (see DerivedRunID): starting
	// the same run twice then fails with an error matching store.ErrExists
	// and starts nothing.
	RunID string
	// TraceParent, when set, is the caller's span context (the W3C
	// traceparent of the creation request): the run's spans join the
	// caller's trace, its root span a child of the caller's span. It is
	// stored with the run (store.TraceParentStore) for every process that
	// reports them (docs/decisions/029-joining-the-callers-trace.md).
	TraceParent traceparent.Parent
}

// idAlphabet is in ASCII order, so that identifiers sort by their time
// prefix.
const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix + 16 alphanumerics: 7 that encode the time in
// milliseconds (62^7 ms is 111 years from 1970), then 9 random ones (62^9 ≈ 1.4e16 per millisecond).
//
// Time-ordered identifiers keep the store's B-trees appending at their right
// edge: the node runs and logs that one commit writes share index pages
// instead of touching one random page each, which is most of a commit's cost.
func newID(prefix string, now time.Time) string {
	out := make([]byte, len(prefix)+16)
	copy(out, prefix)
	ms := uint64(now.UnixMilli())
	for i := len(prefix) + 6; i >= len(prefix); i-- {
		out[i] = idAlphabet[ms%62]
		ms /= 62
	}
	var b [9]byte
	// rand.Read never fails on supported platforms (Go 1.24+ crashes instead).
	_, _ = rand.Read(b[:])
	for i, x := range b {
		// 256 % 62 skews slightly; the ids need uniqueness, not uniformity.
		out[len(prefix)+7+i] = idAlphabet[int(x)%len(idAlphabet)]
	}
	return string(out)
}

// NewRunID returns a fresh run identifier, wfr_ + 16 alphanumerics.
func NewRunID() string { return newID("wfr_", time.Now()) }

// NewNodeRunID returns a fresh node run identifier, wfnr_ + 16 alphanumerics.
func NewNodeRunID() string { return newID("wfnr_", time.Now()) }

// lock serializes the drivers of one run within this process.
func (e *Engine) lock(runID string) func() {
	e.mu.Lock()
	l := e.locks[runID]
	if l == nil {
		l = &runLock{}
		e.locks[runID] = l
	}
	l.refs++
	e.mu.Unlock()
	l.mu.Lock()
	return func() { e.unlock(runID, l) }
}

// tryLock takes the run's lock only when no driver of this process holds it
// or waits for it; ok is false otherwise.
func (e *Engine) tryLock(runID string) (unlock func(), ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, busy := e.locks[runID]; busy {
		return nil, false
	}
	l := &runLock{refs: 1}
	l.mu.Lock() // uncontended: nobody else knows l yet
	e.locks[runID] = l
	return func() { e.unlock(runID, l) }, true
}

func (e *Engine) unlock(runID string, l *runLock) {
	l.mu.Unlock()
	e.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(e.locks, runID)
	}
	e.mu.Unlock()
}

// emit reports progress to OnEvent and the process log. Events carry only
// identifiers, words the program wrote and redacted error text.
func (e *Engine) emit(ev Event) {
	switch ev.Kind {
	case NodeFinished:
		e.log.Debug("node finished", "run", ev.RunID, "node", ev.NodeID, "nodeRun", ev.NodeRunID, "type", ev.Type, "result", ev.Result, "duration_ms", durationMS(ev.Duration))
		if ev.Error != "" {
			e.log.Info("node failed", "run", ev.RunID, "node", ev.NodeID, "nodeRun", ev.NodeRunID, "error", ev.Error)
		}
	case NodeWaiting:
		e.log.Debug("node waiting", "run", ev.RunID, "node", ev.NodeID, "nodeRun", ev.NodeRunID)
	case RunFinished:
		e.log.Info("run finished", "run", ev.RunID, "result", ev.Result)
	}
	if e.onEvent != nil {
		e.onEvent(ev)
	}
}

// Definition returns the compiled workflow version a run runs, parsing it
// from the store once per process while it stays cached (versions never
// change once stored).
func (e *Engine) Definition(ctx context.Context, id string, version int) (*workflow.Workflow, error) {
	if wf, ok := e.defs.get(defKey(id, version)); ok {
		return wf, nil
	}
	rec, err := e.store.GetWorkflowVersion(ctx, id, version)
	if err != nil {
		return nil, fmt.Errorf("load workflow %s version %d: %w", id, version, err)
	}
	return e.Compiled(rec)
}

// Compiled returns the compiled form of a stored workflow version, parsing
// it once per process while it stays cached (Options.MaxDefinitions).
func (e *Engine) Compiled(rec store.Workflow) (*workflow.Workflow, error) {
	key := defKey(rec.Identifier, rec.Version)
	if wf, ok := e.defs.get(key); ok {
		return wf, nil
	}
	wf, problems := workflow.ParseStored(rec.Definition)
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("stored workflow %s version %d no longer parses: %w", rec.Identifier, rec.Version, err)
	}
	return e.defs.add(key, wf), nil
}

// Remember caches wf, just parsed by the caller, as the given version of its
// workflow, so that runs of it need not parse it again.
func (e *Engine) Remember(wf *workflow.Workflow, version int) {
	e.defs.add(defKey(wf.Identifier, version), wf)
}

func defKey(id string, version int) string { return fmt.Sprintf("%s@%d", id, version) }

// durationMS is d in milliseconds, as process logs carry durations
// ("duration_ms"), with microsecond precision.
func durationMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
