package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// launchServer starts `sluice serve --addr 127.0.0.1:0 args...` in a child
// process with env added to the environment, and returns without waiting:
// waitListening does. The process is killed when the test ends, if still
// running.
func launchServer(t *testing.T, env []string, args ...string) (*server, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), mainEnv+"=1"), env...)
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
	return s, stdout
}

// listensOrExits reads a launched server's stdout up to its listening line
// (true) or to its end, when the process exits first (false, once it has
// exited).
func (s *server) listensOrExits(stdout io.Reader) bool {
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
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if s.url == "" {
		<-s.done
		return false
	}
	return true
}

// waitListening reads a launched server's stdout up to its listening line,
// keeps it as the banner and returns once the server listens; it fails the
// test, with the process's output, when the process exits first.
func (s *server) waitListening(t *testing.T, stdout io.Reader) {
	t.Helper()
	if !s.listensOrExits(stdout) {
		t.Fatalf("serve exited before listening (%v)\nstdout: %s\nstderr: %s", s.err, s.banner, s.logs())
	}
}

// TestServeBootstrapTogetherOnPostgres is issue 13: two `sluice serve`
// processes started at the same moment on one empty PostgreSQL schema (a
// Deployment with 2 replicas, first start), each with its own data dir and
// the same master key, create one Admin client between them: exactly one
// prints credentials, the store holds that one client, and both servers
// accept it.
func TestServeBootstrapTogetherOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	key, _ := newKeyB64(t)
	env := []string{"SLUICE_MASTER_KEY=" + key, "SLUICE_DATABASE_URL=" + url}
	const n = 2
	servers := make([]*server, n)
	stdouts := make([]io.Reader, n)
	for i := range servers { // started back to back, before either is waited for
		servers[i], stdouts[i] = launchServer(t, env, "--data-dir", t.TempDir())
	}
	var printed []int
	for i, s := range servers {
		s.waitListening(t, stdouts[i])
		if credRe.MatchString(s.banner) {
			printed = append(printed, i)
		} else if strings.Contains(s.banner, "Admin client") {
			t.Errorf("server %d says it created an Admin client but shows no credentials:\n%s", i, s.banner)
		}
	}
	if len(printed) != 1 {
		for i, s := range servers {
			t.Logf("server %d stdout:\n%s", i, s.banner)
		}
		t.Fatalf("%d servers printed Admin credentials, want exactly 1", len(printed))
	}
	id, secret := credentials(t, servers[printed[0]].banner)

	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := st.ListClients(t.Context())
	st.Close()
	if err != nil || len(cs) != 1 || cs[0].ID != id {
		t.Errorf("the store holds clients %+v (%v), want only %s", cs, err, id)
	}

	for i, s := range servers {
		token, code := s.token(t, id, secret)
		if code != http.StatusOK {
			t.Fatalf("server %d: token exchange with the printed credentials: %d\n%s", i, code, s.logs())
		}
		if code, v := s.apiCall(t, "GET", "/v1/workflows", token, nil); code != http.StatusOK {
			t.Errorf("server %d: GET /v1/workflows with the token: %d %v", i, code, v)
		}
	}
	for i, s := range servers {
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Errorf("server %d: %v\n%s", i, err, s.logs())
		}
	}
}
