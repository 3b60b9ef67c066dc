package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestClientCommands drives a real `sluice serve` (a child process) with
// the client commands, logged in once with sluice login: table and JSON
// output, the exit codes of sluice run, and the API's refusals (401, 404,
// 409, 422) and a network error each worded clearly.
func TestClientCommands(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	srv := startServer(t, "--data-dir", dataDir(t))
	id, secret := credentials(t, srv.banner)
	cfg := t.TempDir()

	defs := map[string]string{
		"ok": `{"identifier": "ok", "title": "Calls a hook", "nodes": [
			{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"n": {"type": "number"}}}}},
			{"identifier": "hook", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/ok", "body": {"n": "{{ .outputs.trigger.n }}"}}}],
			"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "hook"}]}`,
		"fails": `{"identifier": "fails", "nodes": [
			{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
			{"identifier": "hook", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/fail"}}],
			"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "hook"}]}`,
		"async": `{"identifier": "async", "nodes": [
			{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
			{"identifier": "build", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/build", "synchronized": false}}],
			"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "build"}]}`,
		"invalid": `{"identifier": "invalid", "nodes": [{"identifier": "trigger", "config": {"type": "NOPE"}}], "connections": []}`,
	}
	files := map[string]string{}
	for name, d := range defs {
		files[name] = writeFile(t, name+".json", d)
	}

	// Log in: credentials from the environment, saved with mode 0600,
	// the secret never printed.
	r := sluiceEnv(t, map[string]string{"SLUICE_CONFIG_DIR": cfg, "SLUICE_CLIENT_ID": id, "SLUICE_CLIENT_SECRET": secret}, "", "login", "--server", srv.url)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("login: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	st, err := os.Stat(filepath.Join(cfg, "credentials.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("saved login: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	// A wrong secret, read from stdin: refused as the API words it,
	// and the saved login is kept.
	r = sluiceEnv(t, map[string]string{"SLUICE_CONFIG_DIR": cfg, "SLUICE_CLIENT_ID": id}, "wrong-secret\n", "login", "--server", srv.url)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "401") || strings.Contains(r.stderr, "wrong-secret") {
		t.Errorf("login with a wrong secret: exit %d, stderr %q", r.code, r.stderr)
	}

	env := map[string]string{"SLUICE_CONFIG_DIR": cfg}
	run := func(args ...string) result {
		t.Helper()
		return sluiceEnv(t, env, "", args...)
	}
	mustRun := func(args ...string) result {
		t.Helper()
		r := run(args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
		return r
	}

	r = mustRun("workflows", "apply", "-f", files["ok"], "-f", files["fails"], "-f", files["async"])
	for _, want := range []string{"ok v1 (created)", "fails v1 (created)", "async v1 (created)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply: no %q in\n%s", want, r.stdout)
		}
	}
	if r = mustRun("workflows", "apply", "-f", files["ok"]); !strings.Contains(r.stdout, "ok v2 (updated)") {
		t.Errorf("apply again: %s", r.stdout)
	}
	r = run("workflows", "apply", "-f", files["invalid"])
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "nodes[0].config.type") {
		t.Errorf("apply an invalid definition: exit %d, stderr %q", r.code, r.stderr)
	}

	r = mustRun("workflows", "list")
	if !regexp.MustCompile(`(?m)^IDENTIFIER +VERSION +TITLE`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^ok +2 +Calls a hook +2 `).MatchString(r.stdout) {
		t.Errorf("workflows list:\n%s", r.stdout)
	}
	var wfs []map[string]any
	if err := json.Unmarshal([]byte(mustRun("workflows", "list", "-o", "json").stdout), &wfs); err != nil || len(wfs) != 3 {
		t.Errorf("workflows list -o json: %v, %d workflows", err, len(wfs))
	}
	if v := runJSON(t, mustRun("workflows", "get", "ok")); v["version"] != float64(2) || v["identifier"] != "ok" {
		t.Errorf("workflows get: %v", v)
	}

	// runs start --wait exits as sluice run does.
	r = run("runs", "start", "ok", "--input", "n=7", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "✓ hook") || !strings.Contains(r.stdout, "COMPLETED SUCCESS") {
		t.Errorf("runs start ok --wait: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	okRun := regexp.MustCompile(`run (\S+)  workflow ok v2`).FindStringSubmatch(r.stdout)
	if okRun == nil {
		t.Fatalf("no run header in %s", r.stdout)
	}
	r = run("runs", "start", "fails", "--wait")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "✗ hook") || !strings.Contains(r.stderr, "ended FAILED") {
		t.Errorf("runs start fails --wait: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = run("runs", "start", "ok", "--input", "n=seven")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "inputs.n") {
		t.Errorf("bad input: exit %d, stderr %q", r.code, r.stderr)
	}

	// A node waiting for an outside completion: exit 3 at --timeout, then
	// nodes complete, and runs watch sees it end.
	r = run("runs", "start", "async", "--wait", "--timeout", "2s", "-o", "json")
	if r.code != ExitWaiting || !strings.Contains(r.stderr, "still IN_PROGRESS") {
		t.Fatalf("runs start async --wait: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	asyncRun, _ := runJSON(t, r)["identifier"].(string)
	calls := rcv.byPath("/build")
	if len(calls) != 1 {
		t.Fatalf("build calls: %d", len(calls))
	}
	nodeRun := calls[0].Header.Get("X-Sluice-Node-Run")
	mustRun("nodes", "complete", nodeRun, "--result", "SUCCESS", "--output-json", `{"artifact": "a.tgz"}`)
	r = run("nodes", "complete", nodeRun, "--result", "SUCCESS")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "409") {
		t.Errorf("complete twice: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = run("runs", "watch", asyncRun); r.code != 0 || !strings.Contains(r.stdout, `build: {"artifact":"a.tgz"}`) {
		t.Errorf("runs watch: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	r = mustRun("runs", "list", "--workflow", "ok")
	if !regexp.MustCompile(`(?m)^RUN +WORKFLOW +VERSION +STATUS +RESULT`).MatchString(r.stdout) || !strings.Contains(r.stdout, okRun[1]) || strings.Contains(r.stdout, asyncRun) {
		t.Errorf("runs list --workflow ok:\n%s", r.stdout)
	}
	if v := runJSON(t, mustRun("runs", "list", "--status", "completed", "-o", "json")); v["total"] != float64(3) {
		t.Errorf("runs list --status completed: total %v", v["total"])
	}
	// Paging by --cursor lists every run once, in the order of one list.
	ids := func(v map[string]any) []string {
		var out []string
		for _, x := range v["workflowRuns"].([]any) {
			out = append(out, x.(map[string]any)["identifier"].(string))
		}
		return out
	}
	whole := runJSON(t, mustRun("runs", "list", "-o", "json"))
	if _, ok := whole["next"]; ok {
		t.Errorf("runs list -o json of every run has a next: %v", whole)
	}
	var walked []string
	r = mustRun("runs", "list", "--limit", "2")
	if !strings.Contains(r.stderr, "the next ones: --cursor ") {
		t.Errorf("runs list --limit 2 does not say how to list the next runs:\n%s", r.stderr)
	}
	for args := []string{"runs", "list", "--limit", "2", "-o", "json"}; ; {
		v := runJSON(t, mustRun(args...))
		walked = append(walked, ids(v)...)
		next, ok := v["next"].(string)
		if !ok || len(walked) > 50 {
			break
		}
		args = []string{"runs", "list", "--limit", "2", "-o", "json", "--cursor", next}
	}
	if want := ids(whole); len(want) < 3 || !slices.Equal(walked, want) {
		t.Errorf("runs list --limit 2 --cursor ... listed %v, want %v", walked, want)
	}
	if r = run("runs", "list", "--cursor", "bogus!"); r.code != ExitInvalid || !strings.Contains(r.stderr, "cursor: not a cursor") {
		t.Errorf("runs list --cursor bogus!: exit %d, stderr %s", r.code, r.stderr)
	}
	r = mustRun("runs", "get", okRun[1], "--logs")
	if !regexp.MustCompile(`(?m)^hook +\S+ +COMPLETED +SUCCESS`).MatchString(r.stdout) {
		t.Errorf("runs get:\n%s", r.stdout)
	}
	if v := runJSON(t, mustRun("runs", "get", okRun[1], "-o", "json")); v["status"] != "COMPLETED" {
		t.Errorf("runs get -o json: %v", v)
	}
	if r = run("runs", "cancel", okRun[1]); r.code != ExitFailed || !strings.Contains(r.stderr, "already COMPLETED") {
		t.Errorf("cancel a completed run: exit %d, stderr %q", r.code, r.stderr)
	}

	mustRun("workflows", "delete", "fails")
	if r = run("workflows", "get", "fails"); r.code != ExitFailed || !strings.Contains(r.stderr, "not found (404 not_found)") {
		t.Errorf("get a deleted workflow: exit %d, stderr %q", r.code, r.stderr)
	}

	// Refusals and failures, each worded clearly.
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"a bad token", env, []string{"workflows", "list", "--token", "bogus"}, ExitFailed, "(401 unauthorized)"},
		{"a bad token from the environment", map[string]string{"SLUICE_SERVER": srv.url, "SLUICE_TOKEN": "bogus"}, []string{"runs", "list"}, ExitFailed, "sluice login"},
		{"no server", map[string]string{}, []string{"runs", "list"}, ExitInvalid, "--server: required"},
		{"saved credentials stay with their server", env, []string{"workflows", "list", "--server", "http://127.0.0.1:1"}, ExitInvalid, "no credentials for http://127.0.0.1:1"},
		{"a server that is down", map[string]string{"SLUICE_URL": "http://127.0.0.1:1", "SLUICE_TOKEN": "t"}, []string{"workflows", "list"}, ExitFailed, "cannot reach the sluice server at http://127.0.0.1:1"},
		{"not a URL", map[string]string{"SLUICE_TOKEN": "t"}, []string{"workflows", "list", "--server", "localhost:7070"}, ExitInvalid, "--server: must be an http or https URL"},
		{"a bad limit", env, []string{"runs", "list", "--limit", "0"}, ExitInvalid, "--limit"},
		{"a bad output", env, []string{"runs", "list", "-o", "yaml"}, ExitInvalid, "--output"},
		{"a bad result", env, []string{"nodes", "complete", "x", "--result", "MAYBE"}, ExitInvalid, "--result"},
		{"an unknown run", env, []string{"runs", "get", "wfr_nope"}, ExitFailed, "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
}

// The help shows which commands work on a data dir and which are clients.
func TestHelpGroupsLocalAndClientCommands(t *testing.T) {
	t.Parallel()
	r := sluice(t, "", "--help")
	local := strings.Index(r.stdout, "Local commands")
	clients := strings.Index(r.stdout, "Clients of a running server")
	if r.code != 0 || local < 0 || clients < 0 {
		t.Fatalf("help:\n%s", r.stdout)
	}
	section := func(start int) string {
		end := strings.Index(r.stdout[start+1:], "\n\n")
		return r.stdout[start : start+1+end]
	}
	if s := section(local); !strings.Contains(s, "serve") || strings.Contains(s, "login") {
		t.Errorf("local section:\n%s", s)
	}
	if s := section(clients); !strings.Contains(s, "login") || !strings.Contains(s, "runs") || strings.Contains(s, "serve ") {
		t.Errorf("client section:\n%s", s)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := sluice(t, "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "sluice ") || regexp.MustCompile(`^sluice dev\b`).MatchString(r.stdout) || !strings.Contains(r.stdout, "go1.") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stdout)
		}
	}
}
