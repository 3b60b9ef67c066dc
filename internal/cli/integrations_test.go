package cli

import (
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/node/integration/fakes"
)

func TestIntegrationsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		out  string // expected in stdout, or stderr when code is not 0
	}{
		{[]string{"integrations", "add", "gh", "--provider", "github-ocean", "--base-url", "https://ghe.example.com/api/v3", "--token-secret", "GH_TOKEN"}, 0, "installation gh added"},
		{[]string{"integrations", "add", "agents", "--provider", "ai-agents"}, 0, "installation agents added"},
		{[]string{"integrations", "add", "gh", "--provider", "gitlab"}, ExitInvalid, "already exists"},
		{[]string{"integrations", "add", "bad id", "--provider", "gitlab"}, ExitInvalid, "ID:"},
		{[]string{"integrations", "add", "gl", "--provider", "gitlab", "--base-url", "https://u:p@gitlab.example.com"}, ExitInvalid, "--base-url:"},
		{[]string{"integrations", "add", "gl", "--provider", "gitlab", "--token-secret", "no such name!"}, ExitInvalid, "--token-secret:"},
		{[]string{"integrations", "add", "gl"}, ExitInvalid, "provider"},
		{[]string{"integrations", "list"}, 0, "GH_TOKEN"},
		{[]string{"integrations", "delete", "agents"}, 0, "installation agents deleted"},
		{[]string{"integrations", "delete", "agents"}, ExitInvalid, "does not exist"},
	}
	for _, tc := range tests {
		r := sluice(t, "", append([]string{"--data-dir", dir}, tc.args...)...)
		got := r.stdout
		if tc.code != 0 {
			got = r.stderr
		}
		if r.code != tc.code || !strings.Contains(got, tc.out) {
			t.Errorf("sluice %s: exit %d, %q / %q; want exit %d with %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.code, tc.out)
		}
	}
	list := sluice(t, "", "--data-dir", dir, "integrations", "list")
	if strings.Contains(list.stdout, "agents") || !strings.Contains(list.stdout, "https://ghe.example.com/api/v3") {
		t.Errorf("list after delete = %q", list.stdout)
	}
}

func TestRunPollsGitHubInProcess(t *testing.T) {
	t.Parallel()
	const token = "ghp_CliTokenValue1234567890"
	g := fakes.NewGitHub(token)
	defer g.Server.Close()
	g.AddRepo("acme/api", "main", "deploy.yml")
	dir := dataDir(t)
	if r := sluice(t, "", "--data-dir", dir, "integrations", "add", "gh", "--provider", "github-ocean", "--base-url", g.URL(), "--token-secret", "GH_TOKEN"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if r := sluice(t, "", "--data-dir", dir, "integrations", "add", "agents", "--provider", "ai-agents"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	secrets := writeFile(t, "secrets.env", "GH_TOKEN="+token+"\n")
	wf := writeFile(t, "ci.json", `{"identifier": "ci", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "deploy", "config": {"type": "INTEGRATION_ACTION", "installationId": "gh", "integrationProvider": "github-ocean",
			"integrationInvocationType": "dispatch_workflow", "reportWorkflowStatus": true,
			"integrationActionExecutionProperties": {"org": "acme", "repo": "api", "workflow": "deploy.yml", "workflowInputs": {"env": "prod"}}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "deploy"}]}`)
	r := sluice(t, "", "--data-dir", dir, "run", "-f", wf, "--secret-file", secrets, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"workflowStatus": "success"`) || strings.Contains(r.stdout+r.stderr, token) {
		t.Fatalf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// A node handed to an external integration waits on an outside
	// completion: exit 3.
	ext := writeFile(t, "agent.json", `{"identifier": "agent", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "agent", "config": {"type": "INTEGRATION_ACTION", "installationId": "agents", "integrationProvider": "ai-agents",
			"integrationInvocationType": "run_agent", "integrationActionExecutionProperties": {"prompt": "hello"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "agent"}]}`)
	if r := sluice(t, "", "--data-dir", dir, "run", "-f", ext); r.code != ExitWaiting {
		t.Fatalf("run external: exit %d, want %d\n%s\n%s", r.code, ExitWaiting, r.stdout, r.stderr)
	}
}
