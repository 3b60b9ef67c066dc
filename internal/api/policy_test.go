package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/node/input/smtptest"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// policyDef is a workflow whose self-serve trigger lets the static
// permissions (perms) and the policy in them execute it, then calls the
// receiver. Its form has a service (an entity of the blueprint service),
// an environment and a count.
func policyDef(id, url string, perms map[string]any) map[string]any {
	return map[string]any{
		"identifier": id,
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{
				"type": "SELF_SERVE_TRIGGER",
				"userInputs": map[string]any{"properties": map[string]any{
					"service":     map[string]any{"type": "string", "format": "entity", "blueprint": "service"},
					"environment": map[string]any{"type": "string", "enum": []any{"staging", "production"}, "default": "staging"},
				}},
				"permissions": perms,
			}},
			map[string]any{"identifier": "call", "config": map[string]any{"type": "WEBHOOK", "url": url}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
}

// rule is one contextual policy rule.
func rule(ctx, prop, op string, value any) map[string]any {
	return map[string]any{"property": map[string]any{"context": ctx, "property": prop}, "operator": op, "value": value}
}

func ref(ctx, prop string) map[string]any { return map[string]any{"context": ctx, "property": prop} }

func and(rules ...any) map[string]any { return map[string]any{"combinator": "and", "rules": rules} }

// TestTriggerPolicy starts runs through triggers with Port's permission
// policies, both shapes, over a real catalog: the callers a policy allows
// get 201, the others 403 with the reason, and nothing is stored for them.
func TestTriggerPolicy(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	for _, bp := range []map[string]any{
		{"identifier": "_user", "title": "User", "schema": map[string]any{"properties": map[string]any{"department": map[string]any{"type": "string"}}}},
		{"identifier": "_team", "title": "Team", "schema": map[string]any{"properties": map[string]any{"oncall": map[string]any{"type": "boolean"}}}},
		{"identifier": "service", "title": "Service", "schema": map[string]any{"properties": map[string]any{"tier": map[string]any{"type": "string"}}}},
	} {
		e.do("POST", "/v1/blueprints", e.admin, bp).expect(t, http.StatusCreated)
	}
	for _, ent := range []struct {
		bp  string
		doc map[string]any
	}{
		{"_user", map[string]any{"identifier": "eng@example.com", "properties": map[string]any{"department": "engineering"}}},
		{"_user", map[string]any{"identifier": "sales@example.com", "properties": map[string]any{"department": "sales"}}},
		{"_team", map[string]any{"identifier": "sre", "properties": map[string]any{"oncall": true}}},
		{"service", map[string]any{"identifier": "api", "team": []any{"platform"}, "properties": map[string]any{"tier": "gold"}}},
		{"service", map[string]any{"identifier": "web", "team": []any{"frontend"}, "properties": map[string]any{"tier": "bronze"}}},
	} {
		e.do("POST", "/v1/blueprints/"+ent.bp+"/entities", e.admin, ent.doc).expect(t, http.StatusCreated)
	}
	eng := e.user("eng@example.com", store.RoleMember)
	sales := e.user("sales@example.com", store.RoleMember)
	platform := e.user("plat@example.com", store.RoleMember, "platform")
	sre := e.user("sre@example.com", store.RoleMember, "sre")
	named := e.user("named@example.com", store.RoleMember)
	machine := e.machine("execute:workflows", "read:runs")
	url := e.rcv.URL + "/hook"

	defs := map[string]map[string]any{
		// port-skills: a user property.
		"dept": {"policy": and(rule("user", "department", "=", "engineering"))},
		// port-skills: a form value, and in over a list.
		"form": {"policy": and(rule("form", "environment", "=", "staging"), rule("user", "department", "in", []any{"engineering", "sales"}))},
		// port-skills: the selected entity's owning teams intersect the user's.
		"owner": {"policy": and(rule("form", "service.$team", "containsAny", ref("userTeams", "$identifier")))},
		// a team's catalog property, and a static user besides the policy.
		"oncall": {"users": []any{"named@example.com"}, "policy": and(rule("userTeams", "oncall", "contains", true))},
		// an entity property of the form's entity, or the user's role.
		"tier": {"policy": map[string]any{"combinator": "or", "rules": []any{
			rule("form", "service.tier", "=", "gold"), rule("user", "port_role", "=", "Admin")}}},
		// port-docs: catalog queries and jq conditions.
		"queries": {"policy": map[string]any{
			"queries": map[string]any{
				"service": and(
					map[string]any{"property": "$blueprint", "operator": "=", "value": "service"},
					map[string]any{"property": "$identifier", "operator": "=", "value": "{{ .inputs.service }}"}),
				"me": and(
					map[string]any{"property": "$blueprint", "operator": "=", "value": "_user"},
					map[string]any{"property": "$identifier", "operator": "=", "value": "{{ .trigger.user.email }}"}),
			},
			"conditions": []any{
				`.results.service.entities | length == 1 and .[0].properties.tier == "gold"`,
				`.results.me.entities[0].properties.department == "engineering"`,
			}}},
		// a condition that is not a boolean never allows.
		"notbool": {"policy": map[string]any{"queries": map[string]any{}, "conditions": []any{`"yes"`}}},
	}
	for id, perms := range defs {
		e.createWorkflow(policyDef(id, url, perms))
	}
	tests := []struct {
		name, wf, token string
		inputs          map[string]any
		status          int
		reason          string // in the 403's message
	}{
		{"user property allows", "dept", eng, nil, 201, ""},
		{"user property refuses", "dept", sales, nil, 403, "user.department ="},
		{"no _user entity refuses", "dept", platform, nil, 403, "policy does not allow you"},
		{"form and in allow", "form", sales, nil, 201, ""},
		{"form value refuses", "form", sales, map[string]any{"environment": "production"}, 403, "form.environment"},
		{"entity team allows", "owner", platform, map[string]any{"service": "api"}, 201, ""},
		{"entity team refuses", "owner", platform, map[string]any{"service": "web"}, 403, "containsAny userTeams.$identifier"},
		{"missing entity refuses", "owner", platform, map[string]any{"service": "nope"}, 403, "policy"},
		{"team property allows", "oncall", sre, nil, 201, ""},
		{"team property refuses", "oncall", platform, nil, 403, "userTeams.oncall"},
		{"static user besides policy", "oncall", named, nil, 201, ""},
		{"entity property allows", "tier", eng, map[string]any{"service": "api"}, 201, ""},
		{"entity property refuses", "tier", eng, map[string]any{"service": "web"}, 403, "form.service.tier"},
		{"admin always", "tier", e.admin, map[string]any{"service": "web"}, 201, ""},
		{"machine by scope", "dept", machine, nil, 201, ""},
		{"first condition allows", "queries", sales, map[string]any{"service": "api"}, 201, ""},
		{"second condition allows", "queries", eng, map[string]any{"service": "web"}, 201, ""},
		{"no condition holds", "queries", sales, map[string]any{"service": "web"}, 403, "no condition of trigger trigger's policy holds"},
		{"condition not a boolean", "notbool", eng, nil, 403, "condition 0 must give a boolean"},
		{"bad inputs are a 400 first", "dept", sales, map[string]any{"environment": "qa"}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runCount(t, e)
			inputs := tt.inputs
			if inputs == nil {
				inputs = map[string]any{}
			}
			r := e.do("POST", "/v1/workflows/"+tt.wf+"/runs", tt.token, map[string]any{"inputs": inputs}).expect(t, tt.status)
			if tt.status == http.StatusCreated {
				e.completed(r.obj("workflowRun")["identifier"].(string))
				return
			}
			if msg, _ := r.body["message"].(string); !strings.Contains(msg, tt.reason) {
				t.Errorf("message %q does not say %q", msg, tt.reason)
			}
			if after := runCount(t, e); after != before {
				t.Errorf("a refused request stored a run: %d runs, then %d", before, after)
			}
		})
	}
	// A workflow only a policy may allow is visible to its candidates (the
	// policy reads the form, so it is decided when a run is requested).
	list := e.do("GET", "/v1/workflows", sales, nil).expect(t, http.StatusOK)
	if n := len(list.body["workflows"].([]any)); n != len(defs) {
		t.Errorf("a user sees %d workflows, want %d", n, len(defs))
	}
}

// runCount counts the stored runs.
func runCount(t *testing.T, e *env) int {
	t.Helper()
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// TestPolicyDefinitionRules checks what a policy may hold when a workflow
// is saved: each problem a 422 naming its path.
func TestPolicyDefinitionRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		policy any
		path   string
	}{
		{"property without context", and(map[string]any{"property": "department", "operator": "=", "value": "x"}), "rules[0].property"},
		{"unknown context", and(rule("org", "x", "=", "y")), "rules[0].property.context"},
		{"unknown operator", and(rule("user", "x", "like", "y")), "rules[0].operator"},
		{"in on teams", and(rule("userTeams", "$identifier", "in", []any{"a"})), "rules[0].operator"},
		{"in without a list", and(rule("user", "x", "in", "a")), "rules[0].value"},
		{"missing value", and(map[string]any{"property": ref("user", "x"), "operator": "="}), "rules[0].value"},
		{"deep form path", and(rule("form", "a.b.c", "=", "x")), "rules[0].property.property"},
		{"secret in a condition", map[string]any{"queries": map[string]any{}, "conditions": []any{".secrets.X == 1"}}, "conditions[0]"},
		{"no condition", map[string]any{"queries": map[string]any{}, "conditions": []any{}}, "conditions"},
		{"bad query operator", map[string]any{"queries": map[string]any{"q": and(map[string]any{"property": "$identifier", "operator": "~", "value": "x"})}, "conditions": []any{"true"}}, "queries.q.rules[0].operator"},
		{"conditions without queries", map[string]any{"conditions": []any{"true"}}, "queries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := policyDef("p", "https://example.com/x", map[string]any{"policy": tt.policy})
			// Bad on purpose: the server, not the document, must say where.
			r := e.do("POST", "/v1/workflows", e.admin, def, skipRequestValidation, "1")
			if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			want := "nodes[0].config.permissions.policy." + tt.path
			if !strings.Contains(r.raw, `"`+want+`"`) {
				t.Errorf("no problem at %s: %s", want, r.raw)
			}
		})
	}
}

// TestUsersQueryResponders responds to INPUT nodes whose responders are
// named by a usersQuery over _user: a matching user responds, others get
// 403, and a node with only a usersQuery is not left to Admins.
func TestUsersQueryResponders(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	e.reg.Register(workflow.TypeInput, input.New(input.Options{Store: e.st, Users: e.st}))
	e.do("POST", "/v1/blueprints", e.admin, map[string]any{"identifier": "_user", "title": "User",
		"schema": map[string]any{"properties": map[string]any{"department": map[string]any{"type": "string"}}}}).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints/_user/entities", e.admin, map[string]any{"identifier": "lead@example.com", "properties": map[string]any{"department": "sre"}}).expect(t, http.StatusCreated)
	requester := e.user("req@example.com", store.RoleMember)
	lead := e.user("lead@example.com", store.RoleMember)
	other := e.user("other@example.com", store.RoleMember, "web")
	queries := map[string]map[string]any{
		"catalog": and(map[string]any{"property": "$blueprint", "operator": "=", "value": "_user"},
			map[string]any{"property": "department", "operator": "=", "value": "sre"}),
		"team": and(map[string]any{"property": "$team", "operator": "containsAny", "value": []any{"web"}}),
	}
	for id, q := range queries {
		e.createWorkflow(approvalDef(id, true, "https://example.com", 1, map[string]any{"usersQuery": q}))
	}
	tests := []struct {
		name, wf, token string
		status          int
	}{
		{"catalog property matches", "catalog", lead, http.StatusOK},
		{"catalog property does not match", "catalog", other, http.StatusForbidden},
		{"an Admin is not a responder by default", "catalog", e.admin, http.StatusForbidden},
		{"sluice team matches", "team", other, http.StatusOK},
		{"sluice team does not match", "team", lead, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := e.startRun(tt.wf, requester)
			nr := e.waiting(run)
			e.do("POST", respondPath(nr), tt.token, map[string]any{"button": "decline", "inputs": map[string]any{"reason": "not now"}}).expect(t, tt.status)
		})
	}
}

// TestUsersQueryEmail mails the users a usersQuery names, with the
// catalog's _user properties taken into account, and not the Admins that
// responders naming nobody would mean.
func TestUsersQueryEmail(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	mail := smtptest.New(t)
	e.reg.Register(workflow.TypeInput, input.New(input.Options{Store: e.st, Users: e.st, BaseURL: e.hs.URL,
		Mailer: &input.Mailer{Addr: mail.Addr, From: "sluice@example.com"}, Responders: e.srv.dynamic()}))
	e.do("POST", "/v1/blueprints", e.admin, map[string]any{"identifier": "_user", "title": "User",
		"schema": map[string]any{"properties": map[string]any{"department": map[string]any{"type": "string"}}}}).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints/_user/entities", e.admin, map[string]any{"identifier": "lead@example.com", "properties": map[string]any{"department": "sre"}}).expect(t, http.StatusCreated)
	e.user("lead@example.com", store.RoleMember)
	e.user("other@example.com", store.RoleMember)
	e.user("root@example.com", store.RoleAdmin)
	requester := e.user("req@example.com", store.RoleMember)
	def := approvalDef("mailq", true, "https://example.com", 1, map[string]any{"usersQuery": and(
		map[string]any{"property": "department", "operator": "=", "value": "sre"})})
	e.createWorkflow(withNotifications(def, []any{map[string]any{"target": "email"}}))
	e.waiting(e.startRun("mailq", requester))
	select {
	case m := <-mail.Messages:
		if strings.Join(m.To, ",") != "lead@example.com" {
			t.Errorf("mail to %v, want lead@example.com only", m.To)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("no mail")
	}
}
