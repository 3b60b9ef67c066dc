package api

import (
	"net/http"
	"strings"
	"testing"
)

// Creating a blueprint or an entity that exists is a 409 that says which
// request replaces it; nothing changes.
func TestExistsHint(t *testing.T) {
	e := newCatalogEnv(t)
	bp := map[string]any{"identifier": "svc", "title": "Service", "schema": map[string]any{"properties": map[string]any{"stage": map[string]any{"type": "string"}}}}
	ent := map[string]any{"identifier": "api", "properties": map[string]any{"stage": "staging"}}
	e.do("POST", "/v1/blueprints", e.admin, bp).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints/svc/entities", e.admin, ent).expect(t, http.StatusCreated)
	tests := []struct {
		name string
		path string
		body any
		want string
	}{
		{"a blueprint", "/v1/blueprints", bp, "blueprint svc: already exists; PUT /v1/blueprints/svc replaces it"},
		{"an entity", "/v1/blueprints/svc/entities", map[string]any{"identifier": "api", "properties": map[string]any{"stage": "production"}},
			"?upsert=true replaces it, ?upsert=true&merge=true merges into it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", tc.path, e.admin, tc.body).expect(t, http.StatusConflict)
			if msg, _ := a.body["message"].(string); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q lacks %q", msg, tc.want)
			}
		})
	}
	got := e.do("GET", "/v1/blueprints/svc/entities/api", e.admin, nil).expect(t, http.StatusOK)
	if !strings.Contains(got.raw, `"stage":"staging"`) {
		t.Errorf("the refused create changed the entity: %s", got.raw)
	}
}
