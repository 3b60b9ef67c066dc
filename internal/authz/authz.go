// Package authz answers who may do what in sluice: manage workflows and
// secrets, execute a workflow, view a run, complete or cancel it, read the
// audit log. Every question is one small pure function of the actor and the
// object; nothing here reads the store or the clock, so the rules are
// tested exhaustively by table.
//
// The rules, from spec/workflows.md "Permissions":
//
//   - Users are Admin or Member and belong to teams. A machine client (API
//     credentials that are not a user's) acts with its scopes only.
//   - Managing workflows and secrets, and reading the audit log, takes Admin
//     or a machine client with the matching scope.
//   - Executing a workflow: Admin always; a machine client with
//     execute:workflows; anyone else by the trigger's permissions (roles,
//     users by email, teams). Omitted or empty permissions mean Admin only.
//     A workflow the caller may not execute is hidden from them.
//   - Viewing a run: Admins, machine clients with read:runs, the run's
//     creator, and anyone authenticated when the run's workflow VERSION
//     allows anyone to view runs.
//   - Completing a node run and adding logs to it: Admins and machine
//     clients with update:runs (the integration or the receiver, as in
//     Port). Not the run's creator: a completion is the remote system's
//     verdict, and text a caller posts is stored next to redacted run data,
//     so a requester may neither forge the one nor probe the other. These
//     rights do not need the right to view the run: an async receiver
//     holding update:runs completes the node runs of private runs too.
//   - Cancelling a run: the same, and the run's creator (a cancel reveals
//     nothing and stores no caller text).
package authz

import (
	"slices"
	"strings"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Scopes of machine clients. ScopeAdmin grants every other scope.
const (
	ScopeAdmin           = "admin"
	ScopeReadWorkflows   = "read:workflows"
	ScopeCreateWorkflows = "create:workflows"
	ScopeUpdateWorkflows = "update:workflows"
	ScopeDeleteWorkflows = "delete:workflows"
	ScopeExecute         = "execute:workflows"
	ScopeReadRuns        = "read:runs"
	ScopeUpdateRuns      = "update:runs"
	ScopeReadSecrets     = "read:secrets"
	ScopeCreateSecrets   = "create:secrets"
	ScopeUpdateSecrets   = "update:secrets"
	ScopeDeleteSecrets   = "delete:secrets"
	ScopeReadAudit       = "read:audit"
	// Installations (/v1/integrations).
	ScopeReadIntegrations   = "read:integrations"
	ScopeCreateIntegrations = "create:integrations"
	ScopeDeleteIntegrations = "delete:integrations"
	// ScopeIntegrationPrefix + an installation id lets an external
	// integration claim and acknowledge that installation's node runs
	// (claim-pending, ack). Admin grants it too.
	ScopeIntegrationPrefix = "integration:"
)

// Scopes lists every scope, in the order the documentation gives them.
func Scopes() []string {
	return []string{
		ScopeAdmin,
		ScopeReadWorkflows, ScopeCreateWorkflows, ScopeUpdateWorkflows, ScopeDeleteWorkflows,
		ScopeExecute, ScopeReadRuns, ScopeUpdateRuns,
		ScopeReadSecrets, ScopeCreateSecrets, ScopeUpdateSecrets, ScopeDeleteSecrets,
		ScopeReadAudit,
		ScopeReadBlueprints, ScopeWriteBlueprints, ScopeReadEntities, ScopeWriteEntities,
		ScopeReadIntegrations, ScopeCreateIntegrations, ScopeDeleteIntegrations,
		ScopeIntegrationPrefix + "<installationId>",
	}
}

// ValidScope reports whether s is one of Scopes, or integration: followed
// by an installation id.
func ValidScope(s string) bool {
	if id, ok := strings.CutPrefix(s, ScopeIntegrationPrefix); ok {
		return id != "" && !strings.ContainsAny(id, " \t\r\n")
	}
	return slices.Contains(Scopes(), s)
}

// CanManageIntegrations reports whether a may do act to installations:
// Admins, and machine clients with act:integrations.
func CanManageIntegrations(a Actor, act Action) bool {
	return adminOr(a, string(act)+":integrations")
}

// CanClaimIntegration reports whether a may claim and acknowledge the node
// runs handed to the external integration of installation id: only a
// machine client with the scope integration:<id> (or admin). People do not
// claim: a claim returns configuration with secrets resolved.
func CanClaimIntegration(a Actor, installationID string) bool {
	return a.ID != "" && a.Machine && a.HasScope(ScopeIntegrationPrefix+installationID)
}

// Action is what is done to a managed object (workflows, secrets).
type Action string

// Actions on managed objects.
const (
	Read   Action = "read"
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Actor is who asks: a user acting through their personal credentials, or a
// machine client.
type Actor struct {
	// ID is what runs and workflows record as createdBy: the user's id for
	// a user, the clientId for a machine client.
	ID       string
	ClientID string
	// Machine is set for a machine client; Scopes apply only to it.
	Machine bool
	Scopes  []string
	// User fields; empty for a machine client.
	Email     string
	FirstName string
	LastName  string
	Role      string // store.RoleAdmin | store.RoleMember
	Teams     []string
}

// IsAdmin reports whether a is an Admin user or a machine client with the
// admin scope.
func (a Actor) IsAdmin() bool {
	if a.Machine {
		return slices.Contains(a.Scopes, ScopeAdmin)
	}
	return a.Role == store.RoleAdmin
}

// HasScope reports whether a is a machine client holding scope s (or admin).
// Users have no scopes.
func (a Actor) HasScope(s string) bool {
	return a.Machine && (slices.Contains(a.Scopes, s) || slices.Contains(a.Scopes, ScopeAdmin))
}

// adminOr reports whether a is an Admin user or a machine client with scope.
func adminOr(a Actor, scope string) bool {
	if a.Machine {
		return a.HasScope(scope)
	}
	return a.Role == store.RoleAdmin
}

// CanManageWorkflows reports whether a may do act to any workflow
// definition: read every workflow (whether or not it may execute it),
// create, replace or delete one.
func CanManageWorkflows(a Actor, act Action) bool {
	return adminOr(a, string(act)+":workflows")
}

// CanExecuteTrigger reports whether a may start a run of a workflow through
// trigger t. Admins always may, machine clients with execute:workflows may;
// other users may when the trigger's permissions name their role, their
// email or one of their teams. Omitted or empty permissions mean Admin only.
// Only SELF_SERVE_TRIGGER nodes are started from the API; one that is not
// published may be started by Admins and machine clients only.
func CanExecuteTrigger(a Actor, t *workflow.Node) bool {
	if t == nil || t.Type != workflow.TypeSelfServeTrigger {
		return false
	}
	if a.Machine {
		return a.HasScope(ScopeExecute)
	}
	if a.IsAdmin() {
		return true
	}
	p := t.Permissions
	if p == nil || a.ID == "" || !t.Published {
		return false
	}
	if a.Role != "" && slices.Contains(p.Roles, a.Role) {
		return true
	}
	if a.Email != "" && slices.ContainsFunc(p.Users, func(u string) bool { return equalFoldASCII(u, a.Email) }) {
		return true
	}
	for _, team := range a.Teams {
		if slices.Contains(p.Teams, team) {
			return true
		}
	}
	return false
}

// CanExecute reports whether a may start a run of wf through any of its
// self-serve triggers. A workflow the caller may not execute (and may not
// manage) is hidden from them: 404, left out of lists.
func CanExecute(a Actor, wf *workflow.Workflow) bool {
	if wf == nil {
		return false
	}
	return slices.ContainsFunc(wf.Triggers(), func(t *workflow.Node) bool { return CanExecuteTrigger(a, t) })
}

// CanSeeWorkflow reports whether a may see wf at all: those who may read
// every workflow, and those who may execute it or whom a trigger's policy
// may allow (CanTry).
func CanSeeWorkflow(a Actor, wf *workflow.Workflow) bool {
	return CanManageWorkflows(a, Read) || CanTry(a, wf)
}

// CanViewRun reports whether a may view run, whose workflow version is wf
// (the version the run ran, not the newest: its allowAnyoneToViewRuns
// decides). A nil wf (a version that cannot be read) allows only Admins,
// machine clients with read:runs, and the creator.
func CanViewRun(a Actor, run store.Run, wf *workflow.Workflow) bool {
	switch {
	case a.ID == "":
		return false
	case adminOr(a, ScopeReadRuns):
		return true
	case run.CreatedBy == a.ID:
		return true
	default:
		return wf != nil && wf.AllowAnyoneToViewRuns
	}
}

// CanViewAllRuns reports whether a may view every run, so that a run list
// can be filtered by the store alone.
func CanViewAllRuns(a Actor) bool { return a.ID != "" && adminOr(a, ScopeReadRuns) }

// CanCompleteNodeRun reports whether a may complete a node run of run:
// Admins and machine clients with update:runs (the systems that receive async
// webhooks and Kafka messages). Not the run's creator: the completion is the
// remote system's verdict, and later nodes act on it, so a requester must not
// be able to forge it. The right does not depend on viewing the run: callers
// who have it act whatever the run's visibility; others who may view the run
// get 403, those who may not, 404.
func CanCompleteNodeRun(a Actor, run store.Run) bool {
	return a.ID != "" && adminOr(a, ScopeUpdateRuns)
}

// CanAddNodeRunLogs reports whether a may add log lines to a node run of
// run: exactly those who may complete it (CanCompleteNodeRun). Not the run's
// creator: posted text is redacted and stored beside the run's data, which
// a requester could read back to probe how it was masked (a secret oracle).
func CanAddNodeRunLogs(a Actor, run store.Run) bool { return CanCompleteNodeRun(a, run) }

// CanCancelRun reports whether a may cancel run: those who may complete its
// node runs, and the run's creator (a user; machines act by scope only).
func CanCancelRun(a Actor, run store.Run) bool {
	switch {
	case a.ID == "":
		return false
	case adminOr(a, ScopeUpdateRuns):
		return true
	default:
		return !a.Machine && run.CreatedBy == a.ID
	}
}

// CanManageSecrets reports whether a may do act to organization secrets:
// Admins, and machine clients with the scope act:secrets. Nobody may ever
// read a value; Read is about metadata.
func CanManageSecrets(a Actor, act Action) bool {
	return adminOr(a, string(act)+":secrets")
}

// CanReadAudit reports whether a may read the audit log: Admins and machine
// clients with read:audit.
func CanReadAudit(a Actor) bool { return adminOr(a, ScopeReadAudit) }

// equalFoldASCII compares emails case-insensitively in their ASCII letters.
func equalFoldASCII(x, y string) bool {
	if len(x) != len(y) {
		return false
	}
	for i := 0; i < len(x); i++ {
		a, b := x[i], y[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// Decision is the outcome of a request on an object that may be hidden from
// the caller.
type Decision int

// Decisions, from the strictest.
const (
	// Hidden: the caller may not see the object; answer 404, as if it did
	// not exist.
	Hidden Decision = iota
	// Forbidden: the caller may see the object but not do this; answer 403.
	Forbidden
	// Allowed: go on.
	Allowed
)

// String names d for test output.
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case Forbidden:
		return "forbidden"
	}
	return "hidden"
}

// DecideNodeRunUpdate decides a completion of, or a log post to, a node run
// of run, whose workflow version is wf. Callers who may complete it act
// whatever the run's visibility (an async receiver with update:runs need not
// read runs); the others get Forbidden when they may view the run and Hidden
// when they may not, so that a node run id tells nothing about a run the
// caller cannot see.
func DecideNodeRunUpdate(a Actor, run store.Run, wf *workflow.Workflow) Decision {
	switch {
	case CanCompleteNodeRun(a, run):
		return Allowed
	case CanViewRun(a, run, wf):
		return Forbidden
	default:
		return Hidden
	}
}
