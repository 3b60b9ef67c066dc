package ai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/ai"
	"github.com/sluice-run/sluice/internal/node/ai/aifake"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// pasted is a secret that the workflow references in a webhook header and
// that a user also pastes into a trigger input, which reaches the prompt.
const pasted = "pasted-Secret-5a4b3c2d1e0f"

// server is sluice serving on loopback over a SQLite data dir, with an AI
// provider whose key is the secret AI_KEY.
type server struct {
	t     *testing.T
	dir   string
	hs    *httptest.Server
	admin string
	fake  *aifake.Fake
}

func startServer(t *testing.T, key string) *server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitetest.Open(ctx, filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: dir, Generate: true, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring)
	for name, v := range map[string]string{"AI_KEY": key, "PASTED": pasted} {
		if _, err := svc.Create(ctx, "test", name, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{t: t, dir: dir, fake: aifake.New(t, testKey)}
	if err := st.CreateAIProvider(ctx, store.AIProvider{Name: "fake", BaseURL: s.fake.BaseURL(), APIKeySecret: "AI_KEY", Model: "fake-1", Default: true}); err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	ai.Register(reg, ai.New(ai.Options{Providers: st, Catalog: catalog.New(st, catalog.Options{}), RetryMin: time.Millisecond}))
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{}), WaitCheckInterval: 5 * time.Millisecond, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.hs = httptest.NewServer(srv.Handler())
	cred := auth.Credentials{ClientID: "admin", ClientSecret: "admin-secret-0123456789abcdefghijklmnop"}
	if _, _, err := auth.Bootstrap(ctx, st, cred.ClientID, cred.ClientSecret); err != nil {
		t.Fatal(err)
	}
	var tok struct{ AccessToken string }
	_ = json.Unmarshal(s.call("POST", "/v1/auth/access_token", map[string]string{"clientId": cred.ClientID, "clientSecret": cred.ClientSecret}, http.StatusOK), &tok)
	s.admin = tok.AccessToken
	t.Cleanup(func() {
		s.hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		st.Close()
	})
	return s
}

func (s *server) call(method, path string, body any, want int) []byte {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.hs.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if s.admin != "" {
		req.Header.Set("Authorization", "Bearer "+s.admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	return raw
}

// run saves the workflow, starts it with inputs and waits for its end.
func (s *server) run(wf string, inputs map[string]any) (map[string]any, []byte) {
	s.t.Helper()
	var def map[string]any
	if err := json.Unmarshal([]byte(wf), &def); err != nil {
		s.t.Fatal(err)
	}
	s.call("POST", "/v1/workflows", def, http.StatusCreated)
	var started struct {
		WorkflowRun struct{ Identifier string }
	}
	_ = json.Unmarshal(s.call("POST", "/v1/workflows/"+def["identifier"].(string)+"/runs", map[string]any{"inputs": inputs}, http.StatusCreated), &started)
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw := s.call("GET", "/v1/workflows/runs/"+started.WorkflowRun.Identifier, nil, http.StatusOK)
		var out struct{ WorkflowRun map[string]any }
		_ = json.Unmarshal(raw, &out)
		if out.WorkflowRun["status"] == "COMPLETED" {
			return out.WorkflowRun, raw
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run never completed: %s", raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noneOnDisk fails when a value is anywhere in the data dir's files.
func (s *server) noneOnDisk(values ...string) {
	s.t.Helper()
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(s.dir, e.Name()))
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				s.t.Errorf("%s holds %q", e.Name(), v)
			}
		}
	}
}

const aiWorkflow = `{"identifier": "ask", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"note": {"type": "string"}}}}},
	{"identifier": "ask", "config": {"type": "AI", "userPrompt": "Repeat: {{ .outputs.trigger.note }}", "tools": ["list_blueprints"]}},
	{"identifier": "hook", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/never", "method": "POST", "headers": {"X-Token": "{{ .secrets.PASTED }}"}}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ask"}, {"sourceIdentifier": "ask", "targetIdentifier": "hook"}]}`

// TestBadKeyEchoedIsMasked: the provider answers 401 quoting the key it was
// sent; the node fails with the provider's message, and the key is in no
// API answer and nowhere on disk.
func TestBadKeyEchoedIsMasked(t *testing.T) {
	const wrong = "sk-wrong-Key9876543210fedcba"
	s := startServer(t, wrong)
	run, raw := s.run(aiWorkflow, map[string]any{"note": "hello"})
	if run["result"] != "FAILED" || !strings.Contains(string(raw), "answered 401: Incorrect API key provided: ***") {
		t.Fatalf("run = %s, want a failure quoting the 401 with the key masked", raw)
	}
	if strings.Contains(string(raw), wrong) {
		t.Errorf("the run's answer holds the key: %s", raw)
	}
	if got := s.fake.Requests(); len(got) != 1 || got[0].Auth != "Bearer "+wrong {
		t.Errorf("requests = %+v, want one with the (wrong) key", got)
	}
	s.noneOnDisk(wrong)
}

// TestSecretInPromptEchoedIsMasked: a user pastes a secret the workflow
// references into a trigger input that reaches the prompt: the trigger's
// output is masked before any template reads it, so the model is sent ***.
// A model that echoes secrets anyway (the provider's key and the pasted
// value, raw, base64-encoded, and in a tool call's arguments) has its
// answer masked in the stored output, logs and API answers.
func TestSecretInPromptEchoedIsMasked(t *testing.T) {
	s := startServer(t, testKey)
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	s.fake.Push(
		aifake.ToolCalls(aifake.Call{Name: "list_blueprints", Args: map[string]any{"why": pasted + " " + testKey}}),
		aifake.Echo(func(p string) string {
			return p + " | " + pasted + " " + b64(pasted) + " " + testKey + " " + b64(testKey)
		}),
	)
	_, raw := s.run(aiWorkflow, map[string]any{"note": pasted})
	if !strings.Contains(string(raw), `Repeat: *** | *** *** *** ***`) {
		t.Errorf("the AI node's output does not show the masked echo: %s", raw)
	}
	for _, v := range []string{pasted, b64(pasted), testKey, b64(testKey)} {
		if strings.Contains(string(raw), v) {
			t.Errorf("the run's answer holds %q: %s", v, raw)
		}
	}
	if sent := s.fake.Requests()[0].Body["messages"].([]any)[0].(map[string]any)["content"].(string); sent != "Repeat: ***" {
		t.Errorf("the prompt sent = %q, want the pasted secret masked", sent)
	}
	s.noneOnDisk(pasted, b64(pasted), testKey, b64(testKey))
}
