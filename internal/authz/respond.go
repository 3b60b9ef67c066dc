package authz

import (
	"slices"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// CanRespond reports whether a may respond to an INPUT node whose
// responders are r: a user whose email is in r.Users (compared regardless
// of ASCII case), whose role is in r.Roles, or who belongs to one of
// r.Teams. Being an Admin grants nothing by itself: an Admin responds only
// when named, by email, by the role "Admin" or by a team. Omitted or empty
// responders mean the role Admin (as a trigger's omitted permissions do),
// so that a node nobody named can still be answered; a usersQuery names
// responders too (Dynamic.IsResponder). Machine clients never
// respond: a response is a person's decision, recorded with who they are.
func CanRespond(a Actor, r *workflow.Permissions) bool {
	if a.ID == "" || a.Machine {
		return false
	}
	if r == nil || len(r.Users)+len(r.Roles)+len(r.Teams) == 0 && r.UsersQuery == nil {
		return a.Role == store.RoleAdmin
	}
	if a.Role != "" && slices.Contains(r.Roles, a.Role) {
		return true
	}
	if a.Email != "" && slices.ContainsFunc(r.Users, func(u string) bool { return equalFoldASCII(u, a.Email) }) {
		return true
	}
	for _, team := range a.Teams {
		if slices.Contains(r.Teams, team) {
			return true
		}
	}
	return false
}

// DecideRespond decides a response to an INPUT node run of run, whose
// workflow version is wf and whose node's responders are r: responders are
// Allowed; others get Forbidden when they may view the run and Hidden when
// they may not, so that a node run id tells nothing about a run the caller
// cannot see.
func DecideRespond(a Actor, run store.Run, wf *workflow.Workflow, r *workflow.Permissions) Decision {
	switch {
	case CanRespond(a, r):
		return Allowed
	case CanViewRun(a, run, wf):
		return Forbidden
	default:
		return Hidden
	}
}
