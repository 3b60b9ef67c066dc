package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/credscan"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// pastedDef is a valid workflow whose WEBHOOK sends header X-Pasted with
// the given literal text.
func pastedDef(t *testing.T, id, text string) string {
	t.Helper()
	def := map[string]any{
		"identifier": id, "title": "Pasted",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "userInputs": map[string]any{}}},
			map[string]any{"identifier": "call", "config": map[string]any{
				"type": "WEBHOOK", "url": "http://127.0.0.1:1/hook",
				"headers": map[string]any{"X-Pasted": text},
			}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidateLiteralCredentials(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	const value = "stored-secret-value-42"
	if r := sluice(t, value+"\n", "secrets", "set", "DEPLOY", "--data-dir", dir); r.code != 0 {
		t.Fatalf("secrets set: %d %s", r.code, r.stderr)
	}
	random := strings.Repeat("Qw3Er5Ty7U", 3)
	token := "gh" + "o_" + random + credscan.GitHubChecksum(random)
	tests := []struct {
		name     string
		text     string
		dataDir  bool
		wantCode int
		want     string
	}{
		{"clean", "Bearer {{ .secrets.DEPLOY }}", true, 0, "is valid"},
		{"github token, formats only", "token " + token, false, ExitInvalid, "GitHub token"},
		{"org secret without --data-dir", "Bearer " + value, false, 0, "is valid"},
		{"org secret with --data-dir", "Bearer " + value, true, ExitInvalid, "organization secret DEPLOY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "wf.json", pastedDef(t, "wf", tt.text))
			args := []string{"validate", "-f", file}
			if tt.dataDir {
				args = append(args, "--data-dir", dir)
			}
			r := sluice(t, "", args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("exit %d, want %d; output:\n%s%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, value) || strings.Contains(r.stdout+r.stderr, token) {
				t.Fatalf("the output quotes the credential:\n%s%s", r.stdout, r.stderr)
			}
			if tt.wantCode != 0 && !strings.Contains(r.stderr, `nodes[1].config.headers["X-Pasted"]`) {
				t.Fatalf("no JSON path in:\n%s", r.stderr)
			}
		})
	}
}

func TestWorkflowsScan(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	const value = "stored-secret-value-42"
	if r := sluice(t, value+"\n", "secrets", "set", "DEPLOY", "--data-dir", dir); r.code != 0 {
		t.Fatalf("secrets set: %d %s", r.code, r.stderr)
	}
	if r := sluice(t, "", "workflows", "scan", "--data-dir", dir); r.code != 0 || !strings.Contains(r.stdout, "no literal credential in 0") {
		t.Fatalf("empty store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st, err := sqlitetest.Open(t.Context(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 is clean, version 2 holds the secret's value (saved before
	// the check existed, or under warn); another workflow is clean.
	for _, w := range []store.Workflow{
		{Identifier: "leaky", Definition: []byte(pastedDef(t, "leaky", "Bearer {{ .secrets.DEPLOY }}"))},
		{Identifier: "clean", Definition: []byte(pastedDef(t, "clean", "plain"))},
	} {
		if _, err := st.CreateWorkflow(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateWorkflow(t.Context(), store.Workflow{Identifier: "leaky", Definition: []byte(pastedDef(t, "leaky", "Bearer "+value))}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r := sluice(t, "", "workflows", "scan", "--data-dir", dir)
	want := `leaky v2 nodes[1].config.headers["X-Pasted"]: holds the value of organization secret DEPLOY`
	if r.code != ExitFailed || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "v1") || strings.Contains(r.stdout, "clean") {
		t.Fatalf("scan: exit %d\n%s%s\nwant one line: %s", r.code, r.stdout, r.stderr, want)
	}
	if strings.Contains(r.stdout+r.stderr, value) {
		t.Fatalf("scan output quotes the value")
	}
}

func TestServeLiteralCredentialsFlag(t *testing.T) {
	t.Parallel()
	r := sluice(t, "", "serve", "--literal-credentials", "maybe", "--data-dir", t.TempDir())
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "--literal-credentials") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
