package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/secret"
)

// TestSecretBodiesMustBeUTF8: a secret field that is not valid UTF-8 as
// sent (raw bytes, or a lone surrogate escape) is answered 400 naming the
// field, and nothing is stored. encoding/json alone would store U+FFFD in
// its place: a secret that no longer works, and nobody told.
func TestSecretBodiesMustBeUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"create, raw bytes", "POST", "/v1/organization/secrets", "{\"secretName\": \"BAD\", \"secretValue\": \"abcd\xff\xfe\"}", "secretValue"},
		{"create, lone high surrogate", "POST", "/v1/organization/secrets", `{"secretName": "BAD", "secretValue": "abcd\ud800x"}`, "secretValue"},
		{"create, lone low surrogate", "POST", "/v1/organization/secrets", `{"secretName": "BAD", "secretValue": "abcd\uDC00"}`, "secretValue"},
		{"create, surrogate at the end", "POST", "/v1/organization/secrets", `{"secretName": "BAD", "secretValue": "abcd\ud83d"}`, "secretValue"},
		{"create, description", "POST", "/v1/organization/secrets", "{\"secretName\": \"BAD\", \"secretValue\": \"abcdef\", \"description\": \"x\xc3\"}", "description"},
		{"update, raw bytes", "PATCH", "/v1/organization/secrets/API_TOKEN", "{\"secretValue\": \"abcd\xff\xfe\"}", "secretValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(tt.method, tt.path, e.admin, tt.body).expect(t, http.StatusBadRequest)
			if !strings.Contains(a.raw, `"path":"`+tt.field+`"`) || strings.Contains(a.raw, "abcd") {
				t.Errorf("answer %s; want the field %s named and the value not quoted", a.raw, tt.field)
			}
		})
	}
	if _, err := e.st.GetSecret(t.Context(), "BAD"); err == nil {
		t.Error("a secret with an invalid value was stored")
	}
	// The stored value is unchanged, and a valid pair escape is accepted.
	assertValue := func(want string) {
		t.Helper()
		got, err := e.svc.Resolve(t.Context(), secret.ResolveRef{RunID: "wfr_test"}, []string{"API_TOKEN"})
		if err != nil || got["API_TOKEN"] != want {
			t.Fatalf("API_TOKEN resolves to a changed value (%v)", err)
		}
	}
	assertValue(secretValue)
	e.do("PATCH", "/v1/organization/secrets/API_TOKEN", e.admin, `{"secretValue": "ok-\ud83d\ude00-\u00e9"}`).expect(t, http.StatusOK)
	assertValue("ok-\U0001F600-é")
}
