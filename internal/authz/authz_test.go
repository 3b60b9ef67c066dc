package authz

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// parse builds a workflow whose only trigger has the given permissions JSON
// ("" omits them) and allowAnyoneToViewRuns.
func parse(t *testing.T, perms string, anyone bool, published bool) *workflow.Workflow {
	t.Helper()
	p := ""
	if perms != "" {
		p = `, "permissions": ` + perms
	}
	pub := "true"
	if !published {
		pub = "false"
	}
	view := "true"
	if !anyone {
		view = "false"
	}
	def := `{"identifier": "wf", "allowAnyoneToViewRuns": ` + view + `, "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "published": ` + pub + p + `}}
	], "connections": []}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	return wf
}

var (
	admin   = Actor{ID: "usr_admin", Role: store.RoleAdmin, Email: "root@example.com"}
	alice   = Actor{ID: "usr_alice", Role: store.RoleMember, Email: "Alice@Example.com", Teams: []string{"web"}}
	bob     = Actor{ID: "usr_bob", Role: store.RoleMember, Email: "bob@example.com", Teams: []string{"platform", "ops"}}
	carol   = Actor{ID: "usr_carol", Role: store.RoleMember, Email: "carol@example.com"}
	nobody  = Actor{}
	ci      = Actor{ID: "cl_ci", ClientID: "cl_ci", Machine: true, Scopes: []string{ScopeExecute, ScopeReadRuns, ScopeUpdateRuns, ScopeReadWorkflows}}
	bare    = Actor{ID: "cl_bare", ClientID: "cl_bare", Machine: true}
	root    = Actor{ID: "cl_root", ClientID: "cl_root", Machine: true, Scopes: []string{ScopeAdmin}}
	secrets = Actor{ID: "cl_sec", ClientID: "cl_sec", Machine: true, Scopes: []string{ScopeReadSecrets, ScopeCreateSecrets}}
	// A machine client claiming the Admin role still acts by scopes.
	spoof = Actor{ID: "cl_spoof", ClientID: "cl_spoof", Machine: true, Role: store.RoleAdmin}
)

func TestCanExecute(t *testing.T) {
	const perms = `{"roles": [], "users": ["alice@example.com"], "teams": ["platform"]}`
	tests := []struct {
		name      string
		perms     string
		published bool
		actor     Actor
		want      bool
	}{
		{"admin, permissions omitted", "", true, admin, true},
		{"member, permissions omitted", "", true, alice, false},
		{"member, permissions empty", `{"roles": [], "users": [], "teams": []}`, true, alice, false},
		{"member by email, case-insensitive", perms, true, alice, true},
		{"member by team", perms, true, bob, true},
		{"member not listed", perms, true, carol, false},
		{"member by role", `{"roles": ["Member"]}`, true, carol, true},
		{"admin role listed", `{"roles": ["Admin"]}`, true, carol, false},
		{"machine with execute scope", "", true, ci, true},
		{"machine without scopes", perms, true, bare, false},
		{"machine with admin scope", "", true, root, true},
		{"machine claiming the Admin role", `{"roles": ["Admin"]}`, true, spoof, false},
		{"unauthenticated", `{"roles": ["Member", "Admin"]}`, true, nobody, false},
		{"unpublished, listed member", perms, false, alice, false},
		{"unpublished, admin", perms, false, admin, true},
		{"unpublished, machine", perms, false, ci, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wf := parse(t, tc.perms, true, tc.published)
			if got := CanExecute(tc.actor, wf); got != tc.want {
				t.Errorf("CanExecute = %v, want %v", got, tc.want)
			}
			if got := CanSeeWorkflow(tc.actor, wf); got != (tc.want || CanManageWorkflows(tc.actor, Read)) {
				t.Errorf("CanSeeWorkflow = %v", got)
			}
		})
	}
	if CanExecute(admin, nil) {
		t.Error("CanExecute(nil workflow) = true")
	}
}

func TestCanExecuteTriggerKinds(t *testing.T) {
	wf, problems := workflow.Parse([]byte(`{"identifier": "s", "nodes": [
		{"identifier": "cron", "config": {"type": "SCHEDULE_TRIGGER", "cron": "0 * * * *"}}], "connections": []}`))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []Actor{admin, root, ci} {
		if CanExecute(a, wf) {
			t.Errorf("%s may start a schedule-only workflow from the API", a.ID)
		}
	}
}

func TestCanViewRun(t *testing.T) {
	run := store.Run{Identifier: "wfr_1", CreatedBy: alice.ID}
	tests := []struct {
		actor       Actor
		open, close bool // allowAnyoneToViewRuns true, false
	}{
		{admin, true, true},
		{alice, true, true}, // the creator
		{bob, true, false},
		{carol, true, false},
		{ci, true, true},     // read:runs
		{root, true, true},   // admin scope
		{bare, true, false},  // authenticated, no scope
		{spoof, true, false}, // a role means nothing to a machine
		{nobody, false, false},
	}
	for _, tc := range tests {
		name := tc.actor.ID
		if name == "" {
			name = "unauthenticated"
		}
		t.Run(name, func(t *testing.T) {
			if got := CanViewRun(tc.actor, run, parse(t, "", true, true)); got != tc.open {
				t.Errorf("allowAnyoneToViewRuns=true: %v, want %v", got, tc.open)
			}
			if got := CanViewRun(tc.actor, run, parse(t, "", false, true)); got != tc.close {
				t.Errorf("allowAnyoneToViewRuns=false: %v, want %v", got, tc.close)
			}
			if got := CanViewRun(tc.actor, run, nil); got != tc.close {
				t.Errorf("unknown version: %v, want %v", got, tc.close)
			}
			if got, want := CanViewAllRuns(tc.actor), tc.actor.IsAdmin() || tc.actor.HasScope(ScopeReadRuns); got != want {
				t.Errorf("CanViewAllRuns = %v, want %v", got, want)
			}
		})
	}
}

// The run-changing rights of every kind of caller, on a run whose workflow
// version allows anyone to view runs (public) and on one that does not
// (private). Completing a node run and adding logs to it take an Admin or
// update:runs, whatever the run's visibility; cancelling also allows the
// run's creator.
func TestRunRightsMatrix(t *testing.T) {
	var (
		updater  = Actor{ID: "cl_upd", ClientID: "cl_upd", Machine: true, Scopes: []string{ScopeUpdateRuns}}
		reader   = Actor{ID: "cl_read", ClientID: "cl_read", Machine: true, Scopes: []string{ScopeReadRuns}}
		executor = Actor{ID: "cl_exec", ClientID: "cl_exec", Machine: true, Scopes: []string{ScopeExecute}}
	)
	run := store.Run{Identifier: "wfr_1", CreatedBy: alice.ID}
	machineRun := store.Run{Identifier: "wfr_2", CreatedBy: executor.ID}
	const (
		hid = Hidden
		frb = Forbidden
		alw = Allowed
	)
	tests := []struct {
		name     string
		actor    Actor
		run      store.Run
		complete bool // CanCompleteNodeRun
		logs     bool // CanAddNodeRunLogs
		cancel   bool // CanCancelRun
		// DecideNodeRunUpdate on a public run, a private one, and a run
		// whose version cannot be read.
		public, private, unknown Decision
	}{
		{"Admin", admin, run, true, true, true, alw, alw, alw},
		{"Member who created the run", alice, run, false, false, true, frb, frb, frb},
		{"another Member", bob, run, false, false, false, frb, hid, hid},
		{"machine with update:runs only", updater, run, true, true, true, alw, alw, alw},
		{"machine with read:runs only", reader, run, false, false, false, frb, frb, frb},
		{"machine with execute:workflows only", executor, run, false, false, false, frb, hid, hid},
		{"machine with execute:workflows that started the run", executor, machineRun, false, false, false, frb, frb, frb}, // it may view, by authorship
		{"machine with read and update:runs", ci, run, true, true, true, alw, alw, alw},
		{"machine with admin scope", root, run, true, true, true, alw, alw, alw},
		{"machine without scopes", bare, run, false, false, false, frb, hid, hid},
		{"machine with secret scopes", secrets, run, false, false, false, frb, hid, hid},
		{"machine claiming the Admin role", spoof, run, false, false, false, frb, hid, hid},
		{"unauthenticated", nobody, run, false, false, false, hid, hid, hid},
		{"empty ids never match", Actor{}, store.Run{}, false, false, false, hid, hid, hid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanCompleteNodeRun(tc.actor, tc.run); got != tc.complete {
				t.Errorf("CanCompleteNodeRun = %v, want %v", got, tc.complete)
			}
			if got := CanAddNodeRunLogs(tc.actor, tc.run); got != tc.logs {
				t.Errorf("CanAddNodeRunLogs = %v, want %v", got, tc.logs)
			}
			if got := CanCancelRun(tc.actor, tc.run); got != tc.cancel {
				t.Errorf("CanCancelRun = %v, want %v", got, tc.cancel)
			}
			for _, c := range []struct {
				name string
				wf   *workflow.Workflow
				want Decision
			}{
				{"public", parse(t, "", true, true), tc.public},
				{"private", parse(t, "", false, true), tc.private},
				{"unknown version", nil, tc.unknown},
			} {
				if got := DecideNodeRunUpdate(tc.actor, tc.run, c.wf); got != c.want {
					t.Errorf("%s run: DecideNodeRunUpdate = %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}

func TestManageAndAudit(t *testing.T) {
	type want struct{ read, create, update, delete bool }
	tests := []struct {
		actor     Actor
		workflows want
		secrets   want
		audit     bool
	}{
		{admin, want{true, true, true, true}, want{true, true, true, true}, true},
		{alice, want{}, want{}, false},
		{root, want{true, true, true, true}, want{true, true, true, true}, true},
		{ci, want{read: true}, want{}, false},
		{secrets, want{}, want{read: true, create: true}, false},
		{Actor{ID: "cl_w", Machine: true, Scopes: []string{ScopeCreateWorkflows, ScopeUpdateWorkflows, ScopeDeleteWorkflows, ScopeReadAudit}}, want{false, true, true, true}, want{}, true},
		{spoof, want{}, want{}, false},
		{nobody, want{}, want{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.actor.ID, func(t *testing.T) {
			for _, c := range []struct {
				act        Action
				wf, secret bool
			}{
				{Read, tc.workflows.read, tc.secrets.read},
				{Create, tc.workflows.create, tc.secrets.create},
				{Update, tc.workflows.update, tc.secrets.update},
				{Delete, tc.workflows.delete, tc.secrets.delete},
			} {
				if got := CanManageWorkflows(tc.actor, c.act); got != c.wf {
					t.Errorf("CanManageWorkflows(%s) = %v, want %v", c.act, got, c.wf)
				}
				if got := CanManageSecrets(tc.actor, c.act); got != c.secret {
					t.Errorf("CanManageSecrets(%s) = %v, want %v", c.act, got, c.secret)
				}
			}
			if got := CanReadAudit(tc.actor); got != tc.audit {
				t.Errorf("CanReadAudit = %v, want %v", got, tc.audit)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	for _, s := range Scopes() {
		if !ValidScope(s) {
			t.Errorf("ValidScope(%q) = false", s)
		}
	}
	for _, s := range []string{"", "Admin", "write:workflows", "read:workflow"} {
		if ValidScope(s) {
			t.Errorf("ValidScope(%q) = true", s)
		}
	}
}
