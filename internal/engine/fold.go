package engine

import (
	"context"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// foldedNode is a pure node that fold evaluated within a step, reported
// (events, span) once that step commits.
type foldedNode struct {
	n    *workflow.Node
	nr   store.NodeRun // as the step stores it: completed
	out  nodeOutcome
	took time.Duration
}

// pure reports whether n can be evaluated within the step that reaches it
// (node.Pure): its executor says so, and its config reads no secret (a
// resolution is audited against the node run, which must exist first).
func (e *Engine) pure(n *workflow.Node) bool {
	if n == nil {
		return false
	}
	exec, ok := e.nodes.Lookup(n.Type)
	if !ok {
		return false
	}
	p, ok := exec.(node.Pure)
	if !ok || !p.Pure() {
		return false
	}
	return n.ConfigTemplate == nil || len(n.ConfigTemplate.Reads().Secrets) == 0
}

// fold evaluates the pure nodes that follow in the step t is about to
// commit, starting at nextID (ok false: the path ended before it), and adds
// their node runs, completed, to t.Passed and their logs to t.Logs: one
// commit instead of two per pure node (docs/performance.md, "Fourth look").
// It returns the node after them (ok false: the path ends there) and what
// it evaluated, for report once t has committed. A node whose evaluation
// was stopped (a cancel, a shutdown) is left to start as any other.
func (e *Engine) fold(ctx context.Context, st *runState, t *store.Transition, nextID string, ok bool) (string, bool, []foldedNode) {
	var folded []foldedNode
	for ok {
		n := st.wf.Node(nextID)
		if !e.pure(n) {
			break
		}
		now := e.now().UTC()
		nr := store.NodeRun{
			Identifier: NewNodeRunID(),
			RunID:      st.run.Identifier,
			NodeID:     nextID,
			Seq:        st.seq + 1,
			Status:     store.StatusInProgress,
			Attempts:   1,
			CreatedAt:  now,
			UpdatedAt:  now,
		}
		began := time.Now()
		out := e.runNode(ctx, st, n, nr)
		if out.stopped || out.pending {
			break
		}
		if err := st.setOutput(n.Identifier, out.completion.Output); err != nil {
			// Unreachable for a redacted output; started as any other
			// node, it fails there with this error.
			break
		}
		st.seq++
		if out.completion.Result == store.ResultFailed && n.OnFailure != workflow.OnFailureContinue {
			st.failed = true
		}
		end := out.completion.CompletedAt
		nr.Status, nr.Result, nr.Output, nr.Links = store.StatusCompleted, out.completion.Result, out.completion.Output, out.completion.Links
		nr.UpdatedAt, nr.CompletedAt = end, &end
		t.Passed = append(t.Passed, nr)
		t.Logs = append(t.Logs, out.logs...)
		folded = append(folded, foldedNode{n: n, nr: nr, out: out, took: time.Since(began)})
		nextID, ok = e.successor(st, n, nr, out.outlet)
	}
	return nextID, ok, folded
}

// reportFolded reports the nodes fold evaluated, once their step committed:
// each one's start and end events, then its span.
func (e *Engine) reportFolded(st *runState, folded []foldedNode) {
	for _, f := range folded {
		e.emit(Event{Kind: NodeStarted, RunID: st.run.Identifier, NodeID: f.n.Identifier, NodeRunID: f.nr.Identifier, Type: f.n.Type})
		e.emit(Event{Kind: NodeFinished, RunID: st.run.Identifier, NodeID: f.n.Identifier, NodeRunID: f.nr.Identifier, Type: f.n.Type,
			Result: f.out.completion.Result, Duration: f.took, Error: f.out.errText})
		e.traceNode(st, f.n, f.nr, f.out.completion.Result, f.out.completion.CompletedAt, f.out.logs, f.out.errText)
	}
}
