package cli

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// apiCall sends method path with the token and a JSON body, and returns the
// status and the decoded answer.
func (s *server) apiCall(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	code, raw := s.send(t, method, path, token, body)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return code, v
}

// TestServeOnPostgres runs a real `sluice serve --database-url` process on
// a PostgreSQL schema of its own: a workflow saved through the API runs
// against a loopback receiver, the run is read back through the API, and
// the command line (through SLUICE_DATABASE_URL and --database-url) sees
// the same store.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	dir := t.TempDir()
	rcv := newReceiver(t)
	srv := startServer(t, "--data-dir", dir, "--database-url", url)
	id, secret := credentials(t, srv.banner)
	token, code := srv.token(t, id, secret)
	if code != http.StatusOK {
		t.Fatalf("token exchange: %d", code)
	}

	def := map[string]any{
		"identifier": "pg-hook",
		"title":      "Call a hook",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{
				"type": "SELF_SERVE_TRIGGER", "permissions": map[string]any{"roles": []any{"Admin"}},
				"userInputs": map[string]any{"properties": map[string]any{"env": map[string]any{"type": "string"}}},
			}},
			map[string]any{"identifier": "call", "config": map[string]any{
				"type": "WEBHOOK", "url": rcv.URL + "/hook", "method": "POST", "synchronized": true,
				"body": map[string]any{"env": "{{ .outputs.trigger.env }}", "run": "{{ .workflowRun.identifier }}"},
			}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	if code, v := srv.apiCall(t, "POST", "/v1/workflows", token, def); code != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d %v", code, v)
	}
	code, v := srv.apiCall(t, "POST", "/v1/workflows/pg-hook/runs", token, map[string]any{"inputs": map[string]any{"env": "prod"}})
	if code != http.StatusCreated {
		t.Fatalf("POST runs: %d %v", code, v)
	}
	runID, _ := v["workflowRun"].(map[string]any)["identifier"].(string)

	var run map[string]any
	for i := 0; ; i++ {
		code, v := srv.apiCall(t, "GET", "/v1/workflows/runs/"+runID, token, nil)
		if code != http.StatusOK {
			t.Fatalf("GET run: %d %v", code, v)
		}
		run, _ = v["workflowRun"].(map[string]any)
		if run["status"] == "COMPLETED" {
			break
		}
		if i == 3000 {
			t.Fatalf("the run never completed: %v\n%s", run, srv.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if run["result"] != "SUCCESS" {
		t.Errorf("run = %v\n%s", run, srv.logs())
	}
	got := rcv.byPath("/hook")
	if len(got) != 1 || got[0].Body["env"] != "prod" || got[0].Body["run"] != runID {
		t.Errorf("the receiver got %+v, want one request with env prod and run %s", got, runID)
	}
	if out := outputs(run); out["call"] == nil {
		t.Errorf("the run read back has no output of node call: %v", run)
	}

	// The command line reaches the same store while serve runs, through
	// the flag and through the environment.
	if r := sluice(t, "", "workflows", "scan", "--data-dir", dir, "--database-url", url); r.code != 0 || !strings.Contains(r.stdout, "1 workflow version") {
		t.Errorf("workflows scan --database-url: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r := sluiceEnv(t, map[string]string{"SLUICE_DATABASE_URL": url}, "", "clients", "list", "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Errorf("clients list with SLUICE_DATABASE_URL: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}

	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Errorf("serve: %v\n%s", err, srv.logs())
	}
}

// TestBadDatabaseURL: a database URL that cannot be parsed is a usage error
// that names the flag and never shows the password; an unreachable server
// fails every command that opens the store.
func TestBadDatabaseURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nobody listens there once closed
	ln.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"serve, unparsable", []string{"serve", "--addr", "127.0.0.1:0", "--database-url", "postgres://ann:hunter2@db:notaport/x"}, ExitInvalid, "--database-url"},
		{"clients list, unparsable", []string{"clients", "list", "--database-url", "postgres://ann:hunter2@db:notaport/x"}, ExitInvalid, "--database-url"},
		{"secrets list, unreachable", []string{"secrets", "list", "--database-url", "postgres://ann:hunter2@" + closed + "/x?sslmode=disable&connect_timeout=5"}, ExitFailed, "store unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append(tc.args, "--data-dir", t.TempDir())...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Errorf("the password shows: %s", r.stderr)
			}
		})
	}
}
