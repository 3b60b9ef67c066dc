package api

import (
	"context"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/workflow"
)

// dynamic decides Port's dynamic permissions (a trigger's policy, an INPUT
// node's usersQuery) over the server's catalog, or over the caller's own
// identity alone when the server has none.
func (s *Server) dynamic() *authz.Dynamic { return authz.NewDynamic(s.catalog) }

// policyTrigger returns the trigger a run would start from (id, or the
// only self-serve trigger when id is ""), or nil.
func policyTrigger(wf *workflow.Workflow, id string) *workflow.Node {
	if id != "" {
		return wf.Node(id)
	}
	var only *workflow.Node
	for _, t := range wf.Triggers() {
		if t.Type != workflow.TypeSelfServeTrigger {
			continue
		}
		if only != nil {
			return nil
		}
		only = t
	}
	return only
}

// policyCheck returns the check of run creation (engine.StartRequest's
// Authorize) that decides the policy of trigger t for a, or nil when the
// static permissions already allow a or t has no policy for a.
func (s *Server) policyCheck(a authz.Actor, wf *workflow.Workflow, version int, t *workflow.Node) func(context.Context, map[string]any) error {
	if !authz.HasPolicy(a, t) || authz.CanExecuteTrigger(a, t) {
		return nil
	}
	d := s.dynamic()
	return func(ctx context.Context, form map[string]any) error {
		return d.AllowPolicy(ctx, a, authz.PolicyRequest{
			Trigger: t, Form: form,
			Workflow: map[string]any{"identifier": wf.Identifier, "version": version},
		})
	}
}
