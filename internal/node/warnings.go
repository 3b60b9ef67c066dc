package node

import (
	"fmt"

	"github.com/sluice-run/sluice/internal/workflow"
)

// Warner is implemented by executors that can tell, when a workflow is
// saved, that a node of theirs will fail when it runs on this server (a
// KAFKA node on a server without brokers). The workflow still saves.
type Warner interface {
	// Warnings returns one message per problem with node n, or none.
	Warnings(n *workflow.Node) []string
}

// Warnings returns the save-time warnings of wf's nodes from the executors
// that implement Warner, each at the path of the node's config.
func (r *Registry) Warnings(wf *workflow.Workflow) []workflow.Problem {
	var out []workflow.Problem
	for i, n := range wf.Nodes {
		w, ok := r.m[n.Type].(Warner)
		if !ok {
			continue
		}
		for _, msg := range w.Warnings(n) {
			out = append(out, workflow.Problem{Path: fmt.Sprintf("nodes[%d].config", i), Message: msg, Warning: true})
		}
	}
	return out
}
