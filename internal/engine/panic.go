package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// callExecutor runs exec, turning a panic into an error: a bug in one node
// type fails that node run, as any error does, instead of the process. A
// process that died would take every run in flight with it and, since a
// run resumes at the next start, panic again there: a crash loop.
func (e *Engine) callExecutor(st *runState, n *workflow.Node, nr store.NodeRun, exec node.Executor, ctx context.Context, req *node.Request) (res node.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = node.Result{}, e.nodePanic(st, n, nr, v)
		}
	}()
	return exec.Execute(ctx, req)
}

// nodePanic logs a panic recovered while running node run nr, with its
// stack, and returns the error its node run fails with. The panic's value
// may quote anything the node handled, secrets included: it reaches the
// process log only through the run's redactor, as the node run's log and
// output do (runNode's fail).
func (e *Engine) nodePanic(st *runState, n *workflow.Node, nr store.NodeRun, v any) error {
	err := fmt.Errorf("node %s (%s) panicked: %v: this is a bug in sluice; the node run failed, and the process log has the stack", n.Identifier, n.Type, v)
	e.log.LogAttrs(context.Background(), slog.LevelError, "a node panicked; its node run failed",
		slog.String("run", st.run.Identifier), slog.String("nodeRun", nr.Identifier), slog.String("node", n.Identifier),
		slog.String("type", n.Type), slog.String("panic", st.red.Error(err).String()), slog.String("stack", string(debug.Stack())))
	return err
}
