// Package condition is the CONDITION node: it tries the node's outlets in
// order and takes the first whose expression is true; when none is, the
// engine follows the fallback connection or ends the branch.
package condition

import (
	"context"
	"fmt"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Executor evaluates CONDITION nodes. It has no state.
type Executor struct{}

// Register adds the CONDITION executor to r.
func Register(r *node.Registry) { r.Register(workflow.TypeCondition, Executor{}) }

// Pure reports that Execute only evaluates the outlets' expressions over
// the run's context (node.Pure), so the engine evaluates the node within
// the step that reaches it.
func (Executor) Pure() bool { return true }

// Execute evaluates the outlets' expressions in order. Truth follows jq: every
// value except false and null is true. The output names the outlet taken, or
// null when none matched.
func (Executor) Execute(_ context.Context, req *node.Request) (node.Result, error) {
	for i, o := range req.Node.Outlets {
		if o.Expression == nil {
			return node.Result{}, fmt.Errorf("config.outlets[%d].expression: missing", i)
		}
		v, err := req.Eval(o.Expression)
		if err != nil {
			return node.Result{}, fmt.Errorf("config.outlets[%d].expression: %w", i, err)
		}
		if truthy(v) {
			return node.Result{
				Output: map[string]any{"selectedOutlet": map[string]any{"identifier": o.Identifier}},
				Outlet: o.Identifier,
			}, nil
		}
	}
	return node.Result{Output: map[string]any{"selectedOutlet": nil}}, nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}
