package engine

import (
	"context"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/traceparent"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Tracer observes runs and node runs for distributed tracing
// (internal/telemetry implements it over OpenTelemetry; Options.Tracer nil
// traces nothing). The engine reports each node run and each run once, when
// it has ended and its end is committed, with the times the store holds, so
// that a run resumed after a restart, or ended from outside (a completion,
// a cancel) in another process, reports the same way: identities are
// derived from the run and node run identifiers (decision 018).
//
// The seam carries run data only as redact types: the string fields of
// NodeSpan, RunSpan and SpanLog hold identifiers from the definition and the
// store and words the program writes (statuses, results, log levels), never
// text a run produced. Calls are made synchronously on the run's driver and
// must not block.
type Tracer interface {
	// Traceparent returns the W3C traceparent header value of a node run's
	// span, which the node's executor sends so that a receiver can join
	// the trace; "" sends none. parent is the run's trace parent (zero:
	// the run's trace is its own).
	Traceparent(runID, nodeRunID string, parent traceparent.Parent) string
	// NodeRun reports a node run that ended, or (Waiting) whose execution
	// ended and that now waits for a completion from outside.
	NodeRun(NodeSpan)
	// Run reports a run that ended.
	Run(RunSpan)
}

// NodeSpan is one node run, as reported to a Tracer.
type NodeSpan struct {
	WorkflowID      string
	WorkflowVersion int
	RunID           string
	NodeID          string
	NodeType        string
	NodeRunID       string
	// Attempt is how many times the node run's execution began (0 for a
	// trigger, which executes nothing).
	Attempt int
	// Start is when the node run was created; End when it completed or,
	// with Waiting, when its execution returned.
	Start, End time.Time
	// Waiting: the execution returned and the node run waits for a
	// completion from outside; it is reported again when it ends.
	Waiting bool
	// Result is SUCCESS, FAILED or CANCELLED ("" while Waiting).
	Result string
	// Error is the redacted error text of a FAILED node run.
	Error redact.Text
	// Logs are the node run's log lines written by this step, redacted.
	Logs []SpanLog
	// Parent is the run's trace parent: the caller's span context its
	// creation request carried (zero: none, the run's trace is its own).
	Parent traceparent.Parent
}

// SpanLog is one redacted log line of a node run.
type SpanLog struct {
	Level   string
	Message redact.Text
	At      time.Time
}

// RunSpan is one run, as reported to a Tracer when it ends.
type RunSpan struct {
	WorkflowID      string
	WorkflowVersion int
	RunID           string
	TriggerNode     string
	Start, End      time.Time
	Result          string
	// Parent is the run's trace parent, as in NodeSpan: the run's span is
	// its child, in its trace.
	Parent traceparent.Parent
}

// traceContext returns ctx carrying the traceparent of node run nr for the
// node's executor (node.WithTraceparent), when tracing.
func (e *Engine) traceContext(ctx context.Context, st *runState, nr store.NodeRun) context.Context {
	if e.tracer == nil {
		return ctx
	}
	if tp := e.tracer.Traceparent(st.run.Identifier, nr.Identifier, st.traceParent); tp != "" {
		return node.WithTraceparent(ctx, tp)
	}
	return ctx
}

// traceNode reports node run nr of node n, which ended with result (or
// waits, when result is "") at end, with the lines logs and, when it
// failed, the redacted error text errText (passed through the run's
// redactor once more, which changes nothing already masked).
func (e *Engine) traceNode(st *runState, n *workflow.Node, nr store.NodeRun, result string, end time.Time, logs []store.Log, errText string) {
	if e.tracer == nil {
		return
	}
	sp := NodeSpan{
		WorkflowID: st.run.WorkflowID, WorkflowVersion: st.run.WorkflowVersion, RunID: st.run.Identifier,
		NodeID: nr.NodeID, NodeRunID: nr.Identifier, Attempt: nr.Attempts,
		Start: nr.CreatedAt, End: end, Waiting: result == "", Result: result, Parent: st.traceParent,
	}
	if n != nil {
		sp.NodeType = n.Type
	}
	if errText != "" {
		sp.Error = st.red.Text(errText)
	}
	if len(logs) > 0 {
		sp.Logs = make([]SpanLog, len(logs))
		for i, l := range logs {
			sp.Logs[i] = SpanLog{Level: l.Level, Message: l.Message, At: l.CreatedAt}
		}
	}
	e.tracer.NodeRun(sp)
}

// traceRun reports run, which ended, under its trace parent.
func (e *Engine) traceRun(run store.Run, parent traceparent.Parent) {
	if e.tracer == nil {
		return
	}
	sp := RunSpan{WorkflowID: run.WorkflowID, WorkflowVersion: run.WorkflowVersion, RunID: run.Identifier,
		TriggerNode: run.TriggerNode, Start: run.CreatedAt, End: run.UpdatedAt, Result: run.Result, Parent: parent}
	if run.CompletedAt != nil {
		sp.End = *run.CompletedAt
	}
	e.tracer.Run(sp)
}

// traceCancel reports a run cancelled from outside and, when the cancel
// completed it (c is set), its last node run.
func (e *Engine) traceCancel(ctx context.Context, run store.Run, c *store.NodeRunCompletion, last store.NodeRun) {
	if e.tracer == nil {
		return
	}
	parent := e.traceParent(ctx, run.Identifier)
	if c != nil {
		sp := NodeSpan{WorkflowID: run.WorkflowID, WorkflowVersion: run.WorkflowVersion, RunID: run.Identifier,
			NodeID: last.NodeID, NodeRunID: last.Identifier, Attempt: last.Attempts,
			Start: last.CreatedAt, End: c.CompletedAt, Result: c.Result, Parent: parent}
		// The definition is cached while the run is driven; a miss only
		// leaves the node type out.
		if wf, err := e.Definition(ctx, run.WorkflowID, run.WorkflowVersion); err == nil {
			if n := wf.Node(last.NodeID); n != nil {
				sp.NodeType = n.Type
			}
		}
		e.tracer.NodeRun(sp)
	}
	e.traceRun(run, parent)
}

// traceParent reads run runID's trace parent from the store, when tracing
// and the store keeps them (store.TraceParentStore). A run without one, or
// one that cannot be read, is the root of its own trace: a failed read is
// logged and costs the run only its place in the caller's trace.
func (e *Engine) traceParent(ctx context.Context, runID string) traceparent.Parent {
	if e.tracer == nil {
		return traceparent.Parent{}
	}
	ts, ok := e.store.(store.TraceParentStore)
	if !ok {
		return traceparent.Parent{}
	}
	p, err := ts.RunTraceParent(ctx, runID)
	if err != nil {
		e.log.Warn("read the trace parent of a run; its spans go to a trace of its own", "run", runID, "err", err)
		return traceparent.Parent{}
	}
	return p
}

// setTraceParent stores a run's trace parent, taken from its creation
// request, so that every process reporting its spans finds it. The run is
// created already: a failure is logged, and only the spans reported by
// another process (after a restart) go to a trace of their own.
func (e *Engine) setTraceParent(ctx context.Context, runID string, p traceparent.Parent) {
	if p.IsZero() {
		return
	}
	ts, ok := e.store.(store.TraceParentStore)
	if !ok {
		return
	}
	if err := ts.SetRunTraceParent(ctx, runID, p); err != nil {
		e.log.Warn("store the trace parent of a new run; after a restart its spans go to a trace of their own", "run", runID, "err", err)
	}
}
