package authz

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

func TestMatchRule(t *testing.T) {
	arr := func(xs ...any) []any { return xs }
	tests := []struct {
		op        string
		got, want any
		ok        bool
	}{
		{"=", "a", "a", true},
		{"=", json.Number("2"), 2.0, true},
		{"!=", "a", "b", true},
		{">", 3.0, 2.0, true},
		{"<=", 3.0, 2.0, false},
		{"in", "a", arr("a", "b"), true},
		{"in", "c", arr("a", "b"), false},
		{"in", "a", "a", true}, // a scalar value is a list of one
		{"notIn", "c", arr("a", "b"), true},
		{"contains", arr("web", "sre"), "sre", true},
		{"contains", arr("web"), "sre", false},
		{"contains", "platform-team", "team", true},
		{"notContains", arr("web"), "sre", true},
		{"containsAny", arr("a", "b"), arr("b", "c"), true},
		{"containsAny", arr("a"), arr("b", "c"), false},
		{"containsAny", "b", arr("b"), true}, // a scalar property is a list of one
		{"empty", arr(), nil, true},
		{"empty", nil, nil, true},
		{"empty", "x", nil, false},
		{"notEmpty", arr("x"), nil, true},
		{"like", "a", "a", false},
	}
	for _, tt := range tests {
		if got := matchRule(tt.op, tt.got, tt.want); got != tt.ok {
			t.Errorf("matchRule(%q, %v, %v) = %v, want %v", tt.op, tt.got, tt.want, got, tt.ok)
		}
	}
}

// fakeCatalog is a catalog held in memory, for the rules of Dynamic that
// do not need a store (the API tests run them over a real one).
type fakeCatalog struct{ entities []catalog.Entity }

func (f *fakeCatalog) Search(_ context.Context, q catalog.Query) ([]catalog.Entity, error) {
	var out []catalog.Entity
	for _, e := range f.entities {
		if q.Matches(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeCatalog) GetEntity(_ context.Context, bp, id string) (catalog.Entity, error) {
	for _, e := range f.entities {
		if e.Blueprint == bp && e.Identifier == id {
			return e, nil
		}
	}
	return catalog.Entity{}, catalog.ErrNotFound
}

func TestUserEntity(t *testing.T) {
	d := &Dynamic{Catalog: &fakeCatalog{entities: []catalog.Entity{{
		Identifier: "ann@example.com", Blueprint: UserBlueprint, Title: "Catalog title",
		Properties: map[string]any{"department": "sre", "port_role": "Admin"},
	}}}}
	a := Actor{ID: "u1", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Role: store.RoleMember, Teams: []string{"web"}}
	u, err := d.userEntity(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	for prop, want := range map[string]any{"$identifier": "ann@example.com", "$title": "Ann Lee", "$blueprint": "_user",
		"department": "sre", "port_role": "Member", "email": "ann@example.com"} {
		if got := u.Field(prop); got != want {
			t.Errorf("%s = %v, want %v", prop, got, want)
		}
	}
	if team := u.Field("$team").([]any); len(team) != 1 || team[0] != "web" {
		t.Errorf("$team = %v", team)
	}
}

func TestIsResponder(t *testing.T) {
	d := &Dynamic{}
	q := &catalog.Query{Combinator: "and", Rules: []catalog.Rule{{Property: "port_role", Operator: "=", Value: "Member"}}}
	member := Actor{ID: "u1", Email: "m@example.com", Role: store.RoleMember}
	tests := []struct {
		name string
		a    Actor
		r    *workflow.Permissions
		ok   bool
	}{
		{"query matches", member, &workflow.Permissions{UsersQuery: q}, true},
		{"query does not match", Actor{ID: "u2", Email: "a@example.com", Role: store.RoleAdmin}, &workflow.Permissions{UsersQuery: q}, false},
		{"machine never", Actor{ID: "c", Machine: true, Scopes: []string{ScopeAdmin}}, &workflow.Permissions{UsersQuery: q}, false},
		{"named user without query", member, &workflow.Permissions{Users: []string{"M@example.com"}}, true},
		{"empty responders mean Admin", member, &workflow.Permissions{}, false},
	}
	for _, tt := range tests {
		got, err := d.IsResponder(context.Background(), tt.a, tt.r)
		if err != nil || got != tt.ok {
			t.Errorf("%s: IsResponder = %v, %v; want %v", tt.name, got, err, tt.ok)
		}
	}
}

func TestAllowPolicyWithoutPolicy(t *testing.T) {
	d := &Dynamic{}
	trig := &workflow.Node{Identifier: "t", Type: workflow.TypeSelfServeTrigger, Published: true, Permissions: &workflow.Permissions{}}
	err := d.AllowPolicy(context.Background(), Actor{ID: "u", Email: "u@example.com"}, PolicyRequest{Trigger: trig})
	if !errors.Is(err, ErrPolicyDenied) || !strings.Contains(err.Error(), "no policy") {
		t.Errorf("err = %v", err)
	}
}
