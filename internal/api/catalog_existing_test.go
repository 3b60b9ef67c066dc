package api

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestCatalogBadRequestsOnExisting completes TestCatalogAPI's bad bodies
// with the paths that need something stored first: PUT and PATCH of an
// existing entity, PATCH of a blueprint with a bad relation, the query of
// all-entities, DELETE of a missing blueprint. Each is refused with its
// status and the path at fault, and leaves the catalog as it was.
func TestCatalogBadRequestsOnExisting(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	e.do("POST", "/v1/blueprints", e.admin, serviceBP).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints", e.admin, deploymentBP).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints/service/entities", e.admin, map[string]any{"identifier": "api", "title": "API", "properties": map[string]any{"stage": "dev", "replicas": 2}}).expect(t, http.StatusCreated)
	before := e.do("GET", "/v1/blueprints/service/entities/api", e.admin, nil).expect(t, 200).obj("entity")
	bpBefore := e.do("GET", "/v1/blueprints/service", e.admin, nil).expect(t, 200).obj("blueprint")

	bad := []struct {
		name, method, path string
		body               any
		status             int
		where              string // a details path prefix; "" checks none
	}{
		{"patch entity enum", "PATCH", "/v1/blueprints/service/entities/api", map[string]any{"properties": map[string]any{"stage": "qa"}}, 422, "properties.stage"},
		{"patch entity maximum and enum", "PATCH", "/v1/blueprints/service/entities/api", map[string]any{"properties": map[string]any{"stage": "qa", "replicas": 11}}, 422, "properties.replicas"},
		{"patch entity unknown field", "PATCH", "/v1/blueprints/service/entities/api", map[string]any{"titel": "x"}, 422, "titel"},
		{"patch entity unknown relation", "PATCH", "/v1/blueprints/service/entities/api", map[string]any{"relations": map[string]any{"owner": "x"}}, 422, "relations.owner"},
		{"patch entity malformed", "PATCH", "/v1/blueprints/service/entities/api", `{"title": `, 400, ""},
		{"put entity missing required", "PUT", "/v1/blueprints/service/entities/api", map[string]any{"title": "API"}, 422, "properties"},
		{"put entity bad team", "PUT", "/v1/blueprints/service/entities/api", map[string]any{"team": []any{1}, "properties": map[string]any{"stage": "dev"}}, 422, "team"},
		{"upsert entity enum", "POST", "/v1/blueprints/service/entities?upsert=true&merge=true", map[string]any{"identifier": "api", "properties": map[string]any{"stage": "qa"}}, 422, "properties.stage"},
		{"patch blueprint relation to nothing", "PATCH", "/v1/blueprints/service", map[string]any{"relations": map[string]any{"r": map[string]any{"target": "nope"}}}, 422, "relations.r.target"},
		{"put blueprint bad enum", "PUT", "/v1/blueprints/service", map[string]any{"identifier": "service", "schema": map[string]any{"properties": map[string]any{"stage": map[string]any{"type": "string", "enum": "dev"}}}}, 422, "schema"},
		{"all-entities bad flag", "DELETE", "/v1/blueprints/service/all-entities?delete_blueprint=maybe", nil, 400, "delete_blueprint"},
		{"all-entities of a missing blueprint", "DELETE", "/v1/blueprints/nope/all-entities", nil, 404, ""},
		{"delete missing blueprint", "DELETE", "/v1/blueprints/nope", nil, 404, ""},
		{"search unknown field", "POST", "/v1/entities/search", map[string]any{"combinator": "and", "rules": []any{}, "limit": 3}, 422, "limit"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			got := e.do(c.method, c.path, e.admin, c.body, skipRequestValidation, "1").expect(t, c.status)
			if c.where != "" {
				var paths []string
				details, _ := got.body["details"].([]any)
				for _, d := range details {
					paths = append(paths, d.(map[string]any)["path"].(string))
				}
				if !slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, c.where) }) {
					t.Errorf("details %v name no %s: %s", paths, c.where, got.raw)
				}
			}
			if after := e.do("GET", "/v1/blueprints/service/entities/api", e.admin, nil).expect(t, 200).obj("entity"); !reflect.DeepEqual(after, before) {
				t.Errorf("the entity changed:\n was %v\n now %v", before, after)
			}
			if bp := e.do("GET", "/v1/blueprints/service", e.admin, nil).expect(t, 200).obj("blueprint"); !reflect.DeepEqual(bp, bpBefore) {
				t.Errorf("the blueprint changed:\n was %v\n now %v", bpBefore, bp)
			}
		})
	}
}
