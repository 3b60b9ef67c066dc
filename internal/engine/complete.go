package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// Completion is what an outside system reports for a node run that is
// IN_PROGRESS (an async webhook's receiver, a Kafka consumer): the API's
// PATCH /v1/workflows/nodes/runs/{wfnr}.
type Completion struct {
	// Status is COMPLETED to finish the node, or IN_PROGRESS (or "") to
	// add logs and, when given, store Output and Links as the node run's
	// progress (shown on the node run; a completion without them ends with
	// the last ones reported).
	Status string
	// Result is SUCCESS, FAILED or CANCELLED when Status is COMPLETED. A
	// CANCELLED node run ends its run CANCELLED (Port's result CANCELLED).
	Result string
	// Output is the node's raw result; variables and links apply to it as if
	// the node had produced it itself. nil (absent) on a completion is the
	// output last reported IN_PROGRESS, if any.
	Output any
	Logs   []LogLine
	// Links are added after the links the node's definition renders (a
	// SUCCESS completion only); they are redacted like everything else. nil
	// (absent) on a completion is the links last reported IN_PROGRESS; an
	// empty, non-nil slice is none.
	Links []string
	// Outlet is the outlet a flow-control node took (an INPUT node's
	// button): the run follows it whatever the node's variables make of
	// the output. "" reads it from the output's selectedOutlet.identifier.
	Outlet string
}

// LogLine is a log line sent from outside.
type LogLine struct {
	Level   string
	Message string
	// Tags are Port's log tags; they are caller text, so keys and values
	// are redacted like the message.
	Tags map[string]string
	// TagList holds tags sent as a list of strings; at most one of Tags
	// and TagList is set, and a non-nil TagList stays a list.
	TagList []string
}

// maxLinks is how many links a node run shows at most.
const maxLinks = 3

// ErrNotInProgress is returned (wrapping store.ErrConflict) when a node run
// or its run is no longer IN_PROGRESS.
var ErrNotInProgress = fmt.Errorf("%w: not in progress", store.ErrConflict)

// CompleteNodeRun records an outside completion of a node run. When it
// completes the node, the same transaction starts the next node (or ends the
// run); the caller then drives the run on with Execute, in the background if
// it must answer quickly. It fails with an error matching store.ErrConflict
// when the node run or its run is no longer IN_PROGRESS, and
// store.ErrNotFound when there is no such node run.
//
// It takes no lock: a receiver may complete (or log to) a node run while the
// request that started it is still open, and the store decides the race (a
// node run completes once; the driver's own commit then fails with
// ErrConflict and it stops).
func (e *Engine) CompleteNodeRun(ctx context.Context, nodeRunID string, c Completion) (store.Run, error) {
	if c.Status != "" && c.Status != store.StatusInProgress && c.Status != store.StatusCompleted {
		return store.Run{}, fmt.Errorf("status: must be IN_PROGRESS or COMPLETED, got %q", c.Status)
	}
	nr, err := e.store.GetNodeRun(ctx, nodeRunID)
	if err != nil {
		return store.Run{}, fmt.Errorf("node run %s: %w", nodeRunID, err)
	}
	run, err := e.store.GetRun(ctx, nr.RunID)
	if err != nil {
		return store.Run{}, fmt.Errorf("run %s: %w", nr.RunID, err)
	}
	if run.Status != store.StatusInProgress || nr.Status != store.StatusInProgress {
		return run, ErrNotInProgress
	}
	st, _, err := e.load(ctx, nr.RunID)
	if err != nil {
		return store.Run{}, err
	}
	if st.run.Status != store.StatusInProgress {
		// Finished between the check above and the load: the run's
		// redactor may be gone, and nothing may be written any more.
		return st.run, ErrNotInProgress
	}
	n := st.wf.Node(nr.NodeID)
	if n == nil {
		return st.run, fmt.Errorf("node run %s: node %s is not in workflow %s version %d", nodeRunID, nr.NodeID, st.wf.Identifier, st.run.WorkflowVersion)
	}
	if _, ok := e.degraded.Load(st.run.Identifier); ok || st.degraded {
		c = maskConservatively(c)
	}
	// The call's lines are redacted as one batch: a value split across
	// them is masked, and nothing depends on a partial match.
	msgs := make([]string, len(c.Logs))
	for i, l := range c.Logs {
		msgs[i] = l.Message
	}
	var logs []store.Log
	for i, text := range st.red.Lines(msgs) {
		level := c.Logs[i].Level
		if level == "" {
			level = node.LevelInfo
		}
		var tags map[redact.Text]redact.Text
		if l := c.Logs[i]; len(l.Tags) > 0 {
			tags = make(map[redact.Text]redact.Text, len(l.Tags))
			for k, v := range l.Tags {
				tags[st.red.Text(k)] = st.red.Text(v)
			}
		}
		var tagList []redact.Text
		if l := c.Logs[i]; l.TagList != nil {
			tagList = make([]redact.Text, len(l.TagList))
			for j, v := range l.TagList {
				tagList[j] = st.red.Text(v)
			}
		}
		logs = append(logs, store.Log{NodeRunID: nr.Identifier, Level: level, Message: text, Tags: tags, TagList: tagList, CreatedAt: e.now().UTC()})
	}
	if c.Status == "" || c.Status == store.StatusInProgress {
		if c.Output != nil || c.Links != nil {
			return st.run, e.progress(ctx, st, nr, c, logs)
		}
		if len(logs) > 0 {
			// As a transition, so that a run finished meanwhile refuses
			// the lines (ErrConflict) instead of keeping them.
			err := e.store.Apply(ctx, store.Transition{RunID: st.run.Identifier, Logs: logs})
			if errors.Is(err, store.ErrConflict) {
				return st.run, ErrNotInProgress
			}
			if err != nil {
				return st.run, fmt.Errorf("append logs to %s: %w", nodeRunID, err)
			}
		}
		return st.run, nil
	}
	if c, err = lastReported(c, nr); err != nil {
		return st.run, err
	}
	var out nodeOutcome
	fail := func(err error) nodeOutcome {
		msg := st.red.Error(err)
		o, _ := st.red.JSON(map[string]any{"error": map[string]any{"message": msg.String()}})
		return nodeOutcome{
			completion: store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultFailed, Output: o, CompletedAt: e.now().UTC()},
			logs:       logs,
			errText:    msg.String(),
		}
	}
	switch c.Result {
	case store.ResultSuccess:
		out = e.finishNode(st, n, nr, c.Output, logs, fail)
		if out.completion.Result == store.ResultSuccess {
			for _, l := range c.Links {
				if len(out.completion.Links) == maxLinks {
					break // a node run shows at most 3 links, its own first
				}
				out.completion.Links = append(out.completion.Links, st.red.Text(l))
			}
		}
	case store.ResultCancelled:
		// The node run and its run end CANCELLED in one transition, as a
		// cancel of the run would.
		now := e.now().UTC()
		err := e.store.Apply(ctx, store.Transition{RunID: st.run.Identifier, Logs: logs,
			Complete: &store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultCancelled, CompletedAt: now},
			Finish:   &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: now}})
		if errors.Is(err, store.ErrConflict) {
			return st.run, ErrNotInProgress
		}
		if err != nil {
			return st.run, fmt.Errorf("cancel node run %s: %w", nodeRunID, err)
		}
		run := st.run
		run.Status, run.Result, run.CompletedAt, run.UpdatedAt = store.StatusCompleted, store.ResultCancelled, &now, now
		e.forget(run.Identifier)
		e.emit(Event{Kind: NodeFinished, RunID: run.Identifier, NodeID: n.Identifier, NodeRunID: nr.Identifier, Type: n.Type, Result: store.ResultCancelled})
		e.emit(Event{Kind: RunFinished, RunID: run.Identifier, Result: store.ResultCancelled})
		e.traceNode(st, n, nr, store.ResultCancelled, now, logs, "")
		e.traceRun(run, st.traceParent)
		return run, nil
	case store.ResultFailed:
		msg := "the node was reported FAILED"
		if m := errorMessage(c.Output); m != "" {
			msg = m
		}
		out = fail(errors.New(msg))
	default:
		return st.run, fmt.Errorf("result: must be SUCCESS, FAILED or CANCELLED, got %q", c.Result)
	}
	if err := st.setOutput(n.Identifier, out.completion.Output); err != nil {
		return st.run, err
	}
	if out.completion.Result == store.ResultFailed && n.OnFailure != "continue" {
		st.failed = true
	}
	nr.Status, nr.Result = store.StatusCompleted, out.completion.Result
	nextID, ok := e.successor(st, n, nr, c.Outlet)
	t := store.Transition{RunID: st.run.Identifier, Complete: &out.completion, Logs: out.logs}
	nextID, ok, folded := e.fold(ctx, st, &t, nextID, ok)
	finished := Event{Kind: NodeFinished, RunID: st.run.Identifier, NodeID: n.Identifier, NodeRunID: nr.Identifier, Type: n.Type, Result: out.completion.Result, Error: out.errText}
	// Reported once committed: a completion that lost a race reports nothing.
	report := func() {
		e.emit(finished)
		e.traceNode(st, n, nr, out.completion.Result, out.completion.CompletedAt, out.logs, out.errText)
		e.reportFolded(st, folded)
	}
	if !ok {
		// finish reports the node's end (before the run's) once committed,
		// and ErrNotInProgress when another completion or a cancel won.
		return e.finish(ctx, st, &t, report)
	}
	// The node is executed by the Execute the caller starts next, which
	// counts its attempt then.
	if _, err := e.startNext(ctx, st, nextID, &t, false); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return st.run, ErrNotInProgress
		}
		return st.run, err
	}
	report()
	return st.run, nil
}

// errorMessage digs {"error": {"message": "..."}} or {"message": "..."} out
// of a failed completion's output.
func errorMessage(v any) string {
	m, _ := v.(map[string]any)
	if inner, ok := m["error"].(map[string]any); ok {
		if s, ok := inner["message"].(string); ok {
			return s
		}
	}
	if s, ok := m["message"].(string); ok {
		return s
	}
	return ""
}

// Cancel ends an IN_PROGRESS run CANCELLED, and its in-progress node run with
// it. A node executing in this process has its context cancelled. It fails
// with an error matching store.ErrConflict when the run is already COMPLETED.
//
// Cancel does not wait for the run's driver: the store refuses any later
// transition of a finished run, so the driver stops at its next commit.
func (e *Engine) Cancel(ctx context.Context, runID string) (store.Run, error) {
	e.mu.Lock()
	if cancel := e.cancels[runID]; cancel != nil {
		cancel()
	}
	e.mu.Unlock()
	for attempt := 0; ; attempt++ {
		run, err := e.store.GetRun(ctx, runID)
		if err != nil {
			return store.Run{}, fmt.Errorf("run %s: %w", runID, err)
		}
		if run.Status != store.StatusInProgress {
			return run, ErrNotInProgress
		}
		nrs, err := e.store.NodeRuns(ctx, runID)
		if err != nil {
			return run, fmt.Errorf("node runs of %s: %w", runID, err)
		}
		now := e.now().UTC()
		t := store.Transition{RunID: runID, Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: now}}
		if last := nrs[len(nrs)-1]; last.Status == store.StatusInProgress {
			t.Complete = &store.NodeRunCompletion{NodeRunID: last.Identifier, Result: store.ResultCancelled, CompletedAt: now}
		}
		err = e.store.Apply(ctx, t)
		if errors.Is(err, store.ErrConflict) && attempt < 100 {
			continue // the driver moved on meanwhile: look again
		}
		if err != nil {
			return run, fmt.Errorf("cancel run %s: %w", runID, err)
		}
		run.Status, run.Result, run.CompletedAt, run.UpdatedAt = store.StatusCompleted, store.ResultCancelled, &now, now
		e.forget(runID)
		e.emit(Event{Kind: RunFinished, RunID: runID, Result: store.ResultCancelled})
		e.traceCancel(ctx, run, t.Complete, nrs[len(nrs)-1])
		return run, nil
	}
}
