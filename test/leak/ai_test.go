package leak_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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

// aiKey is the API key of the case's AI provider, an organization secret.
const aiKey = "sk-leak-Prov1derKey7Zq2Wx9Lm4"

// aiLeakDef is an AI node whose prompts read every secret of
// everyFormSecrets (prompts are outbound fields, decision 013 revised),
// with a catalog tool on offer.
const aiLeakDef = `{"identifier": "ai-leak", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
	{"identifier": "ask", "config": {"type": "AI",
		"systemPrompt": "Context: {{ .secrets.SPECIAL }} / {{ .secrets.MULTI }}",
		"userPrompt": "Token {{ .secrets.TOKEN }} for {{ .secrets.URLISH }}",
		"tools": ["list_blueprints"]}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ask"}]}`

// sortedForms returns echoForms(s) as label, text pairs in label order.
func sortedForms(s map[string]string) []form {
	m := echoForms(s)
	var out []form
	for _, l := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, form{l, m[l]})
	}
	return out
}

// TestAIPromptEcho: an AI node sends secrets in its prompts to a hostile
// model (the loopback fake of the chat completions API, aifake), which
// echoes every form test/leak knows of every secret and of the provider's
// API key: in the arguments of a tool call (and as the name of a tool that
// is not offered), in its answer text, and, in further runs, in the
// message of a 401, a chunk of forms at a time so that each form is whole
// in the error the node keeps. The stored run, its logs, every API answer,
// the database file and its WAL, and the server's log hold none of them.
func TestAIPromptEcho(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "sluice.db")
	st, err := sqlitetest.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	var slogBuf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&slogBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring, secret.WithLogger(logger))
	all := map[string]string{"AI_KEY": aiKey}
	for k, v := range everyFormSecrets {
		all[k] = v
	}
	for name, v := range all {
		if _, err := svc.Create(ctx, "usr_leaktest", name, v, "leak suite"); err != nil {
			t.Fatal(err)
		}
	}
	fake := aifake.New(t, aiKey)
	if err := st.CreateAIProvider(ctx, store.AIProvider{Name: "fake", BaseURL: fake.BaseURL(), APIKeySecret: "AI_KEY", Model: "fake-1", Default: true}); err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	ai.Register(reg, ai.New(ai.Options{Providers: st, Catalog: catalog.New(st, catalog.Options{}), RetryMin: time.Millisecond}))
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{}), Logger: logger, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Shutdown(context.Background()) //nolint:errcheck // the test's end
	var answers bytes.Buffer                 // every API answer, a haystack
	call := func(method, path, tok string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, hs.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		answers.Write(raw)
		answers.WriteByte('\n')
		return resp.StatusCode, raw
	}
	admin, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, raw := call("POST", "/v1/auth/access_token", "", map[string]string{"clientId": admin.ClientID, "clientSecret": admin.ClientSecret})
	var login struct{ AccessToken string }
	_ = json.Unmarshal(raw, &login)
	tok := login.AccessToken

	code, raw := call("POST", "/v1/workflows", tok, json.RawMessage(aiLeakDef))
	if code != http.StatusCreated {
		t.Fatalf("save: %d %s", code, raw)
	}
	if !bytes.Contains(raw, []byte("beyond what masking recognises")) {
		t.Errorf("saving a prompt that reads .secrets gave no warning: %s", raw)
	}
	// run starts the workflow and returns the run as the API shows it
	// (with logs) once it completed.
	run := func() []byte {
		t.Helper()
		code, raw := call("POST", "/v1/workflows/ai-leak/runs", tok, map[string]any{"inputs": map[string]any{}})
		if code != http.StatusCreated {
			t.Fatalf("start: %d %s", code, raw)
		}
		var started struct{ WorkflowRun struct{ Identifier string } }
		_ = json.Unmarshal(raw, &started)
		id := started.WorkflowRun.Identifier
		deadline := time.Now().Add(time.Minute)
		for {
			_, raw = call("GET", "/v1/workflows/runs/"+id+"?wait=30s&include=logs", tok, nil)
			if bytes.Contains(raw, []byte(`"status":"COMPLETED"`)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s never completed: %s", id, raw)
			}
			time.Sleep(10 * time.Millisecond)
		}
		call("GET", "/v1/workflows/runs/"+id+"/events", tok, nil)
		return raw
	}

	// Run 1: a tool call, then the answer, both echoing every form.
	forms := sortedForms(all)
	args := map[string]any{}
	var text strings.Builder
	for _, f := range forms {
		args[f.label] = f.text
		text.WriteString(f.text + "\n-- " + f.label + "\n")
	}
	// The node logs at most 500 bytes of a tool call's arguments: a third
	// call puts the token across that cut.
	cut := map[string]any{"a": strings.Repeat("x", 500-len(`{"a":"`)-14) + all["TOKEN"]}
	fake.Push(
		aifake.ToolCalls(aifake.Call{Name: "list_blueprints", Args: args}, aifake.Call{Name: all["TOKEN"], Args: args}, aifake.Call{Name: "list_blueprints", Args: cut}),
		aifake.Answer(text.String()),
	)
	runJSON := run()
	var view struct {
		WorkflowRun struct {
			Result    string
			Variables struct {
				Outputs map[string]struct {
					Response string
					Error    struct{ Message string }
				}
			}
			NodeRuns []struct {
				NodeRunLogs []struct{ Log string }
			}
		}
	}
	if err := json.Unmarshal(runJSON, &view); err != nil {
		t.Fatalf("run JSON: %v", err)
	}
	resp := view.WorkflowRun.Variables.Outputs["ask"].Response
	if view.WorkflowRun.Result != "SUCCESS" || strings.Count(resp, "***") < len(forms) {
		t.Fatalf("run = %s, want SUCCESS with the %d echoed forms masked", runJSON, len(forms))
	}
	if !bytes.Contains(runJSON, []byte("tool call 1.call_1: list_blueprints({")) || !bytes.Contains(runJSON, []byte(`tool call 1.call_2: ***(`)) {
		t.Errorf("the tool calls are not logged, or the tool's name is not masked: %s", runJSON)
	}
	// The prompts really went out, whole.
	reqs := fake.Requests()
	var sent strings.Builder
	for _, m := range reqs[0].Body["messages"].([]any) {
		c, _ := m.(map[string]any)["content"].(string)
		sent.WriteString(c + "\n")
	}
	for _, name := range []string{"TOKEN", "SPECIAL", "MULTI", "URLISH"} {
		if !strings.Contains(sent.String(), all[name]) {
			t.Errorf("the model was never sent secret %s: the case proves nothing", name)
		}
	}
	if reqs[0].Auth != "Bearer "+aiKey {
		t.Errorf("the provider's key was not sent: %q", reqs[0].Auth)
	}

	// Then 401s whose messages echo every form, a chunk at a time: the
	// node keeps at most 1000 bytes of a provider's message.
	// chunks are the messages; firsts the label of each one's first form,
	// which the node's error must show (the run got its own chunk).
	var chunks, firsts []string
	var chunk strings.Builder
	for _, f := range forms {
		piece := f.text + " (" + f.label + ") "
		if chunk.Len() > 0 && chunk.Len()+len(piece) > 900 {
			chunks = append(chunks, chunk.String())
			chunk.Reset()
		}
		if chunk.Len() == 0 {
			firsts = append(firsts, f.label)
		}
		chunk.WriteString(piece)
	}
	chunks = append(chunks, chunk.String())
	// And one with the key across the cut at 1000 bytes.
	chunks = append(chunks, strings.Repeat("x", 1000-len("Incorrect API key provided: ")-20)+aiKey)
	firsts = append(firsts, "xxxxxxxx***")
	for i, c := range chunks {
		fake.Push(func(map[string]any) aifake.Reply {
			return aifake.Reply{Status: http.StatusUnauthorized, Body: map[string]any{"error": map[string]any{
				"message": "Incorrect API key provided: " + c, "type": "invalid_request_error", "code": "invalid_api_key"}}}
		})
		raw := run()
		if !bytes.Contains(raw, []byte(`"result":"FAILED"`)) || !bytes.Contains(raw, []byte("answered 401: Incorrect API key provided: ")) || !bytes.Contains(raw, []byte("***")) {
			t.Errorf("run = %.300s..., want a failure quoting the 401 with the echo masked", raw)
		}
		if !bytes.Contains(raw, []byte(jsonInner(firsts[i], true))) {
			t.Errorf("the error of 401 run %d does not show its echo %q: %.300s...", i, firsts[i], raw)
		}
	}
	call("GET", "/v1/workflows/runs?limit=100", tok, nil)
	t.Logf("%d forms of %d secrets echoed; %d runs answered 401", len(forms), len(all), len(chunks))

	// Everything stored or shown.
	hay := []haystack{{"API answers", answers.Bytes()}}
	hay = append(hay, dbFiles(t, dbPath, "before Close")...)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	hay = append(hay, dbFiles(t, dbPath, "after Close")...)
	hay = append(hay, haystack{"slog output", slogBuf.Bytes()})
	f := newFinder()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	}) {
		f.addValue(name, all[name], true)
	}
	for _, h := range hay {
		for _, m := range f.find(h.data) {
			t.Errorf("LEAK in %s: %s", h.name, m)
		}
	}
	// The checker is not blind: it sees the secrets in what the model was
	// sent.
	if len(f.find([]byte(sent.String()))) == 0 {
		t.Errorf("the checker finds no secret in the prompts the model received: it is blind for this case")
	}
}
