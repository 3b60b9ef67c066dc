package input

import (
	"context"
	"fmt"

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

// queryRecipients adds the emails of the users r.UsersQuery names.
func (e *Executor) queryRecipients(ctx context.Context, r *workflow.Permissions, add func(string)) error {
	var match Responders = authz.NewDynamic(nil)
	if e.opts.Responders != nil {
		match = e.opts.Responders
	}
	users, err := e.opts.Users.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list the users a usersQuery may name: %w", err)
	}
	only := &workflow.Permissions{UsersQuery: r.UsersQuery}
	for _, u := range users {
		a := authz.Actor{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: u.Role, Teams: u.Teams}
		ok, err := match.IsResponder(ctx, a, only)
		if err != nil {
			return fmt.Errorf("match user %s against the usersQuery: %w", u.Email, err)
		}
		if ok {
			add(u.Email)
		}
	}
	return nil
}
