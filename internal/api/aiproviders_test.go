package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// TestAIProvidersAPI manages AI providers through the validating client:
// Admin only, bad bodies named by field and storing nothing, and the key's
// secret name shown, never a key.
func TestAIProvidersAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := e.user("mia@example.com", store.RoleMember)
	openai := map[string]any{"name": "openai", "baseUrl": "https://api.openai.com/v1", "apiKeySecret": "OPENAI_API_KEY", "model": "gpt-4o-mini", "default": true}
	local := map[string]any{"name": "local", "baseUrl": "http://127.0.0.1:11434/v1", "model": "llama3.1", "headers": map[string]any{"X-Team": "platform"}}

	e.do("GET", "/v1/ai/providers", member, nil).expect(t, http.StatusForbidden)
	e.do("POST", "/v1/ai/providers", member, openai).expect(t, http.StatusForbidden)
	e.do("POST", "/v1/ai/providers", e.admin, openai).expect(t, http.StatusCreated)
	e.do("POST", "/v1/ai/providers", e.admin, openai).expect(t, http.StatusConflict)
	got := e.do("POST", "/v1/ai/providers", e.admin, local).expect(t, http.StatusCreated).obj("provider")
	if got["default"] != false || got["apiKeySecret"] != "" || got["headers"].(map[string]any)["X-Team"] != "platform" {
		t.Errorf("created = %v", got)
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		where string
	}{
		{"bad base URL", map[string]any{"name": "x", "baseUrl": "ftp://h", "model": "m"}, "baseUrl"},
		{"credential header", map[string]any{"name": "x", "baseUrl": "http://h/v1", "model": "m", "headers": map[string]any{"Authorization": "Bearer k"}}, "headers.Authorization"},
		{"bad secret name", map[string]any{"name": "x", "baseUrl": "http://h/v1", "model": "m", "apiKeySecret": "no spaces allowed"}, "apiKeySecret"},
	} {
		a := e.do("POST", "/v1/ai/providers", e.admin, tc.body).expect(t, http.StatusBadRequest)
		if !strings.Contains(string(a.raw), tc.where) {
			t.Errorf("%s: %s, want it to name %s", tc.name, a.raw, tc.where)
		}
	}
	list := e.do("GET", "/v1/ai/providers", e.admin, nil).expect(t, http.StatusOK)
	if ps := list.body["providers"].([]any); len(ps) != 2 || ps[0].(map[string]any)["name"] != "local" || ps[1].(map[string]any)["default"] != true {
		t.Errorf("list = %s", list.raw)
	}
	e.do("DELETE", "/v1/ai/providers/local", member, nil).expect(t, http.StatusForbidden)
	e.do("DELETE", "/v1/ai/providers/local", e.admin, nil).expect(t, http.StatusOK)
	e.do("DELETE", "/v1/ai/providers/local", e.admin, nil).expect(t, http.StatusNotFound)
}
