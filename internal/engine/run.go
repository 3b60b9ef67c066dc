package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// runState is what the engine holds in memory while it drives a run. Outputs
// are the redacted outputs, decoded: later nodes read exactly what was
// stored, so a resumed run behaves like one that never stopped.
type runState struct {
	run      store.Run
	wf       *workflow.Workflow
	outputs  map[string]any
	red      *redact.Redactor
	seq      int  // Seq of the newest node run
	failed   bool // a node failed with onFailure terminate
	wfCtx    map[string]any
	runCtx   map[string]any
	triggerN string
	// created holds the node runs Start stored, in order, for a run just
	// started: the trigger's, then possibly the first node to execute,
	// whose first attempt the creation counted.
	created []store.NodeRun
	by      map[string]any // .workflowRun.trigger.by
	// retry is set while the run is driven in the background (Execute):
	// its steps are retried while the store is unavailable. A request
	// (an outside completion) is answered at once instead.
	retry bool
	// pending holds the values registered since the last committed step,
	// sealed with the next one (seal.go); degraded is set when the
	// redactor was rebuilt without every value the run used.
	pending  *sealBuf
	sealOnce sync.Once
	degraded bool
	// traceParent is the caller's span context the run's creation request
	// carried (zero: none), read with the run when tracing (decision 029).
	traceParent traceparent.Parent
}

// nonEmpty is s, or nil (JSON null) when it is empty.
func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Start validates the inputs, then creates the run and its trigger node run
// in one transaction. It does not execute any node: call Execute (or let a
// server do it in the background). The returned run is IN_PROGRESS.
func (e *Engine) Start(ctx context.Context, req StartRequest) (store.Run, error) {
	wf := req.Workflow
	trig, err := pickTrigger(wf, req.Trigger)
	if err != nil {
		return store.Run{}, err
	}
	inputs := req.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	var output map[string]any
	if req.Output != nil {
		// A run that starts by itself: its trigger's output is given.
		if trig.Type == workflow.TypeSelfServeTrigger || len(inputs) > 0 {
			return store.Run{}, fmt.Errorf("%w: an output is given only to an event or schedule trigger, which take no inputs", ErrNotTrigger)
		}
		output = req.Output
	} else {
		// A trigger without userInputs accepts no inputs. The form's jq
		// (defaults, visible, disabled, required, validations) sees the caller.
		user := map[string]any{"email": nonEmpty(req.Actor.Email), "firstName": nonEmpty(req.Actor.FirstName), "lastName": nonEmpty(req.Actor.LastName)}
		form, problems := trig.UserInputs.ValidateFor(inputs, workflow.FormEnv{
			User:     user,
			Workflow: map[string]any{"identifier": wf.Identifier, "version": req.Version},
		})
		if len(problems) > 0 {
			return store.Run{}, &InputError{Problems: problems}
		}
		output = form
		if req.Authorize != nil {
			if err := req.Authorize(ctx, form); err != nil {
				return store.Run{}, err
			}
		}
	}
	e.Remember(wf, req.Version)

	// To the microsecond, what every store keeps, so that the run as its
	// creator shows it (CreatedNodeRuns) is the run as a read gives it.
	now := e.now().UTC().Truncate(time.Microsecond)
	runID := req.RunID
	if runID == "" {
		runID = NewRunID()
	}
	run := store.Run{
		Identifier:      runID,
		WorkflowID:      wf.Identifier,
		WorkflowVersion: req.Version,
		Status:          store.StatusInProgress,
		CreatedBy:       req.Actor.ID,
		TriggerNode:     trig.Identifier,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	st := e.newState(run, wf)
	st.traceParent = req.TraceParent
	st.by = map[string]any{"email": nonEmpty(req.Actor.Email), "firstName": nonEmpty(req.Actor.FirstName), "lastName": nonEmpty(req.Actor.LastName)}
	st.runCtx["trigger"] = map[string]any{"identifier": run.TriggerNode, "by": st.by}
	if e.sealing() && len(referencedSecrets(wf)) > 0 {
		// The first step seals what Start registers, marked as the origin.
		st.sealBuf().origin = true
	}
	// Every secret the workflow references anywhere is registered before
	// anything of the run is stored, so a secret value typed into an input
	// is masked too.
	if err := e.registerAll(ctx, st, ""); err != nil {
		return store.Run{}, err
	}
	out, err := st.red.JSON(output)
	if err != nil {
		return store.Run{}, fmt.Errorf("encode trigger output: %w", err)
	}
	// A trigger's variables and links apply to its output like an action
	// node's, over the output as redacted.
	var links []redact.Text
	if trig.Variables != nil || len(trig.Links) > 0 {
		if out, links, err = e.triggerVariables(st, trig, out); err != nil {
			return store.Run{}, &InputError{Problems: []workflow.Problem{{Path: "inputs", Message: "the trigger's variables or links failed: " + err.Error()}}}
		}
	}
	first := store.NodeRun{
		Identifier:  NewNodeRunID(),
		RunID:       run.Identifier,
		NodeID:      trig.Identifier,
		Seq:         0,
		Status:      store.StatusCompleted,
		Result:      store.ResultSuccess,
		Output:      out,
		Links:       links,
		CreatedAt:   now,
		UpdatedAt:   now,
		CompletedAt: &now,
	}
	if err := st.setOutput(trig.Identifier, out); err != nil {
		return store.Run{}, err
	}
	st.created = []store.NodeRun{first}
	if next, ok := e.startWith(st, trig, first); ok {
		// The first node's start (its first attempt counted) commits with
		// the run's creation: one commit less per run.
		st.seq = 1
		st.created = append(st.created, store.NodeRun{
			Identifier: NewNodeRunID(),
			RunID:      run.Identifier,
			NodeID:     next,
			Seq:        st.seq,
			Status:     store.StatusInProgress,
			Attempts:   1,
			CreatedAt:  now,
			UpdatedAt:  now,
		})
	}
	if err := e.createRun(ctx, st, st.created); err != nil {
		return store.Run{}, fmt.Errorf("create run: %w", err)
	}
	if _, ok := e.store.(store.RunCreator); !ok {
		// A RunCreator wrote it with the run (store.Creation.TraceParent).
		e.setTraceParent(ctx, run.Identifier, req.TraceParent)
	}
	e.started.Store(run.Identifier, st)
	e.redactors.Store(run.Identifier, st.red)
	e.emit(Event{Kind: NodeFinished, RunID: run.Identifier, NodeID: trig.Identifier, NodeRunID: first.Identifier, Type: trig.Type, Result: store.ResultSuccess})
	e.traceNode(st, trig, first, store.ResultSuccess, now, nil, "")
	return run, nil
}

// CreatedNodeRuns returns the node runs Start stored with a run, as it
// stored them, while the run has not been driven yet (false after that, or
// for a run this engine did not start): what its creator shows of it
// without reading it back.
func (e *Engine) CreatedNodeRuns(runID string) ([]store.NodeRun, bool) {
	v, ok := e.started.Load(runID)
	if !ok {
		return nil, false
	}
	return v.(*runState).created, true
}

// startWith returns the node whose start Start commits with the run's
// creation: the trigger's successor, when the store creates a run with
// several node runs (store.RunCreator) and the successor is no pure node
// (which execute evaluates within its first step instead).
func (e *Engine) startWith(st *runState, trig *workflow.Node, first store.NodeRun) (string, bool) {
	if _, ok := e.store.(store.RunCreator); !ok {
		return "", false
	}
	next, ok := e.successor(st, trig, first, "")
	if !ok || e.pure(st.wf.Node(next)) {
		return "", false
	}
	return next, true
}

// triggerVariables renders a trigger's variables (which replace its output)
// and links over its redacted output.
func (e *Engine) triggerVariables(st *runState, trig *workflow.Node, out redact.JSON) (redact.JSON, []redact.Text, error) {
	var result any
	if err := json.Unmarshal(out.Bytes(), &result); err != nil {
		return out, nil, fmt.Errorf("decode redacted output: %w", err)
	}
	post := &tmpl.Context{Limits: e.limits, Result: result, HasResult: true, Workflow: st.wfCtx, WorkflowRun: st.runCtx, Extra: resultRoots(result)}
	if trig.Variables != nil {
		v, err := trig.Variables.Render(post)
		if err != nil {
			return out, nil, err
		}
		if out, err = st.red.JSON(v); err != nil {
			return out, nil, fmt.Errorf("variables are not JSON: %w", err)
		}
	}
	var links []redact.Text
	for i, l := range trig.Links {
		v, err := l.Render(post)
		if err != nil {
			return out, nil, fmt.Errorf("links[%d]: %w", i, err)
		}
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		links = append(links, st.red.Text(s))
	}
	return out, links, nil
}

// CheckTrigger reports, as an error matching ErrNotTrigger, when id ("" for
// the only self-serve trigger) names no trigger a run can start from.
func CheckTrigger(wf *workflow.Workflow, id string) error {
	_, err := pickTrigger(wf, id)
	return err
}

// ValidateInputs checks inputs against the trigger's userInputs as Start
// does, without starting anything: an *InputError, or an error matching
// ErrNotTrigger.
func ValidateInputs(wf *workflow.Workflow, trigger string, inputs map[string]any) error {
	trig, err := pickTrigger(wf, trigger)
	if err != nil {
		return err
	}
	if _, problems := trig.UserInputs.Validate(inputs); len(problems) > 0 {
		return &InputError{Problems: problems}
	}
	return nil
}

func pickTrigger(wf *workflow.Workflow, id string) (*workflow.Node, error) {
	if id != "" {
		n := wf.Node(id)
		if n == nil || !n.IsTrigger() {
			return nil, fmt.Errorf("%w: %q is not a trigger of workflow %s", ErrNotTrigger, id, wf.Identifier)
		}
		return n, nil
	}
	var found *workflow.Node
	for _, n := range wf.Triggers() {
		if n.Type != workflow.TypeSelfServeTrigger {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%w: workflow %s has several self-serve triggers; name one", ErrNotTrigger, wf.Identifier)
		}
		found = n
	}
	if found == nil {
		return nil, fmt.Errorf("%w: workflow %s has no self-serve trigger", ErrNotTrigger, wf.Identifier)
	}
	return found, nil
}

func (e *Engine) newState(run store.Run, wf *workflow.Workflow) *runState {
	return &runState{
		run:      run,
		wf:       wf,
		outputs:  map[string]any{},
		red:      redact.NewShared(e.redCache),
		triggerN: run.TriggerNode,
		wfCtx:    map[string]any{"identifier": wf.Identifier, "version": run.WorkflowVersion},
		runCtx: map[string]any{
			"identifier": run.Identifier,
			"createdAt":  run.CreatedAt.UTC().Format(time.RFC3339Nano),
		},
	}
}

// registerAll registers with the run's redactor every secret the workflow
// references anywhere. Names that are not defined are skipped here: the node
// that reads one fails when it runs.
func (e *Engine) registerAll(ctx context.Context, st *runState, nodeRunID string) error {
	names := referencedSecrets(st.wf)
	if len(names) == 0 || e.secrets == nil {
		return nil
	}
	vals, err := e.resolveAvailable(ctx, secret.ResolveRef{RunID: st.run.Identifier, NodeRunID: nodeRunID}, names)
	if err != nil {
		return fmt.Errorf("run %s: %w", st.run.Identifier, err)
	}
	for _, v := range vals {
		e.register(st, v)
	}
	return nil
}

// resolveAvailable resolves the names that exist and leaves the others out.
func (e *Engine) resolveAvailable(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	if p, ok := e.secrets.(secret.PartialSource); ok {
		return p.ResolveAvailable(ctx, ref, names)
	}
	out := map[string]string{}
	for _, name := range names {
		vals, err := e.secrets.Resolve(ctx, ref, []string{name})
		if errors.Is(err, secret.ErrNotDefined) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			out[k] = v
		}
	}
	return out, nil
}

// register masks a resolved secret value in the run and, when configured,
// in the process log.
func (e *Engine) register(st *runState, v string) {
	st.red.Add(v)
	if e.procRed != nil {
		e.procRed.Add(v)
	}
	if e.sealing() {
		st.sealBuf().add(v, false)
	}
}

// referencedSecrets lists every secret name a workflow's templates read.
func referencedSecrets(wf *workflow.Workflow) []string {
	seen := map[string]bool{}
	var names []string
	for _, n := range wf.Nodes {
		if n.ConfigTemplate == nil {
			continue
		}
		for _, s := range n.ConfigTemplate.Reads().Secrets {
			if !seen[s] {
				seen[s] = true
				names = append(names, s)
			}
		}
	}
	return names
}

// load rebuilds a run's state from the store.
func (e *Engine) load(ctx context.Context, runID string) (*runState, []store.NodeRun, error) {
	run, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("load run %s: %w", runID, err)
	}
	wf, err := e.Definition(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return nil, nil, err
	}
	st := e.newState(run, wf)
	nrs, err := e.store.NodeRuns(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("load node runs of %s: %w", runID, err)
	}
	for _, nr := range nrs {
		if nr.Seq > st.seq {
			st.seq = nr.Seq
		}
		if nr.Status != store.StatusCompleted {
			continue
		}
		if err := st.setOutput(nr.NodeID, nr.Output); err != nil {
			return nil, nil, err
		}
	}
	st.traceParent = e.traceParent(ctx, runID)
	// The context first: re-deriving below renders templates that may read it.
	st.by = e.actorContext(ctx, run.CreatedBy)
	st.runCtx["trigger"] = map[string]any{"identifier": run.TriggerNode, "by": st.by}
	switch red, ok := e.redactors.Load(runID); {
	case ok && run.Status != store.StatusInProgress:
		// Finished meanwhile by a path that did not go through this
		// process's redactor (another process's cancel): drop it.
		e.forget(runID)
	case ok:
		// This process ran the run's nodes: its redactor knows every
		// value they used, derived ones and since-rotated ones included.
		st.red = red.(*redact.Redactor)
	case run.Status != store.StatusInProgress:
		// A finished run runs nothing more: no secret to resolve, and no
		// redactor to keep.
	case e.sealing():
		// Rebuilt from the run's sealed values, kept by nobody: a waiting
		// run costs no memory (keep shares it while the run is driven).
		complete, err := e.rebuild(ctx, st, nrs)
		if err != nil {
			return nil, nil, err
		}
		st.degraded = !complete
	default:
		if err := e.registerAll(ctx, st, ""); err != nil {
			return nil, nil, err
		}
		complete := e.rederive(ctx, st, nrs)
		red, loaded := e.redactors.LoadOrStore(runID, st.red)
		st.red = red.(*redact.Redactor)
		if !complete && !loaded {
			e.degraded.Store(runID, struct{}{})
		}
		// A cancel that committed while the secrets were resolved deleted
		// nothing (nothing was stored yet): do not keep a finished run's
		// secrets in memory.
		if now, err := e.store.GetRun(ctx, runID); err == nil && now.Status != store.StatusInProgress {
			if e.redactors.CompareAndDelete(runID, st.red) {
				e.degraded.Delete(runID)
			}
			st.run = now
		}
	}
	return st, nrs, nil
}

// rederive registers again what the config of a node waiting for an outside
// completion derived from secrets when it ran (another process, before a
// restart), by rendering that config once more: the remote system may echo a
// derived value back in its completion. A secret deleted or changed since is
// not known any more (docs/secrets.md, known limits).
//
// It reports whether every waiting node was re-derived. When resolving a
// secret or rendering a config fails, the failure is logged (by names and
// identifiers only) and rederive reports false: the redactor then knows fewer
// values than the node used, and the caller masks the run's completions
// conservatively (maskConservatively).
func (e *Engine) rederive(ctx context.Context, st *runState, nrs []store.NodeRun) bool {
	complete := true
	for _, nr := range nrs {
		n := st.wf.Node(nr.NodeID)
		if nr.Status != store.StatusInProgress || n == nil || n.ConfigTemplate == nil {
			continue
		}
		names := n.ConfigTemplate.Reads().Secrets
		if len(names) == 0 || e.secrets == nil {
			continue
		}
		vals, err := e.resolveAvailable(ctx, secret.ResolveRef{RunID: st.run.Identifier, NodeRunID: nr.Identifier}, names)
		if err != nil {
			complete = false
			e.log.Warn("re-deriving the secrets of a waiting node failed; its completion will be masked whole",
				"run", st.run.Identifier, "nodeRun", nr.Identifier, "node", nr.NodeID, "error", e.redactError(st, err))
			continue
		}
		for _, v := range vals {
			e.register(st, v)
		}
		_, err = n.ConfigTemplate.Render(&tmpl.Context{
			Limits:          e.limits,
			Outputs:         st.outputs,
			Secrets:         vals,
			Workflow:        st.wfCtx,
			WorkflowRun:     st.runCtx,
			WorkflowNodeRun: map[string]any{"identifier": nr.Identifier, "createdAt": nr.CreatedAt.UTC().Format(time.RFC3339Nano)},
			Derived:         e.deriver(st),
		})
		if err != nil {
			complete = false
			e.log.Warn("re-rendering the config of a waiting node failed; its completion will be masked whole",
				"run", st.run.Identifier, "nodeRun", nr.Identifier, "node", nr.NodeID, "error", e.redactError(st, err))
		}
	}
	return complete
}

// redactError is err's text masked by the run's redactor and, when set, the
// process redactor, for the process log.
func (e *Engine) redactError(st *runState, err error) string {
	msg := st.red.Error(err).String()
	if e.procRed != nil {
		msg = e.procRed.String(msg)
	}
	return msg
}

// actorContext is .workflowRun.trigger.by for a run started by actorID.
func (e *Engine) actorContext(ctx context.Context, actorID string) map[string]any {
	by := map[string]any{"email": nil, "firstName": nil, "lastName": nil}
	if u, err := e.store.GetUser(ctx, actorID); err == nil {
		by["email"], by["firstName"], by["lastName"] = u.Email, u.FirstName, u.LastName
	}
	return by
}

// setOutput records a node's redacted output for the templates of later nodes.
func (st *runState) setOutput(nodeID string, out redact.JSON) error {
	var v any
	if !out.IsZero() {
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			return fmt.Errorf("decode output of node %s: %w", nodeID, err)
		}
	}
	st.outputs[nodeID] = v
	if nodeID == st.triggerN {
		st.outputs["trigger"] = v
	}
	return nil
}

// Execute drives a run from where it stands until it completes or waits on a
// node that is completed from outside. It returns the run as stored at that
// point. Executing a run that is already COMPLETED returns it unchanged.
//
// A node run that was executing when the process stopped is executed again,
// after its attempt is counted in the store (Store.BeginAttempt); one whose
// execution already began Options.MaxAttempts times is failed instead, and
// the run goes on as after any failure. A step the store refuses as
// unavailable is retried for Options.RetryFor; if it still fails, Execute
// returns the error and the run stays as committed, for a later Execute.
func (e *Engine) Execute(ctx context.Context, runID string) (store.Run, error) {
	unlock := e.lock(runID)
	defer unlock()
	return e.executeLeased(ctx, runID)
}

// ExecuteIfIdle drives a run as Execute does, unless a driver of this
// process holds the run (or waits for it) or the run's newest node run
// waits for a completion from outside; driven reports whether it drove it.
// A server calls it periodically for every IN_PROGRESS run, to pick up runs
// whose driver gave up on an unavailable store: it never drives a run twice
// at once in one process, and costs a waiting run one read.
func (e *Engine) ExecuteIfIdle(ctx context.Context, runID string) (run store.Run, driven bool, err error) {
	unlock, ok := e.tryLock(runID)
	if !ok {
		return store.Run{}, false, nil
	}
	defer unlock()
	if _, started := e.started.Load(runID); !started {
		nrs, err := e.store.NodeRuns(ctx, runID)
		if err != nil {
			return store.Run{}, false, fmt.Errorf("node runs of %s: %w", runID, err)
		}
		if len(nrs) > 0 {
			if last := nrs[len(nrs)-1]; last.Status == store.StatusInProgress && last.Waiting {
				return store.Run{}, false, nil
			}
		}
	}
	run, err = e.executeLeased(ctx, runID)
	return run, true, err
}

// execute is Execute; the caller holds the run's lock.
func (e *Engine) execute(ctx context.Context, runID string) (store.Run, error) {
	var (
		st   *runState
		last store.NodeRun
	)
	counted := false
	if v, ok := e.started.LoadAndDelete(runID); ok {
		// Started by this engine a moment ago: nothing to read back. A
		// node it started has its first attempt counted.
		st = v.(*runState)
		last = st.created[len(st.created)-1]
		counted = last.Status == store.StatusInProgress && last.Attempts > 0
	} else {
		var nrs []store.NodeRun
		var err error
		st, nrs, err = e.load(ctx, runID)
		if err != nil {
			return store.Run{}, err
		}
		if st.run.Status == store.StatusCompleted {
			e.forget(runID)
			return st.run, nil
		}
		last = nrs[len(nrs)-1]
		e.keep(st)
		for _, nr := range nrs {
			if nr.Result == store.ResultFailed {
				if n := st.wf.Node(nr.NodeID); n != nil && n.OnFailure != workflow.OnFailureContinue {
					st.failed = true
				}
			}
		}
	}
	st.retry = true
	e.emit(Event{Kind: RunDriving, RunID: runID})
	defer e.emit(Event{Kind: RunIdle, RunID: runID})
	if last.Status == store.StatusInProgress {
		if last.Waiting {
			// Completed from outside, through CompleteNodeRun.
			e.drop(st)
			return st.run, nil
		}
		// The process stopped while this node ran, or the node was started
		// by an outside completion, or a driver gave up on an unavailable
		// store: run it (at least once delivery; receivers drop duplicates
		// by X-Sluice-Node-Run, which stays the same), once its attempt is
		// counted.
		return e.drive(ctx, st, st.wf.Node(last.NodeID), last, counted)
	}
	nextID, ok := e.successor(st, st.wf.Node(last.NodeID), last, "")
	t := store.Transition{RunID: st.run.Identifier}
	nextID, ok, folded := e.fold(ctx, st, &t, nextID, ok)
	report := func() { e.reportFolded(st, folded) }
	if !ok {
		return lostRace(e.finish(ctx, st, &t, report))
	}
	nr, err := e.startNext(ctx, st, nextID, &t, true)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return e.reload(ctx, st)
		}
		return st.run, err
	}
	report()
	return e.drive(ctx, st, st.wf.Node(nextID), nr, true)
}

// successor picks the node after a completed node run.
//
// outlet is the outlet a flow-control node took, as its executor said; ""
// reads it from the node's stored output (a resumed run), where the redactor
// may have masked it if a secret happens to contain the outlet's name.
func (e *Engine) successor(st *runState, n *workflow.Node, nr store.NodeRun, outlet string) (string, bool) {
	if n == nil {
		return "", false
	}
	if nr.Result == store.ResultFailed && n.OnFailure != workflow.OnFailureContinue {
		return "", false
	}
	if n.Type == workflow.TypeCondition || n.Type == workflow.TypeInput {
		if outlet == "" {
			outlet = selectedOutlet(st.outputs[n.Identifier])
		}
		if outlet != "" {
			return st.wf.Next(n.Identifier, outlet)
		}
		return st.wf.Fallback(n.Identifier)
	}
	return st.wf.Next(n.Identifier, "")
}

func selectedOutlet(out any) string {
	m, _ := out.(map[string]any)
	sel, _ := m["selectedOutlet"].(map[string]any)
	id, _ := sel["identifier"].(string)
	return id
}

// finish ends the run, committing pending (a completion and its logs) with it.
// after, when set, reports the step's nodes (events, spans) once the commit
// succeeded, before the run's end. When a cancel or another completion won,
// finish commits nothing, reports nothing and fails with an error matching
// ErrNotInProgress.
func (e *Engine) finish(ctx context.Context, st *runState, pending *store.Transition, after func()) (store.Run, error) {
	t := store.Transition{RunID: st.run.Identifier}
	if pending != nil {
		t = *pending
	}
	now := e.now().UTC()
	result := store.ResultSuccess
	if st.failed {
		result = store.ResultFailed
	}
	t.Finish = &store.RunCompletion{Result: result, CompletedAt: now}
	if err := e.apply(ctx, st, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			run, rerr := e.reload(ctx, st)
			if rerr != nil {
				return run, rerr
			}
			return run, ErrNotInProgress
		}
		return st.run, fmt.Errorf("finish run %s: %w", st.run.Identifier, err)
	}
	st.run.Status, st.run.Result, st.run.CompletedAt, st.run.UpdatedAt = store.StatusCompleted, result, &now, now
	e.forget(st.run.Identifier)
	if after != nil {
		after()
	}
	e.emit(Event{Kind: RunFinished, RunID: st.run.Identifier, Result: result})
	e.traceRun(st.run, st.traceParent)
	return st.run, nil
}

// lostRace turns the ErrNotInProgress of a driver that lost to a cancel or
// an outside completion into a quiet stop.
func lostRace(run store.Run, err error) (store.Run, error) {
	if errors.Is(err, ErrNotInProgress) {
		return run, nil
	}
	return run, err
}

// startNext commits the start of node nextID, with pending (a completion and
// its logs) in the same transaction, and returns the new node run. When the
// caller executes the node right after (executing), the same commit counts
// its first attempt, so that only an execution resumed later pays a commit
// of its own (BeginAttempt).
func (e *Engine) startNext(ctx context.Context, st *runState, nextID string, pending *store.Transition, executing bool) (store.NodeRun, error) {
	t := store.Transition{RunID: st.run.Identifier}
	if pending != nil {
		t = *pending
	}
	now := e.now().UTC()
	st.seq++
	nr := store.NodeRun{
		Identifier: NewNodeRunID(),
		RunID:      st.run.Identifier,
		NodeID:     nextID,
		Seq:        st.seq,
		Status:     store.StatusInProgress,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if executing {
		nr.Attempts = 1
	}
	t.Start = &nr
	if err := e.apply(ctx, st, t); err != nil {
		st.seq--
		return nr, fmt.Errorf("start node %s of run %s: %w", nextID, st.run.Identifier, err)
	}
	return nr, nil
}

// apply commits t. While st is driven in the background, a transition the
// store refuses as unavailable is retried (see retry): nothing of a refused
// transition was applied, so a retry never applies it twice.
func (e *Engine) apply(ctx context.Context, st *runState, t store.Transition) error {
	done, err := e.attachSeal(st, &t)
	if err != nil {
		return fmt.Errorf("seal the values of run %s: %w", st.run.Identifier, err)
	}
	err = e.retry(ctx, st, func() error { return e.store.Apply(ctx, t) })
	done(err == nil)
	return err
}

// retry calls fn, and while st is driven in the background and fn fails with
// an error matching store.ErrUnavailable, calls it again after a backoff
// that starts at minBackoff and doubles up to maxBackoff, for up to
// e.retryFor in all. It returns fn's last error (or ctx's when it is done
// while waiting).
func (e *Engine) retry(ctx context.Context, st *runState, fn func() error) error {
	err := fn()
	if !st.retry || e.retryFor <= 0 || !errors.Is(err, store.ErrUnavailable) {
		return err
	}
	deadline := time.Now().Add(e.retryFor)
	e.log.Warn("the store is unavailable; retrying the step", "run", st.run.Identifier, "error", err.Error(), "retry_for", e.retryFor.String())
	for wait := minBackoff; errors.Is(err, store.ErrUnavailable); wait = min(2*wait, maxBackoff) {
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		timer := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (while the store was unavailable: %w)", ctx.Err(), err)
		case <-timer.C:
		}
		err = fn()
	}
	if err == nil {
		e.log.Info("the store is available again; the step is committed", "run", st.run.Identifier)
	}
	return err
}

// beginAttempt counts one more execution of node run nr before it is
// executed again. exceeded reports that its execution already began
// e.maxAttempts times: the node must be failed, not executed.
func (e *Engine) beginAttempt(ctx context.Context, st *runState, nr *store.NodeRun) (exceeded bool, err error) {
	if nr.Attempts >= e.maxAttempts {
		return true, nil
	}
	var n int
	err = e.retry(ctx, st, func() error {
		var err error
		n, err = e.store.BeginAttempt(ctx, nr.Identifier)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("count an attempt of node run %s: %w", nr.Identifier, err)
	}
	if n > e.maxAttempts {
		// Another driver counted meanwhile (a stale read): the count just
		// committed is not an execution.
		nr.Attempts = n - 1
		return true, nil
	}
	nr.Attempts = n
	return false, nil
}

// interrupted is the outcome of a node run whose execution began
// e.maxAttempts times without ever completing: it fails without executing.
func (e *Engine) interrupted(st *runState, nr store.NodeRun) nodeOutcome {
	msg := fmt.Sprintf("node execution was interrupted %d times before it could complete (the process stopped while the node ran); it is not retried again", nr.Attempts)
	out, err := st.red.JSON(map[string]any{"error": map[string]any{"message": msg}})
	if err != nil {
		out = redact.Reload([]byte(`{"error":{"message":"***"}}`))
	}
	line := st.red.Text(msg)
	return nodeOutcome{
		completion: store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultFailed, Output: out, CompletedAt: e.now().UTC()},
		logs:       []store.Log{{NodeRunID: nr.Identifier, Level: node.LevelError, Message: line, CreatedAt: e.now().UTC()}},
		errText:    line.String(),
	}
}

// drive executes node n (whose node run nr is IN_PROGRESS and stored), then
// goes on along the path. counted reports that nr's attempt was counted by
// the commit that started it; otherwise drive counts it first (and fails
// the node instead when it has been interrupted too often).
func (e *Engine) drive(ctx context.Context, st *runState, n *workflow.Node, nr store.NodeRun, counted bool) (store.Run, error) {
	for {
		if err := ctx.Err(); err != nil {
			// Shutting down: the node run stays IN_PROGRESS and resumes later.
			return st.run, err
		}
		exceeded := false
		if !counted {
			var err error
			if exceeded, err = e.beginAttempt(ctx, st, &nr); errors.Is(err, store.ErrConflict) {
				// A cancel (or an outside completion) won meanwhile.
				return e.reload(ctx, st)
			} else if err != nil {
				return st.run, err
			}
		}
		e.emit(Event{Kind: NodeStarted, RunID: st.run.Identifier, NodeID: n.Identifier, NodeRunID: nr.Identifier, Type: n.Type})
		began := time.Now()
		var out nodeOutcome
		if exceeded {
			out = e.interrupted(st, nr)
		} else {
			out = e.runNode(ctx, st, n, nr)
		}
		if out.stopped {
			// Cancelled from outside while it ran; the cancel committed the end.
			return e.reload(ctx, st)
		}
		if out.pending {
			err := e.apply(ctx, st, store.Transition{RunID: st.run.Identifier, Wait: nr.Identifier, WaitUntil: out.waitUntil, WaitContinue: out.waitContinue, Logs: out.logs,
				WakeAt: out.wakeAt, WaitState: out.waitState, WaitFor: out.waitFor})
			if errors.Is(err, store.ErrConflict) {
				// The receiver completed the node before its answer to
				// the request arrived: keep the request's own log lines.
				if len(out.logs) > 0 {
					if err := e.store.AppendLogs(ctx, out.logs); err != nil {
						e.log.Warn("keeping the log lines of a node completed from outside during its request failed",
							"run", st.run.Identifier, "nodeRun", nr.Identifier, "lines", len(out.logs), "error", e.redactError(st, err))
					}
				}
				return e.reload(ctx, st)
			}
			if err != nil {
				return st.run, fmt.Errorf("mark node run %s waiting: %w", nr.Identifier, err)
			}
			e.emit(Event{Kind: NodeWaiting, RunID: st.run.Identifier, NodeID: n.Identifier, NodeRunID: nr.Identifier, Type: n.Type, Duration: time.Since(began)})
			e.traceNode(st, n, nr, "", e.now().UTC(), out.logs, "")
			e.drop(st)
			return st.run, nil
		}
		if err := st.setOutput(n.Identifier, out.completion.Output); err != nil {
			return st.run, err
		}
		if out.completion.Result == store.ResultFailed && n.OnFailure != workflow.OnFailureContinue {
			st.failed = true
		}
		done := Event{Kind: NodeFinished, RunID: st.run.Identifier, NodeID: n.Identifier, NodeRunID: nr.Identifier, Type: n.Type, Result: out.completion.Result, Duration: time.Since(began), Error: out.errText}
		nr.Status, nr.Result = store.StatusCompleted, out.completion.Result
		nextID, ok := e.successor(st, n, nr, out.outlet)
		t := store.Transition{RunID: st.run.Identifier, Complete: &out.completion, Logs: out.logs}
		nextID, ok, folded := e.fold(ctx, st, &t, nextID, ok)
		// Reported once committed: a step that lost to a cancel reports nothing.
		report := func() {
			e.emit(done)
			e.traceNode(st, n, nr, out.completion.Result, out.completion.CompletedAt, out.logs, out.errText)
			e.reportFolded(st, folded)
		}
		if !ok {
			return lostRace(e.finish(ctx, st, &t, report))
		}
		nextNR, err := e.startNext(ctx, st, nextID, &t, true)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				return e.reload(ctx, st)
			}
			return st.run, err
		}
		report()
		n, nr, counted = st.wf.Node(nextID), nextNR, true
	}
}

func (e *Engine) reload(ctx context.Context, st *runState) (store.Run, error) {
	run, err := e.store.GetRun(ctx, st.run.Identifier)
	if err != nil {
		return st.run, err
	}
	if run.Status != store.StatusInProgress {
		e.forget(run.Identifier)
		return run, nil
	}
	// A step that lost a race (an outside completion won) did not seal what
	// its node registered: seal it on its own.
	if err := e.flushSeal(ctx, st); err != nil && !errors.Is(err, store.ErrConflict) {
		return run, err
	}
	return run, nil
}

// renderLimits returns the bounds of each render: jq steps first, since the
// step bound does not depend on how busy the machine is; the bytes a render
// may allocate (maxBytes, 0 for the default); the wall-clock bound as a
// backstop.
func renderLimits(maxBytes int) tmpl.Limits {
	return tmpl.Limits{Timeout: 2 * time.Second, MaxSteps: tmpl.DefaultMaxSteps, MaxBytes: maxBytes}
}

// nodeOutcome is what running one node produced, redacted and ready to store.
type nodeOutcome struct {
	completion store.NodeRunCompletion
	logs       []store.Log
	errText    string
	pending    bool
	// waitUntil and waitContinue are the pending node's deadline and
	// onTimeout (node.Result.WaitUntil, OnTimeoutContinue).
	waitUntil    time.Time
	waitContinue bool
	// wakeAt, waitState and waitFor are the pending node's
	// node.Result.WakeAt, State (redacted) and WaitFor.
	wakeAt    time.Time
	waitState redact.JSON
	waitFor   string
	stopped   bool
	outlet    string // the outlet a flow-control node took
}

// runNode renders, resolves, executes and post-processes one node. It never
// returns an error: whatever fails, fails the node.
func (e *Engine) runNode(ctx context.Context, st *runState, n *workflow.Node, nr store.NodeRun) (outcome nodeOutcome) {
	// The lines are redacted as one batch when the node is done: a value
	// split across them is masked, and nothing depends on a partial match.
	var logs []store.Log
	var msgs []string
	logf := func(level, msg string) {
		logs = append(logs, store.Log{NodeRunID: nr.Identifier, Level: level, CreatedAt: e.now().UTC()})
		msgs = append(msgs, msg)
	}
	defer func() {
		if len(outcome.logs) == 0 {
			return
		}
		for i, text := range st.red.Lines(msgs) {
			logs[i].Message = text
		}
		outcome.logs = logs
	}()
	fail := func(err error) nodeOutcome {
		msg := st.red.Error(err)
		logf(node.LevelError, msg.String())
		out, jerr := st.red.JSON(map[string]any{"error": map[string]any{"message": msg.String()}})
		if jerr != nil {
			out = redact.Reload([]byte(`{"error":{"message":"***"}}`))
		}
		return nodeOutcome{
			completion: store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultFailed, Output: out, CompletedAt: e.now().UTC()},
			logs:       logs,
			errText:    msg.String(),
		}
	}

	// A panic while rendering the config or finishing the node (a bug)
	// fails the node run like an executor's panic does (callExecutor).
	defer func() {
		if v := recover(); v != nil {
			outcome = fail(e.nodePanic(st, n, nr, v))
		}
	}()

	exec, ok := e.nodes.Lookup(n.Type)
	if !ok {
		return fail(fmt.Errorf("node type %s cannot run yet: this version of sluice has no executor for it", n.Type))
	}

	nodeCtx := map[string]any{"identifier": nr.Identifier, "createdAt": nr.CreatedAt.UTC().Format(time.RFC3339Nano)}
	tc := &tmpl.Context{
		Limits:          e.limits,
		Outputs:         st.outputs,
		Workflow:        st.wfCtx,
		WorkflowRun:     st.runCtx,
		WorkflowNodeRun: nodeCtx,
		Derived:         e.deriver(st),
	}
	var config map[string]any
	if n.ConfigTemplate != nil {
		names := n.ConfigTemplate.Reads().Secrets
		if len(names) > 0 {
			if e.secrets == nil {
				return fail(&secret.NotDefinedError{Name: names[0]})
			}
			vals, err := e.secrets.Resolve(ctx, secret.ResolveRef{RunID: st.run.Identifier, NodeRunID: nr.Identifier}, names)
			if err != nil {
				return fail(err)
			}
			// Registered before anything renders or runs.
			for _, v := range vals {
				e.register(st, v)
			}
			tc.Secrets = vals
		}
		rendered, err := n.ConfigTemplate.Render(tc)
		tc.Secrets = nil // only for the time of the render and the call below
		if err != nil {
			return fail(err)
		}
		m, ok := rendered.(map[string]any)
		if !ok {
			return fail(fmt.Errorf("config: rendered to %T, want an object", rendered))
		}
		config = m
	}

	runCtx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.cancels[st.run.Identifier] = cancel
	e.mu.Unlock()
	res, err := e.callExecutor(st, n, nr, exec, e.traceContext(runCtx, st, nr), &node.Request{
		WorkflowID:      st.wf.Identifier,
		WorkflowVersion: st.run.WorkflowVersion,
		RunID:           st.run.Identifier,
		NodeRunID:       nr.Identifier,
		Node:            n,
		Config:          config,
		Eval: func(x *tmpl.Expr) (any, error) {
			return x.Eval(&tmpl.Context{Limits: e.limits, Outputs: st.outputs, Workflow: st.wfCtx, WorkflowRun: st.runCtx})
		},
		Log:    logf,
		Redact: st.red.JSON,
		Secret: e.nodeSecret(st, nr),
	})
	e.mu.Lock()
	delete(e.cancels, st.run.Identifier)
	e.mu.Unlock()
	// Cancelled from outside (Cancel), or the process is stopping: either
	// way the node did not fail, and its node run stays as the store has it.
	stopped := runCtx.Err() != nil
	cancel()
	if stopped {
		return nodeOutcome{stopped: true}
	}
	if err != nil {
		return fail(err)
	}
	if res.Pending {
		out := nodeOutcome{pending: true, logs: logs, waitUntil: res.WaitUntil, waitContinue: res.OnTimeoutContinue}
		if err := e.pendingWake(st, &out, res); err != nil {
			return fail(err)
		}
		return out
	}
	out := e.finishNode(st, n, nr, res.Output, logs, fail)
	out.outlet = res.Outlet
	return out
}

// finishNode applies variables and links to a node's raw result and redacts
// the output.
//
// Variables and links see the result redacted, like every later node sees
// the outputs: jq's error messages quote previews of the values they fail on
// (a truncated preview of a secret would not match the redactor), so no
// template may run over data that was not redacted first.
func (e *Engine) finishNode(st *runState, n *workflow.Node, nr store.NodeRun, raw any, logs []store.Log, fail func(error) nodeOutcome) nodeOutcome {
	out, err := st.red.JSON(raw)
	if err != nil {
		return fail(fmt.Errorf("output is not JSON: %w", err))
	}
	if n.Variables == nil && len(n.Links) == 0 {
		return nodeOutcome{
			completion: store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultSuccess, Output: out, CompletedAt: e.now().UTC()},
			logs:       logs,
		}
	}
	var result any
	if err := json.Unmarshal(out.Bytes(), &result); err != nil {
		return fail(fmt.Errorf("decode redacted output: %w", err))
	}
	output := result
	post := &tmpl.Context{Limits: e.limits, Outputs: st.outputs, Result: result, HasResult: true, Workflow: st.wfCtx, WorkflowRun: st.runCtx, Extra: resultRoots(result)}
	if n.Variables != nil {
		v, err := n.Variables.Render(post)
		if err != nil {
			return fail(err)
		}
		output = v
	}
	var links []redact.Text
	for i, l := range n.Links {
		v, err := l.Render(post)
		if err != nil {
			return fail(fmt.Errorf("links[%d]: %w", i, err))
		}
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		links = append(links, st.red.Text(s))
	}
	if out, err = st.red.JSON(output); err != nil {
		return fail(fmt.Errorf("variables are not JSON: %w", err))
	}
	return nodeOutcome{
		completion: store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultSuccess, Output: out, Links: links, CompletedAt: e.now().UTC()},
		logs:       logs,
	}
}
