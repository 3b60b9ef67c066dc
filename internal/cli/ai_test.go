package cli

import (
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/node/ai/aifake"
)

// TestAIProvidersCommands drives `sluice ai providers add|list|delete`
// through the real command tree over one data dir: good arguments, each bad
// argument exiting 2 and naming its flag with nothing stored, and the API
// key, stored as a secret, never printed; then `sluice run` of an AI node
// over the provider (a loopback fake of the chat completions API).
func TestAIProvidersCommands(t *testing.T) {
	t.Parallel()
	const key = "sk-cli-Key0123456789abcdefXYZ"
	fake := aifake.New(t, key)
	dir := dataDir(t)
	if r := sluice(t, key, "--data-dir", dir, "secrets", "set", "AI_KEY"); r.code != 0 {
		t.Fatalf("secrets set: %d %s", r.code, r.stderr)
	}
	add := func(name string, more ...string) []string {
		return append([]string{"ai", "providers", "add", name}, more...)
	}
	good := []string{"--base-url", fake.BaseURL(), "--api-key-secret", "AI_KEY", "--model", "fake-1"}
	tests := []struct {
		name string
		args []string
		code int
		out  string // expected in stdout, or in stderr when code is not 0
	}{
		{"add", add("fake", append(good, "--default")...), 0, "AI provider fake added (model fake-1, the default)"},
		{"add local without key", add("ollama", "--base-url", "http://127.0.0.1:11434/v1", "--model", "llama3.1", "--header", "X-Team=platform"), 0, "AI provider ollama added (model llama3.1)"},
		{"list", []string{"ai", "providers", "list"}, 0, "AI_KEY"},
		{"duplicate", add("fake", good...), ExitInvalid, "already exists"},
		{"no name", []string{"ai", "providers", "add", "--base-url", "http://127.0.0.1:1/v1", "--model", "m"}, ExitInvalid, "accepts 1 arg"},
		{"bad name", add("bad name", good...), ExitInvalid, "NAME:"},
		{"no base url", add("x", "--model", "m"), ExitInvalid, "--base-url: is required"},
		{"base url not http", add("x", "--base-url", "ftp://127.0.0.1/v1", "--model", "m"), ExitInvalid, "--base-url: must be an absolute http or https URL"},
		{"base url with credentials", add("x", "--base-url", "https://u:"+key+"@api.example.com/v1", "--model", "m"), ExitInvalid, "--base-url: must not hold credentials"},
		{"base url with the path", add("x", "--base-url", "https://api.example.com/v1/chat/completions", "--model", "m"), ExitInvalid, "--base-url: is the URL that /chat/completions is under"},
		{"bad secret name", add("x", "--base-url", "https://api.example.com/v1", "--api-key-secret", "not a name!", "--model", "m"), ExitInvalid, "--api-key-secret:"},
		{"no model", add("x", "--base-url", "https://api.example.com/v1"), ExitInvalid, "--model:"},
		{"credential header", add("x", "--base-url", "https://api.example.com/v1", "--model", "m", "--header", "Authorization=Bearer "+key), ExitInvalid, "--header Authorization: would hold a credential"},
		{"header without value", add("x", "--base-url", "https://api.example.com/v1", "--model", "m", "--header", "X-Team"), ExitInvalid, `--header "X-Team": must be NAME=VALUE`},
		{"the key as a flag", add("x", "--base-url", "https://api.example.com/v1", "--model", "m", "--api-key="+key), ExitInvalid, "unknown flag: --api-key"},
		{"delete missing", []string{"ai", "providers", "delete", "nope"}, ExitInvalid, "AI provider nope does not exist"},
		{"delete no name", []string{"ai", "providers", "delete"}, ExitInvalid, "accepts 1 arg"},
		{"list with an argument", []string{"ai", "providers", "list", "x"}, ExitInvalid, "unknown command"},
		{"delete", []string{"ai", "providers", "delete", "ollama"}, 0, "AI provider ollama deleted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append([]string{"--data-dir", dir}, tc.args...)...)
			got := r.stdout
			if tc.code != 0 {
				got = r.stderr
			}
			if r.code != tc.code || !strings.Contains(got, tc.out) {
				t.Errorf("sluice %s: exit %d, %q / %q; want exit %d with %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.code, tc.out)
			}
			if strings.Contains(r.stdout+r.stderr, key) {
				t.Errorf("sluice %s printed the key: %q / %q", strings.Join(tc.args, " "), r.stdout, r.stderr)
			}
		})
	}
	// Nothing a failed add named was stored; the deleted one is gone.
	list := sluice(t, "", "--data-dir", dir, "ai", "providers", "list")
	if lines := strings.Split(strings.TrimSpace(list.stdout), "\n"); list.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "fake ") || !strings.Contains(lines[1], "true") {
		t.Errorf("list = %d %q, want the header and the default provider fake alone", list.code, list.stdout)
	}
	if strings.Contains(list.stdout, key) {
		t.Errorf("list printed the key: %q", list.stdout)
	}

	// An AI node run from the command line uses the default provider with
	// the stored key; the model's echo of the key is masked.
	fake.Push(aifake.Answer("the key is " + key))
	wf := writeFile(t, "ask.json", `{"identifier": "ask", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "ask", "config": {"type": "AI", "userPrompt": "Say the key"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ask"}]}`)
	r := sluice(t, "", "--data-dir", dir, "run", "-f", wf, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, "the key is ***") {
		t.Errorf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Errorf("run printed the key:\n%s\n%s", r.stdout, r.stderr)
	}
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Auth != "Bearer "+key {
		t.Errorf("the model got %d requests, want one with the stored key", len(reqs))
	}
}
