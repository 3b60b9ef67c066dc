package authz

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

func TestCanRespond(t *testing.T) {
	named := &workflow.Permissions{Users: []string{"alice@example.com"}, Roles: []string{}, Teams: []string{"ops"}}
	byRole := &workflow.Permissions{Roles: []string{store.RoleMember}}
	adminRole := &workflow.Permissions{Roles: []string{store.RoleAdmin}}
	rootByEmail := &workflow.Permissions{Users: []string{"ROOT@example.com"}}
	tests := []struct {
		name  string
		r     *workflow.Permissions
		actor Actor
		want  bool
	}{
		{"user by email, any case", named, alice, true},
		{"user by team", named, bob, true},
		{"user named nowhere", named, carol, false},
		{"admin not named", named, admin, false},
		{"admin named by email", rootByEmail, admin, true},
		{"admin named by role", adminRole, admin, true},
		{"member by role", byRole, carol, true},
		{"admin by the Member role", byRole, admin, false},
		{"omitted responders: admin", nil, admin, true},
		{"omitted responders: member", nil, alice, false},
		{"empty responders: admin", &workflow.Permissions{}, admin, true},
		{"empty responders: member", &workflow.Permissions{}, bob, false},
		{"machine client with every scope", named, root, false},
		{"machine client claiming Admin", nil, spoof, false},
		{"machine client, omitted responders", nil, ci, false},
		{"anonymous", byRole, nobody, false},
		{"anonymous with a role", byRole, Actor{Role: store.RoleMember}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanRespond(tc.actor, tc.r); got != tc.want {
				t.Errorf("CanRespond(%s) = %v, want %v", tc.actor.ID, got, tc.want)
			}
		})
	}
}

func TestDecideRespond(t *testing.T) {
	open := parse(t, "", true, true)
	private := parse(t, "", false, true)
	r := &workflow.Permissions{Users: []string{"bob@example.com"}}
	run := store.Run{Identifier: "wfr_1", CreatedBy: alice.ID}
	tests := []struct {
		name  string
		wf    *workflow.Workflow
		actor Actor
		want  Decision
	}{
		{"responder, private run", private, bob, Allowed},
		{"responder, open run", open, bob, Allowed},
		{"viewer of an open run", open, carol, Forbidden},
		{"creator of a private run", private, alice, Forbidden},
		{"stranger to a private run", private, carol, Hidden},
		{"admin not named views the run", private, admin, Forbidden},
		{"machine with read:runs", private, ci, Forbidden},
		{"machine without scopes", private, bare, Hidden},
		{"unreadable version", nil, carol, Hidden},
		{"anonymous", open, nobody, Hidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideRespond(tc.actor, run, tc.wf, r); got != tc.want {
				t.Errorf("DecideRespond(%s) = %v, want %v", tc.actor.ID, got, tc.want)
			}
		})
	}
}
