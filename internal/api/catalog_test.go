package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/upsert"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/store"
)

// newCatalogEnv is newEnv with the catalog, the UPSERT_ENTITY node and the
// loop that starts runs from catalog events, started by Resume.
func newCatalogEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, svc := newStoreWithSecret(t)
	clk := newClock()
	authn := auth.New(st, auth.Options{Now: clk.now})
	cat := catalog.New(st, catalog.Options{})
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	upsert.Register(reg, cat)
	srv, err := New(Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, MaxBodyBytes: 64 << 10, Catalog: cat, AutostartInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	e := &env{t: t, st: st, srv: srv, hs: hs, auth: authn, clk: clk, rcv: newReceiver(t), val: newValidator(t), reg: reg, svc: svc}
	e.client = &client{t: t, base: hs.URL, http: &http.Client{Transport: e.val}}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		st.Close()
	})
	cred, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.adminCred = cred
	e.admin = e.token(cred)
	if _, err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	serviceBP = map[string]any{
		"identifier": "service", "title": "Service", "icon": "Microservice",
		"schema": map[string]any{
			"properties": map[string]any{
				"tier":     map[string]any{"type": "string", "enum": []any{"gold", "silver"}, "default": "silver"},
				"stage":    map[string]any{"type": "string", "enum": []any{"dev", "staging", "production"}},
				"repo":     map[string]any{"type": "string", "format": "url"},
				"owner":    map[string]any{"type": "string", "format": "email"},
				"replicas": map[string]any{"type": "number", "minimum": 1, "maximum": 10},
				"tags":     map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": "^[a-z]+$"}},
			},
			"required": []any{"stage"},
		},
	}
	deploymentBP = map[string]any{
		"identifier": "deployment", "title": "Deployment",
		"schema": map[string]any{
			"properties": map[string]any{
				"version":    map[string]any{"type": "string"},
				"deployedAt": map[string]any{"type": "string", "format": "date-time"},
			},
		},
		"relations": map[string]any{"service": map[string]any{"title": "Service", "target": "service", "required": true, "many": false}},
	}
)

func TestCatalogAPI(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	member := e.user("mia@example.com", store.RoleMember)
	reader := e.machine(authz.ScopeReadEntities, authz.ScopeReadBlueprints)
	writer := e.machine(authz.ScopeWriteEntities)

	e.do("POST", "/v1/blueprints", member, serviceBP).expect(t, http.StatusForbidden)
	e.do("POST", "/v1/blueprints", e.admin, serviceBP).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints", e.admin, serviceBP).expect(t, http.StatusConflict)
	e.do("POST", "/v1/blueprints", e.admin, deploymentBP).expect(t, http.StatusCreated)

	// Bad bodies, each with the path of its problem and nothing stored.
	bad := []struct {
		name, method, path string
		body               any
		status             int
		where              string
	}{
		{"blueprint malformed", "POST", "/v1/blueprints", `{"identifier": `, 400, ""},
		{"blueprint unknown field", "POST", "/v1/blueprints", map[string]any{"identifier": "x", "schema": map[string]any{}, "colour": 1}, 422, "colour"},
		{"blueprint bad identifier", "POST", "/v1/blueprints", map[string]any{"identifier": "a b", "schema": map[string]any{}}, 422, "identifier"},
		{"blueprint bad type", "POST", "/v1/blueprints", map[string]any{"identifier": "x", "schema": map[string]any{"properties": map[string]any{"p": map[string]any{"type": "date"}}}}, 422, "schema.properties.p.type"},
		{"blueprint required unknown", "POST", "/v1/blueprints", map[string]any{"identifier": "x", "schema": map[string]any{"properties": map[string]any{}, "required": []any{"nope"}}}, 422, "schema.required[0]"},
		{"blueprint bad target", "POST", "/v1/blueprints", map[string]any{"identifier": "x", "schema": map[string]any{}, "relations": map[string]any{"r": map[string]any{"target": "nope"}}}, 422, "relations.r.target"},
		{"blueprint bad pattern", "POST", "/v1/blueprints", map[string]any{"identifier": "x", "schema": map[string]any{"properties": map[string]any{"p": map[string]any{"type": "string", "pattern": "("}}}}, 422, "schema"},
		{"put renames", "PUT", "/v1/blueprints/service", map[string]any{"identifier": "svc", "schema": map[string]any{}}, 422, "identifier"},
		{"patch bad type", "PATCH", "/v1/blueprints/service", map[string]any{"title": 5}, 422, "title"},
		{"put missing", "PUT", "/v1/blueprints/nope", map[string]any{"schema": map[string]any{}}, 404, ""},
		{"entity unknown field", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "propertiez": map[string]any{}}, 422, "propertiez"},
		{"entity of missing blueprint", "POST", "/v1/blueprints/nope/entities", map[string]any{"identifier": "a"}, 404, ""},
		{"entity bad identifier", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a b", "properties": map[string]any{"stage": "dev"}}, 422, "identifier"},
		{"entity missing required", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a"}, 422, "properties"},
		{"entity enum", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "prod"}}, 422, "properties.stage"},
		{"entity url", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev", "repo": "not a url"}}, 422, "properties.repo"},
		{"entity email", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev", "owner": "nobody"}}, 422, "properties.owner"},
		{"entity maximum", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev", "replicas": 11}}, 422, "properties.replicas"},
		{"entity items pattern", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev", "tags": []any{"ok", "NOT"}}}, 422, "properties.tags[1]"},
		{"entity unknown property", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev", "colour": "red"}}, 422, "properties"},
		{"entity bad team", "POST", "/v1/blueprints/service/entities", map[string]any{"identifier": "a", "team": 3, "properties": map[string]any{"stage": "dev"}}, 422, "team"},
		{"merge without upsert", "POST", "/v1/blueprints/service/entities?merge=true", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev"}}, 400, "merge"},
		{"bad upsert flag", "POST", "/v1/blueprints/service/entities?upsert=maybe", map[string]any{"identifier": "a", "properties": map[string]any{"stage": "dev"}}, 400, "upsert"},
		{"relation missing target", "POST", "/v1/blueprints/deployment/entities", map[string]any{"identifier": "d1", "relations": map[string]any{"service": "nope"}}, 422, "relations"},
		{"relation required", "POST", "/v1/blueprints/deployment/entities", map[string]any{"identifier": "d1"}, 422, "relations.service"},
		{"relation unknown", "POST", "/v1/blueprints/deployment/entities", map[string]any{"identifier": "d1", "relations": map[string]any{"svc": "a"}}, 422, "relations.svc"},
		{"relation many given to single", "POST", "/v1/blueprints/deployment/entities", map[string]any{"identifier": "d1", "relations": map[string]any{"service": []any{"a"}}}, 422, "relations.service"},
		{"put entity missing", "PUT", "/v1/blueprints/service/entities/nope", map[string]any{"properties": map[string]any{"stage": "dev"}}, 404, ""},
		{"patch entity missing", "PATCH", "/v1/blueprints/service/entities/nope", map[string]any{"title": "x"}, 404, ""},
		{"put entity renames", "PUT", "/v1/blueprints/service/entities/api", map[string]any{"identifier": "other"}, 422, "identifier"},
		{"delete entity missing", "DELETE", "/v1/blueprints/service/entities/nope", nil, 404, ""},
		{"search bad combinator", "POST", "/v1/entities/search", map[string]any{"combinator": "xor", "rules": []any{}}, 422, "combinator"},
		{"search bad operator", "POST", "/v1/entities/search", map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "stage", "operator": "~", "value": "x"}}}, 422, "rules[0].operator"},
		{"search bad between", "POST", "/v1/entities/search", map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "$createdAt", "operator": "between", "value": "lastWeek"}}}, 422, "rules[0].value"},
		{"get blueprint missing", "GET", "/v1/blueprints/nope", nil, 404, ""},
		{"list entities missing", "GET", "/v1/blueprints/nope/entities", nil, 404, ""},
		{"get entity missing", "GET", "/v1/blueprints/service/entities/nope", nil, 404, ""},
	}
	for _, c := range bad {
		t.Run("bad/"+c.name, func(t *testing.T) {
			got := e.do(c.method, c.path, e.admin, c.body, skipRequestValidation, "1").expect(t, c.status)
			if c.where == "" {
				return
			}
			var paths []string
			for _, d := range got.body["details"].([]any) {
				paths = append(paths, d.(map[string]any)["path"].(string))
			}
			if !slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, c.where) }) {
				t.Errorf("details %v name no %s: %s", paths, c.where, got.raw)
			}
		})
	}
	if n := len(e.do("GET", "/v1/blueprints/service/entities", e.admin, nil).expect(t, 200).body["entities"].([]any)); n != 0 {
		t.Fatalf("rejected entities were stored: %d", n)
	}

	// Create, upsert, merge, replace, patch.
	e.do("POST", "/v1/blueprints/service/entities", member, map[string]any{"identifier": "api"}).expect(t, http.StatusForbidden)
	api := e.do("POST", "/v1/blueprints/service/entities", writer, map[string]any{"identifier": "api", "title": "API", "team": "core",
		"properties": map[string]any{"stage": "dev", "repo": "https://git.example.com/api", "replicas": 2}}).expect(t, http.StatusCreated).obj("entity")
	if p := api["properties"].(map[string]any); p["tier"] != "silver" || api["blueprint"] != "service" || api["createdBy"] == "" {
		t.Errorf("created entity = %v (the default tier applies, the server's fields are set)", api)
	}
	e.do("POST", "/v1/blueprints/service/entities", writer, map[string]any{"identifier": "api", "properties": map[string]any{"stage": "dev"}}).expect(t, http.StatusConflict)
	merged := e.do("POST", "/v1/blueprints/service/entities?upsert=true&merge=true", writer, map[string]any{"identifier": "api", "properties": map[string]any{"stage": "staging"}}).expect(t, http.StatusCreated).obj("entity")
	if p := merged["properties"].(map[string]any); p["stage"] != "staging" || p["repo"] != "https://git.example.com/api" || merged["title"] != "API" {
		t.Errorf("merged entity = %v", merged)
	}
	replaced := e.do("POST", "/v1/blueprints/service/entities?upsert=true", writer, map[string]any{"identifier": "api", "properties": map[string]any{"stage": "production"}}).expect(t, http.StatusCreated).obj("entity")
	if p := replaced["properties"].(map[string]any); p["repo"] != nil || replaced["title"] != nil {
		t.Errorf("replaced entity kept old fields: %v", replaced)
	}
	e.do("PATCH", "/v1/blueprints/service/entities/api", writer, map[string]any{"title": "The API"}).expect(t, http.StatusOK)
	e.do("PUT", "/v1/blueprints/service/entities/api", writer, map[string]any{"title": "API", "properties": map[string]any{"stage": "production", "tier": "gold"}}).expect(t, http.StatusOK)
	got := e.do("GET", "/v1/blueprints/service/entities/api", reader, nil).expect(t, http.StatusOK).obj("entity")
	if got["title"] != "API" || got["properties"].(map[string]any)["tier"] != "gold" {
		t.Errorf("entity after PUT = %v", got)
	}
	e.do("GET", "/v1/blueprints/service/entities/api", member, nil).expect(t, http.StatusOK)
	e.do("GET", "/v1/blueprints/service/entities/api", e.machine(authz.ScopeReadRuns), nil).expect(t, http.StatusForbidden)

	// Relations.
	e.do("POST", "/v1/blueprints/deployment/entities", writer, map[string]any{"identifier": "d1", "relations": map[string]any{"service": "api"},
		"properties": map[string]any{"version": "1.2.3", "deployedAt": "2026-01-02T03:04:05Z"}}).expect(t, http.StatusCreated)
	e.do("DELETE", "/v1/blueprints/service/entities/api", writer, nil).expect(t, http.StatusConflict)
	e.do("DELETE", "/v1/blueprints/service", e.admin, nil).expect(t, http.StatusConflict)

	// Search.
	e.do("POST", "/v1/blueprints/service/entities", writer, map[string]any{"identifier": "web", "properties": map[string]any{"stage": "dev", "tags": []any{"frontend"}}}).expect(t, http.StatusCreated)
	search := func(q map[string]any) []string {
		t.Helper()
		var ids []string
		for _, x := range e.do("POST", "/v1/entities/search", reader, q).expect(t, 200).body["entities"].([]any) {
			ids = append(ids, x.(map[string]any)["identifier"].(string))
		}
		sort.Strings(ids)
		return ids
	}
	for _, c := range []struct {
		q    map[string]any
		want []string
	}{
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "$blueprint", "operator": "=", "value": "service"}}}, []string{"api", "web"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "stage", "operator": "!=", "value": "dev"}, map[string]any{"property": "$blueprint", "operator": "=", "value": "service"}}}, []string{"api"}},
		{map[string]any{"combinator": "or", "rules": []any{map[string]any{"property": "$identifier", "operator": "contains", "value": "we"}, map[string]any{"property": "version", "operator": "=", "value": "1.2.3"}}}, []string{"d1", "web"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "stage", "operator": "in", "value": []any{"production", "staging"}}}}, []string{"api"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"relation": "service", "operator": "=", "value": "api"}}}, []string{"d1"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"operator": "relatedTo", "blueprint": "service", "value": "api"}}}, []string{"d1"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "deployedAt", "operator": "between", "value": map[string]any{"from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}}}}, []string{"d1"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "replicas", "operator": ">", "value": 1}}}, nil},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "tags", "operator": "isNotEmpty"}}}, []string{"web"}},
		{map[string]any{"combinator": "and", "rules": []any{map[string]any{"combinator": "or", "rules": []any{map[string]any{"property": "stage", "operator": "=", "value": "dev"}}}}}, []string{"web"}},
	} {
		if got := search(c.q); !slices.Equal(got, c.want) {
			t.Errorf("search %v = %v, want %v", c.q, got, c.want)
		}
	}

	// Blueprints: read, patch, put, delete with entities only when asked.
	if n := len(e.do("GET", "/v1/blueprints", reader, nil).expect(t, 200).body["blueprints"].([]any)); n != 2 {
		t.Errorf("%d blueprints, want 2", n)
	}
	e.do("PATCH", "/v1/blueprints/service", e.admin, map[string]any{"title": "Services"}).expect(t, 200)
	if bp := e.do("GET", "/v1/blueprints/service", member, nil).expect(t, 200).obj("blueprint"); bp["title"] != "Services" || bp["schema"] == nil {
		t.Errorf("patched blueprint = %v", bp)
	}
	e.do("PUT", "/v1/blueprints/service", writer, serviceBP).expect(t, http.StatusForbidden)
	e.do("PUT", "/v1/blueprints/service", e.admin, serviceBP).expect(t, 200)
	e.do("DELETE", "/v1/blueprints/deployment/entities/d1", writer, nil).expect(t, 200)
	e.do("DELETE", "/v1/blueprints/service/all-entities?delete_blueprint=true", writer, nil).expect(t, http.StatusForbidden)
	r := e.do("DELETE", "/v1/blueprints/service/all-entities?delete_blueprint=true", e.admin, nil)
	// deployment still relates to the service blueprint.
	r.expect(t, http.StatusConflict)
	e.do("DELETE", "/v1/blueprints/deployment", e.admin, nil).expect(t, 200)
	// The entities went before the blueprint's deletion was refused.
	e.do("DELETE", "/v1/blueprints/service", e.admin, nil).expect(t, 200)
	e.do("GET", "/v1/blueprints/service", e.admin, nil).expect(t, 404)

	// Every catalog operation of the document was called.
	var missing []string
	for _, op := range operations(t) {
		if (strings.Contains(op, "/v1/blueprints") || strings.Contains(op, "/v1/entities/")) && !e.val.seen[op] {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("catalog operations never called: %v", missing)
	}
}
