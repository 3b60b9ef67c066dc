package input

import (
	"context"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Responders decides who may respond to an INPUT node beyond the users,
// roles and teams it names: Port's responders.usersQuery, a search over
// the _user blueprint (implemented by *authz.Dynamic).
type Responders interface {
	IsResponder(ctx context.Context, a authz.Actor, r *workflow.Permissions) (bool, error)
}

// SetResponders makes r decide who responds; without it only the named
// users, roles and teams do (authz.CanRespond) and a usersQuery names
// nobody.
func (s *Service) SetResponders(r Responders) { s.responders = r }

// isResponder reports whether a may respond to a node whose responders are
// r.
func (s *Service) isResponder(ctx context.Context, a authz.Actor, r *workflow.Permissions) (bool, error) {
	if s.responders == nil {
		return authz.CanRespond(a, r), nil
	}
	return s.responders.IsResponder(ctx, a, r)
}
