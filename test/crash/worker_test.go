package crash

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

var workerRe = regexp.MustCompile(`^sluice worker running`)

// TestWorkerTakesOver: serve and worker on one PostgreSQL. serve starts 20
// runs whose webhook is in flight when serve is killed with SIGKILL; the
// worker (no API) takes them over, delivering each node run again with the
// same X-Sluice-Node-Run, and completes them all. A worker stopped with
// SIGTERM leaves no lease behind.
func TestWorkerTakesOver(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		stuck = make(chan struct{}) // closed at the kill: later deliveries answer
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Sluice-Node-Run")]++
		mu.Unlock()
		select {
		case <-stuck:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer hook.Close()

	a := start(t, "serve", t.TempDir(), dbURL)
	m := credRe.FindStringSubmatch(a.banner)
	if m == nil {
		t.Fatalf("no credentials printed:\n%s", a.banner)
	}
	wdir := t.TempDir()
	w := startCmd(t, "worker", workerRe, "worker", "--data-dir", wdir, "--database-url", dbURL, "--shutdown-grace", "1s")
	c := &client{t: t, hc: &http.Client{Timeout: 10 * time.Second}}
	code, v, err := c.post(a.url, "/v1/auth/access_token", map[string]string{"clientId": m[1], "clientSecret": m[2]})
	if err != nil || code != http.StatusOK {
		t.Fatalf("token: %d %v %v", code, v, err)
	}
	c.token, _ = v["accessToken"].(string)
	def := map[string]any{
		"identifier": "held",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "permissions": map[string]any{"roles": []any{"Admin"}}}},
			map[string]any{"identifier": "call", "config": map[string]any{"type": "WEBHOOK", "url": hook.URL, "method": "POST", "synchronized": true}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	if code, v, err := c.post(a.url, "/v1/workflows", def); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d %v %v", code, v, err)
	}
	const runs = 20
	for i := range runs {
		if code, v, err := c.post(a.url, "/v1/workflows/held/runs", map[string]any{}); err != nil || code != http.StatusCreated {
			t.Fatalf("POST run %d: %d %v %v", i, code, v, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == runs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries arrived\n%s", n, runs, tail(a.logs()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	a.kill()
	close(stuck)

	st, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline = time.Now().Add(60 * time.Second)
	for {
		left, err := st.ListInProgressRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs never completed after serve died\n%s", len(left), tail(w.logs()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(killed)
	all, _, err := st.ListRuns(context.Background(), store.RunFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Result != store.ResultSuccess {
			t.Errorf("run %s ended %s", r.Identifier, r.Result)
		}
	}
	mu.Lock()
	for id, n := range seen {
		if n != 2 {
			t.Errorf("node run %s delivered %d times, want 2 (once by serve, once by the worker)", id, n)
		}
	}
	mu.Unlock()
	t.Logf("the worker completed the %d runs of the killed serve %v after the kill", len(all), took)
	if took >= 30*time.Second {
		t.Errorf("takeover took %v, want under 30 s", took)
	}

	// SIGTERM: a graceful stop releases every lease.
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	<-w.done
	for _, r := range all {
		if l, err := st.GetLease(context.Background(), r.Identifier); err == nil {
			t.Errorf("run %s still leased to %s after the worker stopped", r.Identifier, l.Owner)
		}
	}
	if !strings.Contains(w.logs(), "took over a run") {
		t.Errorf("the worker's log does not say it took runs over:\n%s", tail(w.logs()))
	}
}

// TestWorkerNeedsPostgres: on the embedded store a worker is refused, with
// the flag to set, and exits 2.
func TestWorkerNeedsPostgres(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "worker", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), mainEnv+"=1", "SLUICE_DATABASE_URL=")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--database-url") {
		t.Fatalf("worker without --database-url: %v\n%s", err, out)
	}
}
