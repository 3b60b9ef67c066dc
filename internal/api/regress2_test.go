package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
)

// A client that may create workflows but not read secrets learns which
// secret names exist from the save warnings.
func TestSaveWarningsNameNoSecretToThoseWhoMayNotList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.machine(authz.ScopeCreateWorkflows)
	e.do("GET", "/v1/organization/secrets", tok, nil).expect(t, http.StatusForbidden)
	def := workflowDef("probe", true, e.rcv.URL+"/sync", nil, nil)
	call := def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)
	call["headers"] = map[string]any{"A": "{{ .secrets.API_TOKEN }}", "B": "{{ .secrets.GUESS_1 }}"}
	r := e.do("POST", "/v1/workflows", tok, def).expect(t, http.StatusCreated)
	t.Logf("answer: %s", r.raw)
	w := r.body["warnings"]
	ws := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(w), "\n", ""), " ", ""))
	if strings.Contains(ws, "GUESS_1") && !strings.Contains(ws, "API_TOKEN") {
		t.Errorf("a caller without %s learns that API_TOKEN exists and GUESS_1 does not", authz.ScopeReadSecrets)
	}
}

func fmtAny(v any) string { b, _ := json.Marshal(v); return string(b) }
