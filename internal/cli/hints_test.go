package cli

import (
	"net"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/view"
)

// What a new user hit on a first try, each error naming the flag or field
// at fault and the way out.
func TestFirstRunHints(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	down := map[string]string{"SLUICE_SERVER": "http://127.0.0.1:1", "SLUICE_TOKEN": "t"}
	noJSON := writeFile(t, "cut.json", `{"identifier": "x", "nodes": [`)
	badChar := writeFile(t, "bad.json", "{\"identifier\": \"x\",\n  \"nodes\": [}\n")
	noID := writeFile(t, "noid.json", `{"title": "x", "nodes": []}`)
	array := writeFile(t, "array.json", `[{"identifier": "x"}]`)
	numID := writeFile(t, "num.json", `{"identifier": 7}`)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"serve on a port already taken", nil, []string{"serve", "--addr", busy.Addr().String(), "--data-dir", t.TempDir()}, ExitInvalid,
			[]string{"--addr: ", "address already in use", "another process listens on " + busy.Addr().String(), "choose a free address with --addr"}},
		{"login without a client id", nil, []string{"login", "--server", "http://127.0.0.1:1"}, ExitInvalid,
			[]string{"--client-id: required", "sluice serve printed on its first start", "sluice clients create"}},
		{"a server that is not running", down, []string{"runs", "list"}, ExitFailed,
			[]string{"cannot reach the sluice server at http://127.0.0.1:1", "is sluice serve running there?", "--server or SLUICE_SERVER"}},
		{"apply a file cut short", down, []string{"workflows", "apply", "-f", noJSON}, ExitInvalid,
			[]string{noJSON + ": malformed JSON at line 1, column 31", "the file ends before the definition does", "sluice validate -f " + noJSON}},
		{"apply a file with a stray bracket", down, []string{"workflows", "apply", "-f", badChar}, ExitInvalid,
			[]string{badChar + ": malformed JSON at line 2, column 13", "invalid character '}'"}},
		{"apply a file without an identifier", down, []string{"workflows", "apply", "-f", noID}, ExitInvalid,
			[]string{noID + ": identifier: required field is missing"}},
		{"apply an array", down, []string{"workflows", "apply", "-f", array}, ExitInvalid,
			[]string{array + ": not a workflow definition: a JSON object is required, got a JSON array"}},
		{"apply a number as identifier", down, []string{"workflows", "apply", "-f", numID}, ExitInvalid,
			[]string{numID + ": identifier: must be a string, got a JSON number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			// None of these got as far as a request: nothing is applied,
			// and the malformed files' text is not echoed back.
			if strings.Contains(r.stderr, `"nodes"`) {
				t.Errorf("stderr quotes the file: %q", r.stderr)
			}
		})
	}
}

// A user created twice is refused naming --email and the commands that
// manage the one that exists, not with the store's constraint error.
func TestUsersCreateTwice(t *testing.T) {
	dir := t.TempDir()
	if r := sluice(t, "", "users", "create", "--email", "ann@example.com", "--role", "Member", "--data-dir", dir); r.code != 0 {
		t.Fatalf("users create: exit %d: %s", r.code, r.stderr)
	}
	for _, email := range []string{"ann@example.com", " ANN@example.com"} {
		r := sluice(t, "", "users", "create", "--email", email, "--role", "Admin", "--data-dir", dir)
		for _, w := range []string{"--email: user ann@example.com already exists", "sluice users set-password ann@example.com", "sluice users delete ann@example.com"} {
			if r.code != ExitInvalid || !strings.Contains(r.stderr, w) {
				t.Errorf("create %q again: exit %d, stderr %q; want %d and %q", email, r.code, r.stderr, ExitInvalid, w)
			}
		}
		if strings.Contains(r.stderr, "constraint") || strings.Contains(r.stdout, "clientSecret") {
			t.Errorf("create %q again: stdout %q, stderr %q", email, r.stdout, r.stderr)
		}
	}
	r := sluice(t, "", "users", "list", "--data-dir", dir)
	if n := strings.Count(r.stdout, "@example.com"); n != 1 {
		t.Errorf("users list after the refusals has %d users:\n%s", n, r.stdout)
	}
}

// Naming a secret that does not exist yet adds the installation or the
// provider (the secret may come later) and warns, naming the flag and the
// command that defines it; a defined secret gets no warning.
func TestWarnsOfUndefinedSecretNamed(t *testing.T) {
	dir := t.TempDir()
	if r := sluice(t, "s3cr3t-token-value", "secrets", "set", "DEFINED", "--data-dir", dir); r.code != 0 {
		t.Fatalf("secrets set: exit %d: %s", r.code, r.stderr)
	}
	tests := []struct {
		name string
		args []string
		warn string // "" for none
	}{
		{"installation, undefined", []string{"integrations", "add", "gh", "--provider", "github-ocean", "--token-secret", "GITHUB_TOKEN"},
			"warning: --token-secret: secret GITHUB_TOKEN is not defined yet; the INTEGRATION_ACTION nodes of installation gh fail until it is (sluice secrets set GITHUB_TOKEN"},
		{"installation, defined", []string{"integrations", "add", "gl", "--provider", "gitlab", "--token-secret", "DEFINED"}, ""},
		{"installation without a token", []string{"integrations", "add", "agents", "--provider", "ai-agents"}, ""},
		{"AI provider, undefined", []string{"ai", "providers", "add", "openai", "--base-url", "https://api.openai.com/v1", "--api-key-secret", "OPENAI_API_KEY", "--model", "m"},
			"warning: --api-key-secret: secret OPENAI_API_KEY is not defined yet; the AI nodes of provider openai fail until it is (sluice secrets set OPENAI_API_KEY"},
		{"AI provider, defined", []string{"ai", "providers", "add", "p2", "--base-url", "http://127.0.0.1:1/v1", "--api-key-secret", "DEFINED", "--model", "m"}, ""},
		{"AI provider without a key", []string{"ai", "providers", "add", "local", "--base-url", "http://127.0.0.1:1/v1", "--model", "m"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append(tc.args, "--data-dir", dir)...)
			if r.code != 0 || !strings.Contains(r.stdout, "added") {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if tc.warn == "" && strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, tc.warn) {
				t.Errorf("stderr %q, want %q", r.stderr, tc.warn)
			}
		})
	}
}

// FuzzDefinitionIdentifier: any bytes give an identifier or an error, and
// a malformed file's position lies within it.
func FuzzDefinitionIdentifier(f *testing.F) {
	for _, s := range []string{`{"identifier": "x"}`, `{"identifier": "x", "nodes": [`, "{\n}", `[]`, `{"identifier": 1}`, "", "\n\n{", `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := definitionIdentifier("f.json", data)
		if err == nil && id == "" {
			t.Fatalf("%q: no error and no identifier", data)
		}
		line, col := lineCol(data, int64(len(data)))
		if line < 1 || col < 1 || line > len(data)+1 || col > len(data)+1 {
			t.Fatalf("%q: end at line %d, column %d", data, line, col)
		}
	})
}

// A follow that stops at an INPUT node says how to answer it; other nodes
// are only named.
func TestInProgressNote(t *testing.T) {
	input, webhook := "INPUT", "WEBHOOK"
	tests := []struct {
		name string
		nr   view.NodeRun
		want string
	}{
		{"an approval", view.NodeRun{Identifier: "wfnr_a", Node: view.NodeRef{Identifier: "approval"}, NodeConfigType: &input},
			" (node approval, node run wfnr_a, waits for a response: sluice runs respond wfnr_a --button BUTTON, by one of its responders)"},
		{"a webhook", view.NodeRun{Identifier: "wfnr_w", Node: view.NodeRef{Identifier: "ping"}, NodeConfigType: &webhook},
			" (node ping, node run wfnr_w, is in progress)"},
		{"no type", view.NodeRun{Identifier: "wfnr_x", Node: view.NodeRef{Identifier: "x"}}, " (node x, node run wfnr_x, is in progress)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := inProgressNote(tc.nr); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Deleting a secret that does not exist names the command that lists them
// and deletes nothing.
func TestSecretsDeleteMissing(t *testing.T) {
	dir := t.TempDir()
	if r := sluice(t, "s3cr3t-value", "secrets", "set", "MY_TOKEN", "--data-dir", dir); r.code != 0 {
		t.Fatalf("secrets set: exit %d: %s", r.code, r.stderr)
	}
	r := sluice(t, "", "secrets", "delete", "my_token", "--data-dir", dir)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "my_token") || !strings.Contains(r.stderr, "sluice secrets list shows them") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r := sluice(t, "", "secrets", "list", "--data-dir", dir); !strings.Contains(r.stdout, "MY_TOKEN") {
		t.Errorf("MY_TOKEN is gone: %s", r.stdout)
	}
}
