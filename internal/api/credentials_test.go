package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/credscan"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// saveRaw sends a save whose answer is expected to echo the definition,
// pasted value included (warn and allow store it): unlike e.do it does not
// fail on the secret value, but it also checks the status.
func saveRaw(t *testing.T, e *env, method, path, token string, def map[string]any, status int) answer {
	t.Helper()
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.hs.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	if a.status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, a.status, raw, status)
	}
	return a
}

// inJSON returns s as it appears inside a JSON string.
func inJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// withPasted returns the test workflow with header X-Pasted set to text
// and the body field "note" set to note.
func withPasted(id, text, note string) map[string]any {
	def := workflowDef(id, true, "http://127.0.0.1:1/hook", nil, nil)
	cfg := def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)
	cfg["headers"].(map[string]any)["X-Pasted"] = text
	cfg["body"].(map[string]any)["note"] = note
	return def
}

func TestLiteralCredentialsAtSave(t *testing.T) {
	t.Parallel()
	random := strings.Repeat("Zy9Xw8Vu7T", 3)
	ghToken := "gh" + "p_" + random + credscan.GitHubChecksum(random)
	tests := []struct {
		name, header, note string
		wantPath, wantText string
	}{
		{"org secret in a header", secretValue, "", `nodes[1].config.headers["X-Pasted"]`, "organization secret API_TOKEN"},
		{"org secret in a body field", "", "token is " + secretValue + " ok", "nodes[1].config.body.note", "organization secret API_TOKEN"},
		{"org secret url-encoded", "", "a=" + url.QueryEscape(secretValue+"/x"), "nodes[1].config.body.note", "organization secret API_TOKEN"},
		{"github token in a header", "token " + ghToken, "", `nodes[1].config.headers["X-Pasted"]`, "GitHub token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			logs := &lockedBuffer{}
			e.srv.log = slog.New(slog.NewTextHandler(logs, nil))

			// reject (the default): 400 with the path, the kind or name, the fix.
			a := e.do("POST", "/v1/workflows", e.admin, withPasted("wf", tt.header, tt.note)).expect(t, http.StatusBadRequest)
			if a.body["error"] != codeLiteralCredential || !strings.Contains(a.raw, inJSON(tt.wantPath)) || !strings.Contains(a.raw, tt.wantText) || !strings.Contains(a.raw, "{{ .secrets.") {
				t.Fatalf("answer %s; want %s at %s with the fix", a.raw, tt.wantText, tt.wantPath)
			}
			e.do("GET", "/v1/workflows/wf", e.admin, nil).expect(t, http.StatusNotFound)

			// warn: saved (201), with the findings as warnings.
			e.srv.literalCreds = LiteralCredentialsWarn
			a = saveRaw(t, e, "POST", "/v1/workflows", e.admin, withPasted("wf", tt.header, tt.note), http.StatusCreated)
			if !strings.Contains(a.raw, `"warnings"`) || !strings.Contains(a.raw, inJSON(tt.wantPath)) || !strings.Contains(a.raw, tt.wantText) {
				t.Fatalf("warn answer %s; want a warning for %s", a.raw, tt.wantPath)
			}
			// allow: saved without a word.
			e.srv.literalCreds = LiteralCredentialsAllow
			a = saveRaw(t, e, "PUT", "/v1/workflows/wf", e.admin, withPasted("wf", tt.header, tt.note), http.StatusOK)
			if strings.Contains(a.raw, tt.wantText) {
				t.Fatalf("allow answer %s mentions the finding", a.raw)
			}

			// The matched text is in no answer (e.do checks the secret),
			// no log line and no audit event.
			for _, leak := range []string{secretValue, ghToken, url.QueryEscape(secretValue + "/x")} {
				if strings.Contains(logs.String(), leak) {
					t.Fatalf("the log holds the matched text:\n%s", logs.String())
				}
				evs, err := e.st.ListAudit(t.Context(), 1000, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if strings.Contains(ev.Actor+ev.Secret+ev.RunID+ev.NodeRunID+ev.Action, leak) {
						t.Fatalf("an audit event holds the matched text: %+v", ev)
					}
				}
			}
			if !strings.Contains(logs.String(), "literal credentials") {
				t.Fatalf("no log line for the findings:\n%s", logs.String())
			}
		})
	}
}

// TestLiteralCredentialsHiddenFromNonManagers checks that a caller who may
// save workflows but not manage secrets gets no warnings under warn, and an
// error that does not name the secret under reject.
func TestLiteralCredentialsHiddenFromNonManagers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.machine(authz.ScopeCreateWorkflows, authz.ScopeReadWorkflows)
	a := e.do("POST", "/v1/workflows", tok, withPasted("wf", secretValue, "")).expect(t, http.StatusBadRequest)
	if strings.Contains(a.raw, "API_TOKEN") || !strings.Contains(a.raw, "an organization secret") {
		t.Fatalf("reject answer to a non-manager %s: must not name the secret", a.raw)
	}
	e.srv.literalCreds = LiteralCredentialsWarn
	a = saveRaw(t, e, "POST", "/v1/workflows", tok, withPasted("wf", secretValue, ""), http.StatusCreated)
	if strings.Contains(a.raw, "warnings") {
		t.Fatalf("warn answer to a non-manager %s: must carry no warnings", a.raw)
	}
}

func TestLiteralCredentialsOption(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{Store: newEnv(t).st, Auth: newEnv(t).auth, LiteralCredentials: "maybe"}); err == nil {
		t.Fatal("New accepted LiteralCredentials maybe")
	}
}
