package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mainEnv, set in the environment of a re-executed test binary, makes it
// run the command line with its arguments instead of the tests: the
// behaviours about processes (the data dir lock, binding, a server and a
// CLI sharing a data dir) are tested with real processes.
const mainEnv = "SLUICE_CLI_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
	}
	os.Exit(m.Run())
}

// server is `sluice serve` in a child process.
type server struct {
	cmd    *exec.Cmd
	url    string
	banner string // stdout up to and including the listening line

	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // of Wait
}

var listeningRe = regexp.MustCompile(`^sluice listening on (http://\S+)$`)

// startServer starts `sluice serve --addr 127.0.0.1:0 args...` in a child
// process and returns once it listens. It fails the test, with the
// process's output, when the process exits first. The process is killed
// when the test ends, if still running.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	var banner strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
			s.url = m[1]
			break
		}
	}
	s.banner = banner.String()
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		s.err = cmd.Wait()
		close(s.done)
	}()
	if s.url == "" {
		<-s.done
		t.Fatalf("serve exited before listening (%v)\nstdout: %s\nstderr: %s", s.err, s.banner, s.logs())
	}
	return s
}

// stop sends sig and waits for the process to exit; it returns the error
// of Wait.
func (s *server) stop(sig os.Signal) error {
	_ = s.cmd.Process.Signal(sig)
	<-s.done
	return s.err
}

// logs returns what the process wrote to stderr so far.
func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// token exchanges credentials for an access token at the server; "" and
// the status when refused.
func (s *server) token(t *testing.T, id, secret string) (string, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"clientId": id, "clientSecret": secret})
	resp, err := http.Post(s.url+"/v1/auth/access_token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.AccessToken, resp.StatusCode
}

// send sends method path with the token (none when "") and a JSON body
// (none when nil), and returns the status and the answer's bytes.
func (s *server) send(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

// status returns the status of GET path with the token.
func (s *server) status(t *testing.T, path, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// A second serve on a data dir fails at once naming the first, whose lock
// dies with it even when it is SIGKILLed; other commands stay allowed.
func TestServeLocksDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startServer(t, "--data-dir", dir)
	host := strings.TrimPrefix(first.url, "http://")

	// On the same address, so that a second serve that did not check the
	// lock fails too (on the port) instead of serving.
	r := sluice(t, "", "serve", "--addr", host, "--data-dir", dir)
	want := fmt.Sprintf("data dir %s is in use by another sluice serve (pid %d, %s)", dir, first.cmd.Process.Pid, first.url)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("second serve: exit %d, stderr %q; want an error with %q", r.code, r.stderr, want)
	}
	if strings.Contains(r.stdout, "clientSecret") {
		t.Errorf("second serve printed credentials:\n%s", r.stdout)
	}

	// Commands that go through the store's transactions are allowed.
	for _, args := range [][]string{
		{"clients", "list"},
		{"users", "create", "--email", "ann@example.com", "--role", "Member"},
		{"secrets", "list"},
		{"validate", "-f", examples + "/condition-branches.json"},
	} {
		if r := sluice(t, "", append(args, "--data-dir", dir)...); r.code != 0 {
			t.Errorf("%v while serve runs: exit %d: %s", args, r.code, r.stderr)
		}
	}

	if err := first.stop(syscall.SIGKILL); exitCode(err) == 0 {
		t.Fatalf("SIGKILLed serve exited with %v", err)
	}
	next := startServer(t, "--data-dir", dir)
	if err := next.stop(syscall.SIGTERM); err != nil {
		t.Errorf("serve after a SIGKILLed one: %v\n%s", err, next.logs())
	}
}

// flock locks belong to open file descriptions: two locks in one process
// conflict as two processes do, and closing releases.
func TestLockDataDirInOneProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l1, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.write("http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	want := fmt.Sprintf("data dir %s is in use by another sluice serve (pid %d, http://127.0.0.1:1)", dir, os.Getpid())
	if !errors.Is(err, ErrDataDirInUse) || err.Error() != want {
		t.Fatalf("second lock: %v, want %q", err, want)
	}
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after Close: %v", err)
	}
	l2.Close()
}

// serve binds before it creates the Admin client: a busy port writes
// nothing, and the next start prints the credentials, once.
func TestServeBindsBeforeCreatingCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy := listen(t)
	r := sluice(t, "", "serve", "--addr", busy, "--data-dir", dir)
	if r.code == 0 || !strings.Contains(r.stderr, busy) {
		t.Errorf("serve on a busy port: exit %d, stderr %q; want an error naming %s", r.code, r.stderr, busy)
	}
	if strings.Contains(r.stdout, "clientSecret") {
		t.Errorf("serve on a busy port printed credentials:\n%s", r.stdout)
	}
	if r := sluice(t, "", "clients", "list", "--data-dir", dir); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("clients after a failed serve:\n%s", r.stdout)
	}

	first := startServer(t, "--data-dir", dir)
	id, secret := credentials(t, first.banner)
	if _, code := first.token(t, id, secret); code != http.StatusOK {
		t.Errorf("the printed credentials get %d", code)
	}
	if err := first.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v\n%s", err, first.logs())
	}
	again := startServer(t, "--data-dir", dir)
	if strings.Contains(again.banner, "clientSecret") {
		t.Errorf("the second start printed credentials again:\n%s", again.banner)
	}
}

// listen occupies a loopback port for the test and returns its address.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// A running server and the command line share the data dir: credentials
// deleted or revoked from the command line stop working in the server
// within its token cache's TTL (--token-cache-ttl, 2 s by default), and a
// token exchange sees the change at once (it always reads the store).
func TestCredentialsRemovedWhileServing(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	srv := startServer(t, "--data-dir", dir, "--log-format", "json")
	adminID, adminSecret := credentials(t, srv.banner)

	create := sluice(t, "", "clients", "create", "--name", "ci", "--scope", "read:workflows", "--data-dir", dir)
	ciID, ciSecret := credentials(t, create.stdout)
	create = sluice(t, "", "users", "create", "--email", "ann@example.com", "--role", "Member", "--data-dir", dir)
	annID, annSecret := credentials(t, create.stdout)

	const path = "/v1/workflows"
	tests := []struct {
		name      string
		id        string
		secret    string
		args      []string
		reissue   int // status of a token exchange afterwards
		newTokens int // status of the request with a new token
	}{
		{"revoke a machine client", ciID, ciSecret, []string{"clients", "revoke", ciID}, http.StatusOK, http.StatusOK},
		{"delete a machine client", ciID, ciSecret, []string{"clients", "delete", ciID}, http.StatusUnauthorized, 0},
		{"delete a user by email", annID, annSecret, []string{"users", "delete", "ANN@example.com"}, http.StatusUnauthorized, 0},
		{"delete the Admin client", adminID, adminSecret, []string{"clients", "delete", adminID}, http.StatusUnauthorized, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, code := srv.token(t, tc.id, tc.secret)
			if code != http.StatusOK {
				t.Fatalf("token exchange before: %d", code)
			}
			if got := srv.status(t, path, tok); got != http.StatusOK {
				t.Fatalf("GET %s before: %d", path, got)
			}
			if r := sluice(t, "", append(tc.args, "--data-dir", dir)...); r.code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.args, r.code, r.stderr)
			}
			// Within the cache's TTL: polled, with a deadline well past it
			// (a hang guard, not a timing assertion).
			deadline := time.Now().Add(15 * time.Second)
			got := srv.status(t, path, tok)
			for got != http.StatusUnauthorized && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				got = srv.status(t, path, tok)
			}
			if got != http.StatusUnauthorized {
				t.Errorf("GET %s with the old token after %v: %d, want 401 within the token cache's TTL", path, tc.args, got)
			}
			newTok, code := srv.token(t, tc.id, tc.secret)
			if code != tc.reissue {
				t.Fatalf("token exchange after: %d, want %d", code, tc.reissue)
			}
			if tc.newTokens != 0 {
				if got := srv.status(t, path, newTok); got != tc.newTokens {
					t.Errorf("GET %s with a new token: %d, want %d", path, got, tc.newTokens)
				}
			}
		})
	}

	// The process log: JSON as asked, durations in milliseconds.
	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v", err)
	}
	checkDurationsInMS(t, srv.logs(), "http request", "shutting down")
}

// checkDurationsInMS checks that every stderr line is a JSON object, that
// no attribute carries a duration without its unit, and that the messages
// in want have a *_ms number.
func checkDurationsInMS(t *testing.T, stderr string, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		for k, v := range rec {
			switch {
			case strings.HasSuffix(k, "_ms"):
				if _, ok := v.(float64); !ok {
					t.Errorf("%s = %v (%T), want a number of milliseconds: %s", k, v, v, line)
				}
				seen[rec["msg"].(string)] = true
			case strings.Contains(k, "duration") || k == "grace" || k == "elapsed":
				t.Errorf("attribute %s has no unit: %s", k, line)
			}
		}
	}
	for _, msg := range want {
		if !seen[msg] {
			t.Errorf("no %q line with a *_ms attribute in:\n%s", msg, stderr)
		}
	}
}
