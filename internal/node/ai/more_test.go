package ai_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/ai"
	"github.com/sluice-run/sluice/internal/node/ai/aifake"
	"github.com/sluice-run/sluice/internal/workflow"
)

// TestRetryAfter: a 429's Retry-After is honoured as seconds or as an HTTP
// date (against the executor's clock), and a wait that would pass the
// node's timeout fails the node at once instead of sleeping.
func TestRetryAfter(t *testing.T) {
	// The executor's clock is fixed at the real time (HTTP dates have
	// whole seconds), since the node's deadline is on the real clock.
	now := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name      string
		cfg       map[string]any
		header    string
		wantSleep time.Duration
		wantErr   string
	}{
		{name: "Seconds", cfg: map[string]any{"userPrompt": "x"}, header: "3", wantSleep: 3 * time.Second},
		{name: "HTTPDate", cfg: map[string]any{"userPrompt": "x"}, header: now.Add(5 * time.Second).Format(http.TimeFormat), wantSleep: 5 * time.Second},
		{name: "DateInThePast", cfg: map[string]any{"userPrompt": "x"}, header: now.Add(-time.Hour).Format(http.TimeFormat), wantSleep: time.Millisecond},
		{name: "Unreadable", cfg: map[string]any{"userPrompt": "x"}, header: "soon", wantSleep: ai.DefaultRetryMin},
		{name: "CappedAtFiveMinutes", cfg: map[string]any{"userPrompt": "x", "timeoutSeconds": 3600}, header: "86400", wantSleep: 5 * time.Minute},
		{name: "HugeNumber", cfg: map[string]any{"userPrompt": "x", "timeoutSeconds": 3600}, header: "1e300", wantSleep: 5 * time.Minute},
		{name: "PastTheTimeout", cfg: map[string]any{"userPrompt": "x", "timeoutSeconds": 2}, header: "30",
			wantErr: "provider fake answered 429: Rate limit reached; a retry in 30s would pass the node's timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testKey, ai.Options{Now: func() time.Time { return now }})
			e.fake.Push(aifake.Error(http.StatusTooManyRequests, "Rate limit reached", map[string]string{"Retry-After": tc.header}), aifake.Answer("ok"))
			res, logs, err := e.run(t, testKey, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if len(e.sleeps) != 0 || len(e.fake.Requests()) != 1 {
					t.Errorf("slept %v over %d requests, want no sleep and one request", e.sleeps, len(e.fake.Requests()))
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v (logs %v)", err, logs)
			}
			if len(e.sleeps) != 1 || e.sleeps[0] != tc.wantSleep || decodeJSON(t, res.Output)["response"] != "ok" {
				t.Errorf("slept %v, output %v; want one sleep of %s then the answer", e.sleeps, res.Output, tc.wantSleep)
			}
			if !strings.Contains(strings.Join(logs, "\n"), "retrying in") {
				t.Errorf("the retry is not logged: %v", logs)
			}
		})
	}
}

// TestHostedAgents: AI_AGENT and CURSOR_AGENT name agents Port hosts; the
// node fails saying that sluice runs AI nodes only, and saving warns.
func TestHostedAgents(t *testing.T) {
	reg := node.NewRegistry()
	ai.Register(reg, ai.New(ai.Options{}))
	for _, typ := range []string{workflow.TypeAIAgent, workflow.TypeCursorAgent} {
		t.Run(typ, func(t *testing.T) {
			x, ok := reg.Lookup(typ)
			if !ok {
				t.Fatalf("no executor for %s", typ)
			}
			n := &workflow.Node{Identifier: "agent", Type: typ}
			_, err := x.Execute(context.Background(), &node.Request{Node: n})
			if err == nil || !strings.Contains(err.Error(), typ+" nodes run agents hosted by Port; sluice runs AI nodes only") {
				t.Errorf("Execute = %v", err)
			}
			w, ok := x.(node.Warner)
			if !ok {
				t.Fatalf("the %s executor gives no warnings", typ)
			}
			if ws := w.Warnings(n); len(ws) != 1 || !strings.Contains(ws[0], "node agent fails when it runs") {
				t.Errorf("Warnings = %v", ws)
			}
		})
	}
}

// TestWarnings: what the AI executor warns of at save.
func TestWarnings(t *testing.T) {
	e := newEnv(t, testKey, ai.Options{})
	tests := []struct {
		name   string
		config map[string]any
		want   []string // a part of each warning, in order; nil: none
	}{
		{"clean", map[string]any{"userPrompt": "x", "tools": []any{"list_entities"}}, nil},
		{"unknown tool", map[string]any{"userPrompt": "x", "tools": []any{"list_entities", "web_search"}}, []string{`sluice serves no tool "web_search"`}},
		{"mcp servers", map[string]any{"userPrompt": "x", "mcpServers": []any{map[string]any{"identifier": "gh"}}}, []string{"names mcpServers, which sluice does not call yet"}},
		{"missing provider", map[string]any{"userPrompt": "x", "provider": "nope", "model": "m"}, []string{"AI provider nope does not exist"}},
		{"templated provider", map[string]any{"userPrompt": "x", "provider": "{{ .outputs.trigger.p }}", "model": "m"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := e.x.Warnings(&workflow.Node{Identifier: "ask", Type: workflow.TypeAI, Config: tc.config})
			if len(ws) != len(tc.want) {
				t.Fatalf("Warnings = %q, want %d", ws, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(ws[i], w) {
					t.Errorf("warning %d = %q, want %q", i, ws[i], w)
				}
			}
		})
	}
}

// TestSecretReadByPromptIsSentAndMasked: a prompt that reads a secret
// (decision 013, revised) saves with a warning, sends the value to the
// model, and the model's echo of it, raw and base64, is masked in the run
// as the API shows it and nowhere on disk.
func TestSecretReadByPromptIsSentAndMasked(t *testing.T) {
	s := startServer(t, testKey)
	b64 := base64.StdEncoding.EncodeToString([]byte(pasted))
	s.fake.Push(aifake.Answer("you said " + pasted + " aka " + b64))
	wf := `{"identifier": "ask-secret", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "ask", "config": {"type": "AI", "userPrompt": "The token is {{ .secrets.PASTED }}"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ask"}]}`
	run, raw := s.run(wf, map[string]any{})
	if run["result"] != "SUCCESS" || !strings.Contains(string(raw), "you said *** aka ***") {
		t.Errorf("run = %s, want SUCCESS with the echo masked", raw)
	}
	if strings.Contains(string(raw), pasted) || strings.Contains(string(raw), b64) {
		t.Errorf("the run's answer holds the secret: %s", raw)
	}
	if sent := s.fake.Requests()[0].Body["messages"].([]any)[0].(map[string]any)["content"]; sent != "The token is "+pasted {
		t.Errorf("the prompt sent = %q, want the secret in it", sent)
	}
	s.noneOnDisk(pasted, b64)
}
