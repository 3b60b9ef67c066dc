package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node/webhook"
)

// binDir holds the sluice binary the end-to-end tests build, once per test
// binary.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-api-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sluiceBinary builds cmd/sluice once and returns its path.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "sluice")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/sluice-run/sluice/cmd/sluice").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// signedReceiver checks X-Sluice-Signature on every request and hands the
// async webhook's request to the test.
type signedReceiver struct {
	*httptest.Server
	got chan *http.Request
}

func newSignedReceiver(t *testing.T, key []byte) *signedReceiver {
	r := &signedReceiver{got: make(chan *http.Request, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := webhook.Verify(key, req.Header, body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.got <- req
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		// Echo the bearer token back: the stored output must mask it.
		_ = json.NewEncoder(w).Encode(map[string]any{"queued": true, "auth": req.Header.Get("Authorization")})
	}))
	t.Cleanup(r.Close)
	return r
}

// TestServeEndToEnd runs `sluice serve` as a process: create a workflow
// through the API, trigger it, receive the signed webhook with the secret
// in its header, complete the async node with PATCH, read the run back, find
// the secret in no answer, then SIGTERM the process and see it exit 0.
// served is a `sluice serve` process started by startServe.
type served struct {
	base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan error
	stderr *syncBuffer
	stdout *syncBuffer
}

// syncBuffer is a strings.Builder that the process's output copier and the
// test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(p string) (int, error) { return s.Write([]byte(p)) }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe starts `sluice serve` on a free loopback port over dataDir,
// with env added to the environment, and waits until it listens and
// /readyz answers 200. The process is killed when the test ends.
func startServe(t *testing.T, bin, dataDir string, env ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--shutdown-grace", "5s")
	cmd.Env = append(append(os.Environ(), "SLUICE_MASTER_KEY="), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, exited: make(chan error, 1), stderr: &syncBuffer{}, stdout: &syncBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.stdout.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, "sluice listening on "); ok {
				addr <- a
			}
		}
		s.exited <- cmd.Wait()
	}()
	select {
	case s.base = <-addr:
	case err := <-s.exited:
		t.Fatalf("sluice serve exited before listening: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sluice serve did not listen\n%s", s.stderr.String())
	}
	c := &client{t: t, base: s.base, http: &http.Client{Timeout: 30 * time.Second}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if a := c.do("GET", "/readyz", "", nil); a.status == http.StatusOK {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never answered 200")
		}
	}
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := sluiceBinary(t)
	signingKey := []byte("e2e-signing-key-0123456789")
	rcv := newSignedReceiver(t, signingKey)
	const clientID, clientSecret = "cl_e2eadmin", "e2e-admin-secret-0123456789abcdefghij"

	srv := startServe(t, bin, t.TempDir(),
		"SLUICE_ADMIN_CLIENT_ID="+clientID,
		"SLUICE_ADMIN_CLIENT_SECRET="+clientSecret,
		"SLUICE_WEBHOOK_SIGNING_KEY="+string(signingKey),
	)
	base, cmd, exited, stderr, out := srv.base, srv.cmd, srv.exited, srv.stderr, srv.stdout

	c := &client{t: t, base: base, http: &http.Client{Transport: newValidator(t), Timeout: 30 * time.Second}}
	var answers []string
	call := func(method, path, token string, body any, status int) answer {
		t.Helper()
		a := c.do(method, path, token, body).expect(t, status)
		answers = append(answers, a.raw)
		return a
	}
	token := call("POST", "/v1/auth/access_token", "", map[string]any{"clientId": clientID, "clientSecret": clientSecret}, 200).body["accessToken"].(string)
	call("POST", "/v1/organization/secrets", token, map[string]any{"secretName": "API_TOKEN", "secretValue": secretValue}, 201)
	def := workflowDef("e2e", true, rcv.URL+"/async", nil, nil)
	def["nodes"].([]any)[1].(map[string]any)["variables"] = map[string]any{"echo": "{{ .result.echoed }}", "status": "{{ .result.status }}"}
	call("POST", "/v1/workflows", token, def, 201)
	runID := call("POST", "/v1/workflows/e2e/runs", token, map[string]any{"inputs": map[string]any{"env": "prod"}}, 201).obj("workflowRun")["identifier"].(string)

	var req *http.Request
	select {
	case req = <-rcv.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver never got the webhook")
	}
	if req.Header.Get("Authorization") != "Bearer "+secretValue {
		t.Errorf("the webhook's Authorization header is %q", req.Header.Get("Authorization"))
	}
	if req.Header.Get("X-Sluice-Workflow-Run") != runID {
		t.Errorf("X-Sluice-Workflow-Run = %q, want %s", req.Header.Get("X-Sluice-Workflow-Run"), runID)
	}
	nodeRun := req.Header.Get("X-Sluice-Node-Run")
	// The outside system answers with the secret in its output: it is masked.
	done := call("PATCH", "/v1/workflows/nodes/runs/"+nodeRun, token, map[string]any{
		"status": "COMPLETED", "result": "SUCCESS",
		"output": map[string]any{"echoed": "token was " + secretValue, "status": "deployed"},
		"logs":   []any{map[string]any{"level": "INFO", "message": "deployed with " + secretValue}},
	}, 200)
	if n := done.obj("workflowNodeRun"); n["identifier"] != nodeRun {
		t.Errorf("completed node run = %v", n)
	}

	var run map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		run = call("GET", "/v1/workflows/runs/"+runID, token, nil, 200).obj("workflowRun")
		if run["status"] == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never completed: %v", run)
		}
	}
	if run["result"] != "SUCCESS" {
		t.Errorf("run = %v", run)
	}
	outputs := run["variables"].(map[string]any)["outputs"].(map[string]any)
	if got := fmt.Sprint(outputs["call"]); got != "map[echo:token was *** status:deployed]" {
		t.Errorf("call output = %s", got)
	}
	call("GET", "/v1/workflows/runs?workflowIdentifiers=e2e", token, nil, 200)
	call("GET", "/v1/audit", token, nil, 200)
	for _, a := range answers {
		if strings.Contains(a, secretValue) {
			t.Errorf("an API answer holds the secret: %s", a)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("sluice serve exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sluice serve did not exit after SIGTERM")
	}
	logs := stderr.String()
	if strings.Contains(logs, secretValue) || strings.Contains(out.String(), secretValue) || strings.Contains(logs, clientSecret) {
		t.Error("the process output holds a secret")
	}
	if !strings.Contains(logs, `"route":"PATCH /v1/workflows/nodes/runs/{wfnr}"`) {
		t.Errorf("access logs lack the route pattern:\n%.2000s", logs)
	}
}

// TestServeResumesAfterSIGKILL kills the server while a WEBHOOK is in flight
// (no grace, no cleanup), starts a new one over the same data dir, and
// checks the run resumes: the node is delivered again with the same
// X-Sluice-Node-Run (at least once), and the run completes.
func TestServeResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := sluiceBinary(t)
	const clientID, clientSecret = "cl_killadmin", "kill-admin-secret-0123456789abcdefghij"
	env := []string{"SLUICE_ADMIN_CLIENT_ID=" + clientID, "SLUICE_ADMIN_CLIENT_SECRET=" + clientSecret}
	dataDir := t.TempDir()

	deliveries := make(chan string, 4)
	release := make(chan struct{})
	var calls atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		deliveries <- r.Header.Get("X-Sluice-Node-Run")
		if calls.Add(1) == 1 {
			<-release // the first delivery hangs until its sender is killed
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"deployed":true}`)
	}))
	defer rcv.Close()
	defer close(release)

	first := startServe(t, bin, dataDir, env...)
	c := &client{t: t, base: first.base, http: &http.Client{Timeout: 30 * time.Second}}
	token := c.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": clientID, "clientSecret": clientSecret}).expect(t, 200).body["accessToken"].(string)
	c.do("POST", "/v1/organization/secrets", token, map[string]any{"secretName": "API_TOKEN", "secretValue": secretValue}).expect(t, 201)
	def := workflowDef("crash", true, rcv.URL+"/sync", nil, nil)
	def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)["timeoutSeconds"] = 120
	c.do("POST", "/v1/workflows", token, def).expect(t, 201)
	runID := c.do("POST", "/v1/workflows/crash/runs", token, map[string]any{"inputs": map[string]any{}}).expect(t, 201).obj("workflowRun")["identifier"].(string)

	var nodeRun string
	select {
	case nodeRun = <-deliveries:
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver never got the webhook")
	}
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: nothing is cleaned up
		t.Fatal(err)
	}
	<-first.exited

	second := startServe(t, bin, dataDir, env...)
	c.base = second.base
	select {
	case again := <-deliveries:
		if again != nodeRun {
			t.Errorf("redelivered with X-Sluice-Node-Run %s, want the same %s", again, nodeRun)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the resumed server never delivered the node again\n%s", second.stderr.String())
	}
	token = c.do("POST", "/v1/auth/access_token", "", map[string]any{"clientId": clientID, "clientSecret": clientSecret}).expect(t, 200).body["accessToken"].(string)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		run := c.do("GET", "/v1/workflows/runs/"+runID, token, nil).expect(t, 200).obj("workflowRun")
		if run["status"] == "COMPLETED" {
			if run["result"] != "SUCCESS" {
				t.Errorf("resumed run = %v", run)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resumed run never completed: %v", run)
		}
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-second.exited
}
