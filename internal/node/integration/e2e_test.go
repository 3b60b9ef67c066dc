package integration_test

import (
	"bytes"
	"context"
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
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/integration"
	"github.com/sluice-run/sluice/internal/node/integration/fakes"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// agentKey is a secret an external integration's node reads.
const agentKey = "sk-agent-Secret9f8e7d6c5b4a"

// server is sluice serving on loopback over a SQLite data dir.
type server struct {
	t     *testing.T
	dir   string
	st    *sqlite.Store
	srv   *api.Server
	hs    *httptest.Server
	admin string
}

func startServer(t *testing.T) *server {
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
	for name, v := range map[string]string{"AGENT_KEY": agentKey, "GH_TOKEN": ghToken} {
		if _, err := svc.Create(ctx, "test", name, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	reg := node.NewRegistry()
	integration.Register(reg, integration.New(integration.Options{Installations: st, PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, RetryMin: time.Millisecond}))
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{}), WaitCheckInterval: 5 * time.Millisecond, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dir: dir, st: st, srv: srv, hs: httptest.NewServer(srv.Handler())}
	cred := auth.Credentials{ClientID: "admin", ClientSecret: "admin-secret-0123456789abcdefghijklmnop"}
	if _, _, err := auth.Bootstrap(ctx, st, cred.ClientID, cred.ClientSecret); err != nil {
		t.Fatal(err)
	}
	s.admin = s.login(cred)
	if _, err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		st.Close()
	})
	return s
}

func (s *server) login(c auth.Credentials) string {
	s.t.Helper()
	code, raw := s.call("POST", "/v1/auth/access_token", "", map[string]string{"clientId": c.ClientID, "clientSecret": c.ClientSecret})
	if code != http.StatusOK {
		s.t.Fatalf("login: %d %s", code, raw)
	}
	var out struct{ AccessToken string }
	_ = json.Unmarshal(raw, &out)
	return out.AccessToken
}

// machine creates a machine client with scopes and logs it in.
func (s *server) machine(scopes ...string) string {
	s.t.Helper()
	c, err := auth.CreateClient(context.Background(), s.st, auth.ClientSpec{Name: "integration", Scopes: scopes})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.login(c)
}

func (s *server) call(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.hs.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (s *server) must(want int, method, path, token string, body any) map[string]any {
	s.t.Helper()
	code, raw := s.call(method, path, token, body)
	if code != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, code, raw, want)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func (s *server) startRun(wf string) string {
	out := s.must(http.StatusCreated, "POST", "/v1/workflows/"+wf+"/runs", s.admin, map[string]any{"inputs": map[string]any{"env": "prod"}})
	return out["workflowRun"].(map[string]any)["identifier"].(string)
}

// waitRun polls a run until cond holds, within a generous deadline.
func (s *server) waitRun(id string, cond func(run map[string]any) bool) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run := s.must(http.StatusOK, "GET", "/v1/workflows/runs/"+id+"?include=logs", s.admin, nil)["workflowRun"].(map[string]any)
		if cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %s never reached the condition: %v", id, run)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lastNodeRun(run map[string]any) map[string]any {
	nrs := run["nodeRuns"].([]any)
	return nrs[len(nrs)-1].(map[string]any)
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

const agentWorkflow = `{"identifier": "agent", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}}}}},
	{"identifier": "agent", "config": {"type": "INTEGRATION_ACTION", "installationId": "agents", "integrationProvider": "ai-agents",
		"integrationInvocationType": "run_agent",
		"integrationActionExecutionProperties": {"prompt": "deploy to {{ .outputs.trigger.env }}", "apiKey": "{{ .secrets.AGENT_KEY }}"}}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "agent"}]}`

func TestClaimAckComplete(t *testing.T) {
	s := startServer(t)
	// Saving a workflow that names an unknown installation warns.
	saved := s.must(http.StatusCreated, "POST", "/v1/workflows", s.admin, json.RawMessage(agentWorkflow))
	if w, _ := json.Marshal(saved["warnings"]); !strings.Contains(string(w), "installation agents does not exist") {
		t.Errorf("warnings = %s, want the missing installation", w)
	}
	s.must(http.StatusCreated, "POST", "/v1/integrations", s.admin, map[string]any{"installationId": "agents", "provider": "ai-agents"})
	runA, runB := s.startRun("agent"), s.startRun("agent")
	for _, id := range []string{runA, runB} {
		s.waitRun(id, func(run map[string]any) bool {
			return lastNodeRun(run)["node"].(map[string]any)["identifier"] == "agent"
		})
	}

	c1 := s.machine("integration:agents", "update:runs")
	c2 := s.machine("integration:agents")
	other := s.machine("integration:elsewhere", "update:runs")
	claim := func(token string, limit, vis int) []map[string]any {
		out := s.must(http.StatusOK, "POST", "/v1/workflows/runs/claim-pending", token, map[string]any{"installationId": "agents", "limit": limit, "visibilityTimeoutMs": vis})
		var nrs []map[string]any
		for _, nr := range out["nodeRuns"].([]any) {
			nrs = append(nrs, nr.(map[string]any))
		}
		return nrs
	}
	// Bad requests name the field; a client without the installation's
	// scope is refused.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"installationId": "agents", "limit": 0, "visibilityTimeoutMs": 1000}, "limit"},
		{map[string]any{"installationId": "agents", "limit": 101, "visibilityTimeoutMs": 1000}, "limit"},
		{map[string]any{"installationId": "agents", "limit": 1, "visibilityTimeoutMs": 999}, "visibilityTimeoutMs"},
		{map[string]any{"installationId": "agents", "limit": 1, "visibilityTimeoutMs": 600001}, "visibilityTimeoutMs"},
		{map[string]any{"limit": 1, "visibilityTimeoutMs": 1000}, "installationId"},
	} {
		if code, raw := s.call("POST", "/v1/workflows/runs/claim-pending", c1, tc.body); code != http.StatusBadRequest || !strings.Contains(string(raw), tc.field) {
			t.Errorf("claim %v: %d %s, want 400 naming %s", tc.body, code, raw, tc.field)
		}
	}
	s.must(http.StatusForbidden, "POST", "/v1/workflows/runs/claim-pending", other, map[string]any{"installationId": "agents", "limit": 10, "visibilityTimeoutMs": 1000})

	// Two claimers never get the same node run.
	first := claim(c1, 1, 600000)
	second := claim(c2, 10, 1000)
	if len(first) != 1 || len(second) != 1 || first[0]["identifier"] == second[0]["identifier"] {
		t.Fatalf("claims: %v and %v, want one different node run each", first, second)
	}
	if got := claim(c1, 10, 1000); len(got) != 0 {
		t.Fatalf("a third claim got %v while both are claimed", got)
	}
	// The claim carries the config rendered, with the secret resolved.
	props := first[0]["config"].(map[string]any)["integrationActionExecutionProperties"].(map[string]any)
	if props["apiKey"] != agentKey || props["prompt"] != "deploy to prod" {
		t.Errorf("claimed properties = %v, want rendered with the secret", props)
	}

	// c2 never acknowledges: its claim expires and the node run is offered
	// again.
	var again []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for len(again) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		again = claim(c1, 10, 600000)
	}
	if len(again) != 1 || again[0]["identifier"] != second[0]["identifier"] {
		t.Fatalf("after the claim expired: %v, want %s again", again, second[0]["identifier"])
	}
	s.must(http.StatusConflict, "PATCH", "/v1/workflows/runs/ack", c2, map[string]any{"nodeRunIdentifier": second[0]["identifier"]})

	// Ack, then complete: the run moves on.
	for _, nr := range []map[string]any{first[0], again[0]} {
		id := nr["identifier"].(string)
		s.must(http.StatusOK, "PATCH", "/v1/workflows/runs/ack", c1, map[string]any{"nodeRunIdentifier": id})
		s.must(http.StatusConflict, "PATCH", "/v1/workflows/runs/ack", c1, map[string]any{"nodeRunIdentifier": id})
		s.must(http.StatusOK, "PATCH", "/v1/workflows/nodes/runs/"+id, c1, map[string]any{"status": "COMPLETED", "result": "SUCCESS",
			"output": map[string]any{"answer": "deployed with " + agentKey}})
	}
	if got := claim(c1, 10, 1000); len(got) != 0 {
		t.Errorf("claim after completion: %v, want none", got)
	}
	for _, id := range []string{runA, runB} {
		run := s.waitRun(id, func(run map[string]any) bool { return run["status"] == "COMPLETED" })
		if run["result"] != "SUCCESS" {
			t.Errorf("run %s ended %v", id, run["result"])
		}
		raw, _ := json.Marshal(run)
		if strings.Contains(string(raw), agentKey) {
			t.Errorf("run %s shows the secret: %s", id, raw)
		}
		if !strings.Contains(string(raw), "claimed by client") || !strings.Contains(string(raw), "acknowledged by client") {
			t.Errorf("run %s does not log the claim and the ack: %s", id, raw)
		}
	}
	s.noneOnDisk(agentKey)
}

func TestServerPollsGitHubToTheEnd(t *testing.T) {
	g := fakes.NewGitHub(ghToken)
	defer g.Server.Close()
	g.AddRepo("acme/api", "main", "deploy.yml")
	g.PollsToComplete, g.EchoCredentials = 3, true
	s := startServer(t)
	s.must(http.StatusCreated, "POST", "/v1/integrations", s.admin, map[string]any{"installationId": "gh", "provider": "github-ocean", "baseUrl": g.URL(), "tokenSecret": "GH_TOKEN"})
	s.must(http.StatusCreated, "POST", "/v1/workflows", s.admin, json.RawMessage(`{"identifier": "ci", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}}}}},
		{"identifier": "deploy", "config": `+strings.Replace(ghConfig(`, "reportWorkflowStatus": true`), `, "count": "{{ .outputs.trigger.count | tostring }}"`, "", 1)+`,
		 "variables": {"url": "{{ .result.workflowRunUrl }}", "status": "{{ .result.workflowStatus }}"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "deploy"}]}`))
	id := s.startRun("ci")
	run := s.waitRun(id, func(run map[string]any) bool { return run["status"] == "COMPLETED" })
	out, _ := json.Marshal(lastNodeRun(run)["output"])
	if run["result"] != "SUCCESS" || !strings.Contains(string(out), `"status":"success"`) {
		t.Fatalf("run %v, output %s", run["result"], out)
	}
	if g.DispatchCount() != 1 {
		t.Errorf("%d dispatches", g.DispatchCount())
	}
	s.noneOnDisk(ghToken)
	// Installations never show a token.
	list := s.must(http.StatusOK, "GET", "/v1/integrations", s.admin, nil)
	if raw, _ := json.Marshal(list); strings.Contains(string(raw), ghToken) || !strings.Contains(string(raw), `"tokenSecret":"GH_TOKEN"`) {
		t.Errorf("installations = %s", raw)
	}
}
