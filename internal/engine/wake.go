package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/node"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
)

// ErrWakesNotSupported is returned when the engine's store does not keep
// wake times (it does not implement store.WakeStore).
var ErrWakesNotSupported = errors.New("the store does not keep wake times of waiting nodes")

// nodeSecret is node.Request.Secret for node run nr: it resolves one secret
// by name (audited with the node run) and registers its value with the
// run's redactor before the executor sees it.
func (e *Engine) nodeSecret(st *runState, nr store.NodeRun) func(ctx context.Context, name string) (string, error) {
	if e.secrets == nil {
		return nil
	}
	return func(ctx context.Context, name string) (string, error) {
		vals, err := e.secrets.Resolve(ctx, secret.ResolveRef{RunID: st.run.Identifier, NodeRunID: nr.Identifier}, []string{name})
		if err != nil {
			return "", err
		}
		v, ok := vals[name]
		if !ok {
			return "", &secret.NotDefinedError{Name: name}
		}
		e.register(st, v)
		return v, nil
	}
}

// pendingWake copies a pending result's wake, state and handoff into out,
// the state redacted. A store that keeps no wake times cannot hold them.
func (e *Engine) pendingWake(st *runState, out *nodeOutcome, res node.Result) error {
	if res.WakeAt.IsZero() && res.State == nil && res.WaitFor == "" {
		return nil
	}
	if _, ok := e.store.(store.WakeStore); !ok {
		return ErrWakesNotSupported
	}
	out.wakeAt, out.waitFor = res.WakeAt.UTC(), res.WaitFor
	if res.State != nil {
		j, err := st.red.JSON(res.State)
		if err != nil {
			return fmt.Errorf("the executor's saved state is not JSON: %w", err)
		}
		out.waitState = j
	}
	return nil
}

// WakeDue calls the Poll of up to limit waiting node runs whose wake time
// (node.Result.WakeAt) has come, and returns the identifiers of the runs
// whose node run completed, which the caller then drives on with Execute.
// A poll that is pending again is stored with its next wake; one that
// produced an output or failed completes its node run as an outside
// completion would (variables, links, onFailure). The wake times are read
// from the store, so they hold across restarts, and no goroutine or memory
// is held per waiting node run (docs/decisions/012-wake-and-handoff.md).
func (e *Engine) WakeDue(ctx context.Context, limit int) ([]string, error) {
	ws, ok := e.store.(store.WakeStore)
	if !ok {
		return nil, ErrWakesNotSupported
	}
	due, err := ws.DueWakes(ctx, e.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due wakes: %w", err)
	}
	return e.wakeAll(ctx, due)
}

// WakeRun is WakeDue for the due wakes of one run only (sluice run drives
// its own run and leaves the others of the data dir alone).
func (e *Engine) WakeRun(ctx context.Context, runID string) (woken bool, err error) {
	ws, ok := e.store.(store.WakeStore)
	if !ok {
		return false, ErrWakesNotSupported
	}
	due, err := ws.DueWakes(ctx, e.now(), 0)
	if err != nil {
		return false, fmt.Errorf("list due wakes: %w", err)
	}
	var mine []store.DueWake
	for _, w := range due {
		if w.RunID == runID {
			mine = append(mine, w)
		}
	}
	runs, err := e.wakeAll(ctx, mine)
	return len(runs) > 0, err
}

// NextWake returns the earliest wake time of a run's waiting node runs;
// ok is false when none of them has one (they wait for an outside
// completion).
func (e *Engine) NextWake(ctx context.Context, runID string) (at time.Time, ok bool, err error) {
	ws, isWS := e.store.(store.WakeStore)
	if !isWS {
		return time.Time{}, false, nil
	}
	due, err := ws.DueWakes(ctx, time.Unix(1<<62/int64(time.Second), 0), 1000)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("list wakes: %w", err)
	}
	for _, w := range due {
		if w.RunID == runID {
			return w.WakeAt, true, nil
		}
	}
	return time.Time{}, false, nil
}

func (e *Engine) wakeAll(ctx context.Context, due []store.DueWake) ([]string, error) {
	var runs []string
	var errs []error
	for _, w := range due {
		moved, err := e.wake(ctx, w)
		switch {
		case errors.Is(err, store.ErrConflict):
			// completed, cancelled or woken meanwhile
		case err != nil:
			errs = append(errs, fmt.Errorf("wake node run %s: %w", w.NodeRunID, err))
		case moved:
			runs = append(runs, w.RunID)
		}
	}
	return runs, errors.Join(errs...)
}

// wake polls one node run; moved reports that it completed.
func (e *Engine) wake(ctx context.Context, w store.DueWake) (moved bool, err error) {
	unlock := e.lock(w.RunID)
	defer unlock()
	release, err := e.leaseForPoll(ctx, w.RunID)
	if err != nil {
		return false, err
	}
	defer release()
	st, nrs, err := e.load(ctx, w.RunID)
	if err != nil {
		return false, err
	}
	if st.run.Status != store.StatusInProgress {
		return false, ErrNotInProgress
	}
	// The completion below masks with this redactor, which the poll's
	// secrets join; the run waits again (or goes on) without it.
	e.keep(st)
	defer e.drop(st)
	var nr *store.NodeRun
	for i := range nrs {
		if nrs[i].Identifier == w.NodeRunID {
			nr = &nrs[i]
		}
	}
	if nr == nil || nr.Status != store.StatusInProgress || !nr.Waiting {
		return false, ErrNotInProgress
	}
	n := st.wf.Node(nr.NodeID)
	if n == nil {
		return false, fmt.Errorf("node %s is not in workflow %s version %d", nr.NodeID, st.wf.Identifier, st.run.WorkflowVersion)
	}
	var lines []LogLine
	logf := func(level, msg string) { lines = append(lines, LogLine{Level: level, Message: msg}) }
	var state any
	if !w.State.IsZero() {
		if err := json.Unmarshal(w.State.Bytes(), &state); err != nil {
			return false, fmt.Errorf("decode the saved state: %w", err)
		}
	}
	var res node.Result
	exec, _ := e.nodes.Lookup(n.Type)
	poller, ok := exec.(node.Poller)
	if !ok {
		err = fmt.Errorf("node type %s cannot be polled by this version of sluice", n.Type)
	} else {
		res, err = poller.Poll(e.traceContext(ctx, st, *nr), &node.Request{
			WorkflowID:      st.wf.Identifier,
			WorkflowVersion: st.run.WorkflowVersion,
			RunID:           st.run.Identifier,
			NodeRunID:       nr.Identifier,
			Node:            n,
			Log:             logf,
			Secret:          e.nodeSecret(st, *nr),
			State:           state,
		})
	}
	if ctx.Err() != nil {
		return false, ctx.Err() // stopping: the wake stays due
	}
	if err != nil {
		msg := err.Error()
		lines = append(lines, LogLine{Level: node.LevelError, Message: msg})
		_, cerr := e.CompleteNodeRun(ctx, nr.Identifier, Completion{Status: store.StatusCompleted, Result: store.ResultFailed,
			Output: map[string]any{"error": map[string]any{"message": msg}}, Logs: lines})
		return cerr == nil, cerr
	}
	if err := e.flushSeal(ctx, st); err != nil {
		return false, err
	}
	if !res.Pending {
		_, cerr := e.CompleteNodeRun(ctx, nr.Identifier, Completion{Status: store.StatusCompleted, Result: store.ResultSuccess, Output: res.Output, Logs: lines})
		return cerr == nil, cerr
	}
	out := nodeOutcome{}
	if err := e.pendingWake(st, &out, res); err != nil {
		return false, err
	}
	msgs := make([]string, len(lines))
	for i, l := range lines {
		msgs[i] = l.Message
	}
	var logs []store.Log
	for i, text := range st.red.Lines(msgs) {
		logs = append(logs, store.Log{NodeRunID: nr.Identifier, Level: lines[i].Level, Message: text, CreatedAt: e.now().UTC()})
	}
	err = e.apply(ctx, st, store.Transition{RunID: st.run.Identifier, Wait: nr.Identifier, WaitUntil: res.WaitUntil, WaitContinue: res.OnTimeoutContinue,
		WakeAt: out.wakeAt, WaitState: out.waitState, WaitFor: out.waitFor, Logs: logs})
	return false, err
}

// NodeRunConfig renders the config of a waiting node run again, with the
// secrets its templates read resolved (audited with the node run and
// registered with the run's redactor), as it was rendered when the node
// ran: for an external integration that claims the node run
// (claim-pending). The rendered config is the caller's to send, never to
// store. It also returns the node run.
func (e *Engine) NodeRunConfig(ctx context.Context, nodeRunID string) (map[string]any, store.NodeRun, error) {
	nr, err := e.store.GetNodeRun(ctx, nodeRunID)
	if err != nil {
		return nil, nr, fmt.Errorf("node run %s: %w", nodeRunID, err)
	}
	st, _, err := e.load(ctx, nr.RunID)
	if err != nil {
		return nil, nr, err
	}
	if st.run.Status != store.StatusInProgress || nr.Status != store.StatusInProgress {
		return nil, nr, ErrNotInProgress
	}
	n := st.wf.Node(nr.NodeID)
	if n == nil || n.ConfigTemplate == nil {
		return map[string]any{}, nr, nil
	}
	tc := &tmpl.Context{
		Limits:          e.limits,
		Outputs:         st.outputs,
		Workflow:        st.wfCtx,
		WorkflowRun:     st.runCtx,
		WorkflowNodeRun: map[string]any{"identifier": nr.Identifier, "createdAt": nr.CreatedAt.UTC().Format(time.RFC3339Nano)},
		Derived:         st.red.AddDerived,
	}
	if names := n.ConfigTemplate.Reads().Secrets; len(names) > 0 {
		if e.secrets == nil {
			return nil, nr, &secret.NotDefinedError{Name: names[0]}
		}
		vals, err := e.secrets.Resolve(ctx, secret.ResolveRef{RunID: st.run.Identifier, NodeRunID: nr.Identifier}, names)
		if err != nil {
			return nil, nr, err
		}
		for _, v := range vals {
			e.register(st, v)
		}
		tc.Secrets = vals
	}
	rendered, err := n.ConfigTemplate.Render(tc)
	if err != nil {
		return nil, nr, fmt.Errorf("render the config of node %s: %s", n.Identifier, st.red.Error(err).String())
	}
	// Sealed before the config leaves: the integration may echo what it
	// derived in its completion.
	if err := e.flushSeal(ctx, st); err != nil {
		return nil, nr, err
	}
	m, ok := rendered.(map[string]any)
	if !ok {
		return nil, nr, fmt.Errorf("config of node %s rendered to %T, want an object", n.Identifier, rendered)
	}
	return m, nr, nil
}
