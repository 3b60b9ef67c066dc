package ai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/ai"
	"github.com/sluice-run/sluice/internal/node/ai/aifake"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

const testKey = "sk-test-Key0123456789abcdef"

// env is an executor over a real SQLite store with a catalog and a
// provider "fake" (the default) pointing at a fake of the chat
// completions API.
type env struct {
	fake   *aifake.Fake
	x      *ai.Executor
	st     *sqlite.Store
	sleeps []time.Duration
	mu     sync.Mutex
}

func newEnv(t *testing.T, key string, o ai.Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat := catalog.New(st, catalog.Options{})
	if _, err := cat.CreateBlueprint(ctx, catalog.Blueprint{Identifier: "service", Title: "Service", Schema: catalog.Schema{Properties: map[string]map[string]any{
		"tier": {"type": "string"}}}}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"api", "billing", "checkout"} {
		tier := "critical"
		if id == "billing" {
			tier = "low"
		}
		if _, err := cat.WriteEntity(ctx, "service", catalog.EntityInput{Identifier: id, Properties: map[string]any{"tier": tier}}, catalog.Create, catalog.Origin{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{fake: aifake.New(t, testKey), st: st}
	if err := st.CreateAIProvider(ctx, store.AIProvider{Name: "fake", BaseURL: e.fake.BaseURL(), APIKeySecret: "AI_KEY", Model: "fake-1", Default: true,
		Headers: map[string]string{"X-Team": "platform"}}); err != nil {
		t.Fatal(err)
	}
	o.Providers, o.Catalog = st, cat
	o.Sleep = func(_ context.Context, d time.Duration) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.sleeps = append(e.sleeps, d)
		return nil
	}
	e.x = ai.New(o)
	_ = key
	return e
}

// run executes a node with config c; the key resolved is key.
func (e *env) run(t *testing.T, key string, c map[string]any) (node.Result, []string, error) {
	t.Helper()
	var logs []string
	var mu sync.Mutex
	req := &node.Request{RunID: "wfr_1", NodeRunID: "wfnr_1", Config: c,
		Log: func(level, msg string) { mu.Lock(); logs = append(logs, level+" "+msg); mu.Unlock() },
		Secret: func(_ context.Context, name string) (string, error) {
			if name != "AI_KEY" {
				t.Errorf("resolved secret %s, want AI_KEY", name)
			}
			return key, nil
		},
	}
	res, err := e.x.Execute(context.Background(), req)
	return res, logs, err
}

func decodeJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var schema = map[string]any{"type": "object", "properties": map[string]any{
	"summary": map[string]any{"type": "string"}, "severity": map[string]any{"type": "string", "enum": []any{"low", "high"}}},
	"required": []any{"summary", "severity"}}

func TestExecute(t *testing.T) {
	tests := []struct {
		name  string
		cfg   map[string]any
		key   string
		steps []aifake.Step
		opts  ai.Options
		// wantErr is a part of the error; "" for success.
		wantErr string
		check   func(t *testing.T, e *env, out map[string]any, logs []string)
	}{
		{name: "PlainAnswer", cfg: map[string]any{"userPrompt": "Say hi", "systemPrompt": "Be brief"},
			steps: []aifake.Step{aifake.Answer("hi there")},
			check: func(t *testing.T, e *env, out map[string]any, _ []string) {
				if out["response"] != "hi there" || out["model"] != "fake-1" || out["provider"] != "fake" {
					t.Errorf("output = %v", out)
				}
				if u := out["usage"].(map[string]any); u["totalTokens"] != float64(15) {
					t.Errorf("usage = %v", u)
				}
				r := e.fake.Requests()[0]
				msgs := r.Body["messages"].([]any)
				if r.Auth != "Bearer "+testKey || len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" || r.Body["response_format"] != nil || r.Body["tools"] != nil {
					t.Errorf("request = %+v", r)
				}
			}},
		{name: "ModelOverride", cfg: map[string]any{"userPrompt": "x", "provider": "fake", "model": "big-2"},
			steps: []aifake.Step{aifake.Answer("ok")},
			check: func(t *testing.T, e *env, out map[string]any, _ []string) {
				if e.fake.Requests()[0].Body["model"] != "big-2" || out["model"] != "big-2" {
					t.Errorf("model = %v, output %v", e.fake.Requests()[0].Body["model"], out)
				}
			}},
		{name: "StructuredOutput", cfg: map[string]any{"userPrompt": "x", "outputSchema": schema},
			steps: []aifake.Step{aifake.Answer(`{"summary": "db down", "severity": "high"}`)},
			check: func(t *testing.T, e *env, out map[string]any, _ []string) {
				var v map[string]any
				if err := json.Unmarshal([]byte(out["response"].(string)), &v); err != nil || v["severity"] != "high" {
					t.Errorf("response = %v (%v)", out["response"], err)
				}
				rf, _ := e.fake.Requests()[0].Body["response_format"].(map[string]any)
				if rf["type"] != "json_schema" || rf["json_schema"].(map[string]any)["schema"].(map[string]any)["type"] != "object" {
					t.Errorf("response_format = %v", rf)
				}
			}},
		{name: "StructuredCodeFence", cfg: map[string]any{"userPrompt": "x", "outputSchema": schema},
			steps: []aifake.Step{aifake.Answer("```json\n{\"summary\": \"s\", \"severity\": \"low\"}\n```")},
			check: func(t *testing.T, _ *env, out map[string]any, _ []string) {
				if out["response"] != `{"summary": "s", "severity": "low"}` {
					t.Errorf("response = %q", out["response"])
				}
			}},
		{name: "StructuredInvalidRetried", cfg: map[string]any{"userPrompt": "x", "outputSchema": schema},
			steps: []aifake.Step{aifake.Answer(`{"summary": "s", "severity": "urgent"}`), aifake.Answer(`{"summary": "s", "severity": "high"}`)},
			check: func(t *testing.T, e *env, out map[string]any, logs []string) {
				reqs := e.fake.Requests()
				msgs := reqs[len(reqs)-1].Body["messages"].([]any)
				last := msgs[len(msgs)-1].(map[string]any)["content"].(string)
				if len(reqs) != 2 || !strings.Contains(last, "/severity") {
					t.Errorf("%d requests, last message %q: want a retry naming /severity", len(reqs), last)
				}
				if !strings.Contains(strings.Join(logs, "\n"), "does not match config.outputSchema") {
					t.Errorf("logs = %v", logs)
				}
			}},
		{name: "StructuredInvalidTwiceFails", cfg: map[string]any{"userPrompt": "x", "outputSchema": schema},
			steps:   []aifake.Step{aifake.Answer(`{"summary": 3}`), aifake.Answer(`not json`)},
			wantErr: "does not match config.outputSchema after a retry: the answer is not one JSON value"},
		{name: "ResponseFormatRefused", cfg: map[string]any{"userPrompt": "x", "outputSchema": schema},
			steps: []aifake.Step{aifake.Error(http.StatusBadRequest, "response_format json_schema is not supported", nil), aifake.Answer(`{"summary": "s", "severity": "low"}`)},
			check: func(t *testing.T, e *env, _ map[string]any, _ []string) {
				second := e.fake.Requests()[1].Body
				first := second["messages"].([]any)[0].(map[string]any)["content"].(string)
				if second["response_format"] != nil || !strings.Contains(first, "JSON Schema") {
					t.Errorf("fallback request = %v", second)
				}
			}},
		{name: "ToolLoopOverTheCatalog", cfg: map[string]any{"userPrompt": "which services are critical?", "tools": []any{"list_blueprints", "list_entities", "search_entities", "get_entity"}},
			steps: []aifake.Step{
				aifake.ToolCalls(aifake.Call{Name: "list_blueprints", Args: map[string]any{}}),
				aifake.ToolCalls(aifake.Call{Name: "list_entities", Args: map[string]any{"blueprint": "service", "limit": 2}},
					aifake.Call{Name: "search_entities", Args: map[string]any{"blueprint": "service", "query": map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "tier", "operator": "=", "value": "critical"}}}}}),
				aifake.ToolCalls(aifake.Call{Name: "get_entity", Args: map[string]any{"blueprint": "service", "identifier": "nope"}}),
				aifake.Answer("api and checkout"),
			},
			check: func(t *testing.T, e *env, out map[string]any, logs []string) {
				reqs := e.fake.Requests()
				if len(reqs) != 4 || out["response"] != "api and checkout" {
					t.Fatalf("%d requests, output %v", len(reqs), out)
				}
				if tools := reqs[0].Body["tools"].([]any); len(tools) != 4 {
					t.Errorf("offered %d tools, want 4", len(tools))
				}
				tool := func(r aifake.Request, i int) string {
					var got []string
					for _, m := range r.Body["messages"].([]any) {
						if mm := m.(map[string]any); mm["role"] == "tool" {
							got = append(got, mm["content"].(string))
						}
					}
					return got[i]
				}
				if bp := tool(reqs[1], 0); !strings.Contains(bp, `"identifier":"service"`) {
					t.Errorf("list_blueprints gave %s", bp)
				}
				if es := tool(reqs[2], 1); !strings.Contains(es, `"identifier":"api"`) || !strings.Contains(es, `"more":true`) || strings.Contains(es, "checkout") {
					t.Errorf("list_entities limit 2 gave %s", es)
				}
				if es := tool(reqs[2], 2); !strings.Contains(es, "checkout") || strings.Contains(es, "billing") {
					t.Errorf("search_entities gave %s", es)
				}
				if es := tool(reqs[3], 3); !strings.Contains(es, `"error"`) {
					t.Errorf("get_entity of a missing entity gave %s", es)
				}
				if n := strings.Count(strings.Join(logs, "\n"), "tool call"); n != 4 {
					t.Errorf("%d tool calls logged, want 4: %v", n, logs)
				}
			}},
		{name: "RoundBound", cfg: map[string]any{"userPrompt": "x", "tools": []any{"list_blueprints"}, "maxToolRounds": 2},
			steps:   []aifake.Step{aifake.ToolCalls(aifake.Call{Name: "list_blueprints"}), aifake.ToolCalls(aifake.Call{Name: "list_blueprints"}), aifake.ToolCalls(aifake.Call{Name: "list_blueprints"})},
			wantErr: "the model still called tools after 2 rounds"},
		{name: "DefaultRoundBound", cfg: map[string]any{"userPrompt": "x", "tools": []any{"list_blueprints"}},
			steps:   repeat(9, aifake.ToolCalls(aifake.Call{Name: "list_blueprints"})),
			wantErr: "after 8 rounds"},
		{name: "ToolNotOfferedCalled", cfg: map[string]any{"userPrompt": "x", "tools": []any{"list_blueprints"}},
			steps: []aifake.Step{aifake.ToolCalls(aifake.Call{Name: "delete_everything"}), aifake.Answer("sorry")},
			check: func(t *testing.T, e *env, _ map[string]any, logs []string) {
				if !strings.Contains(strings.Join(logs, "\n"), `no tool \"delete_everything\" is offered`) {
					t.Errorf("logs = %v", logs)
				}
			}},
		{name: "BadKey401", key: "sk-wrong-Key9876543210fedcba", cfg: map[string]any{"userPrompt": "x"},
			wantErr: "provider fake answered 401: Incorrect API key provided: sk-wrong-Key9876543210fedcba"},
		{name: "RateLimitedThenSuccess", cfg: map[string]any{"userPrompt": "x"},
			steps: []aifake.Step{aifake.Error(http.StatusTooManyRequests, "Rate limit reached", map[string]string{"Retry-After": "7"}), aifake.Answer("ok")},
			check: func(t *testing.T, e *env, out map[string]any, logs []string) {
				if len(e.sleeps) != 1 || e.sleeps[0] != 7*time.Second || out["response"] != "ok" {
					t.Errorf("slept %v, output %v", e.sleeps, out)
				}
			}},
		{name: "ServerErrorsRetriedWithBackoff", cfg: map[string]any{"userPrompt": "x"}, opts: ai.Options{RetryMin: time.Millisecond},
			steps: []aifake.Step{aifake.Error(502, "bad gateway", nil), aifake.Error(503, "overloaded", nil), aifake.Answer("ok")},
			check: func(t *testing.T, e *env, out map[string]any, _ []string) {
				if len(e.sleeps) != 2 || e.sleeps[1] != 2*e.sleeps[0] || out["response"] != "ok" {
					t.Errorf("slept %v, output %v", e.sleeps, out)
				}
			}},
		{name: "ServerErrorsGiveUp", cfg: map[string]any{"userPrompt": "x"}, opts: ai.Options{RetryMin: time.Millisecond},
			steps:   repeat(4, aifake.Error(500, "the engine is down", nil)),
			wantErr: "provider fake answered 500: the engine is down"},
		{name: "Timeout", cfg: map[string]any{"userPrompt": "x", "timeoutSeconds": 0.2},
			steps: []aifake.Step{aifake.Hang()}, wantErr: "timeoutSeconds 0.2: provider fake: the node's timeout passed"},
		{name: "AnswerTooLarge", cfg: map[string]any{"userPrompt": "x"}, opts: ai.Options{MaxAnswer: 1000},
			steps: []aifake.Step{aifake.Answer(strings.Repeat("a", 2000))}, wantErr: "the answer exceeds 1000 bytes"},
		{name: "NotAChatCompletion", cfg: map[string]any{"userPrompt": "x"},
			steps: []aifake.Step{aifake.Raw(200, "<html>")}, wantErr: "the answer is not a chat completion"},
		{name: "UnknownProvider", cfg: map[string]any{"userPrompt": "x", "provider": "nope", "model": "m"}, wantErr: "config.provider: AI provider nope does not exist"},
		{name: "UnknownTool", cfg: map[string]any{"userPrompt": "x", "tools": []any{"web_search"}}, wantErr: `config.tools: sluice serves no tool "web_search"`},
		{name: "EmptyPrompt", cfg: map[string]any{"userPrompt": "  "}, wantErr: "config.userPrompt: must be a non-empty string"},
		{name: "BadSchema", cfg: map[string]any{"userPrompt": "x", "outputSchema": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": 5}}}}, wantErr: "config.outputSchema: is not valid JSON Schema"},
		{name: "RemoteRefRefused", cfg: map[string]any{"userPrompt": "x", "outputSchema": map[string]any{"type": "object", "$ref": "http://127.0.0.1:1/x.json"}}, wantErr: "config.outputSchema: is not valid JSON Schema"},
		{name: "BadTimeout", cfg: map[string]any{"userPrompt": "x", "timeoutSeconds": -1}, wantErr: "config.timeoutSeconds"},
		{name: "MCPServersWarned", cfg: map[string]any{"userPrompt": "x", "mcpServers": []any{map[string]any{"identifier": "github"}}},
			steps: []aifake.Step{aifake.Answer("ok")},
			check: func(t *testing.T, _ *env, _ map[string]any, logs []string) {
				if !strings.Contains(strings.Join(logs, "\n"), "mcpServers github are not called") {
					t.Errorf("logs = %v", logs)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testKey, tc.opts)
			e.fake.Push(tc.steps...)
			key := tc.key
			if key == "" {
				key = testKey
			}
			res, logs, err := e.run(t, key, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v (logs %v)", err, logs)
			}
			if tc.check != nil {
				tc.check(t, e, decodeJSON(t, res.Output), logs)
			}
		})
	}
}

func repeat(n int, s aifake.Step) []aifake.Step {
	out := make([]aifake.Step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestValidateProvider(t *testing.T) {
	ok := store.AIProvider{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKeySecret: "OPENAI_API_KEY", Model: "gpt-4o-mini"}
	tests := []struct {
		name    string
		edit    func(p *store.AIProvider)
		wantErr string
	}{
		{"OK", func(*store.AIProvider) {}, ""},
		{"NoKeyForALocalServer", func(p *store.AIProvider) { p.BaseURL, p.APIKeySecret = "http://127.0.0.1:11434/v1", "" }, ""},
		{"BadName", func(p *store.AIProvider) { p.Name = "a b" }, "name:"},
		{"NoBaseURL", func(p *store.AIProvider) { p.BaseURL = "" }, "baseUrl: is required"},
		{"RelativeBaseURL", func(p *store.AIProvider) { p.BaseURL = "api.openai.com/v1" }, "baseUrl: must be an absolute"},
		{"CredentialsInURL", func(p *store.AIProvider) { p.BaseURL = "https://u:p@h/v1" }, "baseUrl: must not hold credentials"},
		{"QueryInURL", func(p *store.AIProvider) { p.BaseURL = "https://h/v1?key=x" }, "baseUrl: must have no query"},
		{"FullEndpoint", func(p *store.AIProvider) { p.BaseURL = "https://h/v1/chat/completions" }, "without it"},
		{"BadSecretName", func(p *store.AIProvider) { p.APIKeySecret = "not a name!" }, "apiKeySecret:"},
		{"NoModel", func(p *store.AIProvider) { p.Model = "" }, "model:"},
		{"CredentialHeader", func(p *store.AIProvider) { p.Headers = map[string]string{"Authorization": "Bearer x"} }, "headers.Authorization: would hold a credential"},
		{"BadHeaderName", func(p *store.AIProvider) { p.Headers = map[string]string{"a b": "x"} }, "headers.a b: is not a valid header name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			err := ai.ValidateProvider(p)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ValidateProvider = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
