package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// consume runs `sluice kafka consume args...` in-process with the client
// secret in its environment, and fails the test when it has not returned
// within a minute.
func consume(t *testing.T, clientSecret string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	env := map[string]string{"SLUICE_CLIENT_SECRET": clientSecret}
	code := Main(ctx, append([]string{"kafka", "consume"}, args...), IO{Stdin: nil, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	if ctx.Err() != nil {
		t.Fatalf("kafka consume %v did not return within a minute\nstdout: %s\nstderr: %s", args, out.String(), errb.String())
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// call sends a JSON request with the token and decodes the answer into v.
func (s *server) call(t *testing.T, method, path, token string, body, v any) int {
	t.Helper()
	code, raw := s.send(t, method, path, token, body)
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: decode the answer: %v", method, path, err)
		}
	}
	return code
}

// The reference consumer against a real server: `serve --dev-kafka` runs a
// KAFKA node, `kafka consume --complete` (a machine client with update:runs
// only) reads the message, prints it with its payload masked, and completes
// the node run with --output-json, so the run goes on to SUCCESS and the
// next node sees that output.
func TestKafkaConsumeCompletesNodeRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	srv := startServer(t, "--data-dir", dir, "--dev-kafka", "--dev-kafka-port", port)
	adminID, adminSecret := credentials(t, srv.banner)
	admin, code := srv.token(t, adminID, adminSecret)
	if code != http.StatusOK {
		t.Fatalf("admin token: %d", code)
	}
	create := sluice(t, "", "clients", "create", "--name", "consumer", "--scope", "update:runs", "--data-dir", dir)
	consumerID, consumerSecret := credentials(t, create.stdout)

	def := map[string]any{
		"identifier": "publish", "title": "Publish",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER",
				"userInputs": map[string]any{"properties": map[string]any{"who": map[string]any{"type": "string"}}}}},
			map[string]any{"identifier": "announce", "config": map[string]any{"type": "KAFKA",
				"payload": map[string]any{"who": "{{ .outputs.trigger.who }}", "note": "sensitive-looking-text"}}},
			map[string]any{"identifier": "after", "config": map[string]any{"type": "CONDITION",
				"outlets": []any{map[string]any{"identifier": "done", "title": "done", "expression": ".outputs.announce.done == true"}}}},
		},
		"connections": []any{
			map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "announce"},
			map[string]any{"sourceIdentifier": "announce", "targetIdentifier": "after"},
		},
	}
	if got := srv.call(t, "POST", "/v1/workflows", admin, def, nil); got != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d", got)
	}
	var started struct {
		WorkflowRun struct {
			Identifier string `json:"identifier"`
		} `json:"workflowRun"`
	}
	if got := srv.call(t, "POST", "/v1/workflows/publish/runs", admin, map[string]any{"inputs": map[string]any{"who": "ann"}}, &started); got != http.StatusCreated {
		t.Fatalf("start the run: %d", got)
	}
	runID := started.WorkflowRun.Identifier

	r := consume(t, consumerSecret, "--kafka-brokers", "127.0.0.1:"+port, "--complete", "--output-json", `{"done": true}`,
		"--max-messages", "1", "--url", srv.url, "--client-id", consumerID)
	if r.code != 0 {
		t.Fatalf("kafka consume: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "run "+runID+" node announce") {
		t.Errorf("consume printed no line for run %s's node announce:\n%s", runID, r.stdout)
	}
	if strings.Contains(r.stdout, "sensitive-looking-text") || strings.Contains(r.stdout, `"ann"`) {
		t.Errorf("consume printed the payload's values without --show-payload:\n%s", r.stdout)
	}

	var got struct {
		WorkflowRun struct {
			Status   string `json:"status"`
			Result   string `json:"result"`
			NodeRuns []struct {
				Node struct {
					Identifier string `json:"identifier"`
				} `json:"node"`
				Output map[string]any `json:"output"`
			} `json:"nodeRuns"`
		} `json:"workflowRun"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c := srv.call(t, "GET", "/v1/workflows/runs/"+runID, admin, nil, &got); c != http.StatusOK {
			t.Fatalf("GET the run: %d", c)
		}
		if got.WorkflowRun.Status == "COMPLETED" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.WorkflowRun.Status != "COMPLETED" || got.WorkflowRun.Result != "SUCCESS" {
		t.Fatalf("run %s is %s/%s, want COMPLETED/SUCCESS\n%s", runID, got.WorkflowRun.Status, got.WorkflowRun.Result, srv.logs())
	}
	var outputs []string
	for _, nr := range got.WorkflowRun.NodeRuns {
		b, _ := json.Marshal(nr.Output)
		outputs = append(outputs, nr.Node.Identifier+"="+string(b))
	}
	want := []string{`trigger={"who":"ann"}`, `announce={"done":true}`, `after={"selectedOutlet":{"identifier":"done"}}`}
	if strings.Join(outputs, " ") != strings.Join(want, " ") {
		t.Errorf("node outputs = %v, want %v", outputs, want)
	}

	// A second consumer sees the same message again (no group): the node run
	// is done, so it says so and exits 0 instead of completing it twice.
	r = consume(t, consumerSecret, "--kafka-brokers", "127.0.0.1:"+port, "--complete",
		"--max-messages", "1", "--url", srv.url, "--client-id", consumerID)
	if r.code != 0 || !strings.Contains(r.stdout, "no longer in progress") {
		t.Errorf("a redelivered message: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// kafka consume refuses to start without what it needs, naming the flag.
func TestKafkaConsumeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no brokers", nil, []string{"kafka", "consume"}, "--kafka-brokers"},
		{"complete with a bad url", map[string]string{"SLUICE_CLIENT_SECRET": "s"}, []string{"kafka", "consume", "--kafka-brokers", "127.0.0.1:1", "--complete", "--client-id", "cl_x", "--url", "ftp://x"}, "--url"},
		{"complete without a client secret", nil, []string{"kafka", "consume", "--kafka-brokers", "127.0.0.1:1", "--complete", "--url", "http://127.0.0.1:1", "--client-id", "cl_x"}, "SLUICE_CLIENT_SECRET"},
		{"output without complete", nil, []string{"kafka", "consume", "--kafka-brokers", "127.0.0.1:1", "--output-json", "{}"}, "--complete"},
		{"output not JSON", nil, []string{"kafka", "consume", "--kafka-brokers", "127.0.0.1:1", "--complete", "--url", "http://127.0.0.1:1", "--client-id", "cl_x", "--output-json", "{nope"}, "--output-json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %s", r.code, r.stderr, tc.want)
			}
		})
	}
}
