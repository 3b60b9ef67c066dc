package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// TestBackupWhileServing runs sluice backup on the data dir of a real
// serve while clients start runs on it: the copy opens with the SQLite
// store and holds every run the API had answered for before the backup
// began. Then the refusals: an existing file, PostgreSQL, no store. And
// /metrics carries sluice_build_info with sluice version's version.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	dir := dataDir(t)
	srv := startServer(t, "--data-dir", dir, "--retain-runs", "30d", "--retain-audit", "720h")
	id, secret := credentials(t, srv.banner)
	tok, code := srv.token(t, id, secret)
	if code != http.StatusOK {
		t.Fatalf("token: %d", code)
	}
	def := map[string]any{"identifier": "hook", "nodes": []any{
		map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER"}},
		map[string]any{"identifier": "hook", "config": map[string]any{"type": "WEBHOOK", "url": rcv.URL + "/ok"}}},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "hook"}}}
	if code, body := srv.send(t, http.MethodPost, "/v1/workflows", tok, def); code/100 != 2 {
		t.Fatalf("create workflow: %d %s", code, body)
	}

	// Clients start runs until told to stop; started holds those the API
	// answered for.
	var (
		mu      sync.Mutex
		started []string
		stop    atomic.Bool
		wg      sync.WaitGroup
		failed  atomic.Value
	)
	start := func() {
		req, _ := json.Marshal(map[string]any{"inputs": map[string]any{}})
		r, err := http.NewRequest(http.MethodPost, srv.url+"/v1/workflows/hook/runs", strings.NewReader(string(req)))
		if err != nil {
			failed.Store(err.Error())
			return
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			failed.Store(err.Error())
			return
		}
		defer resp.Body.Close()
		var ans struct {
			Run struct {
				Identifier string `json:"identifier"`
			} `json:"workflowRun"`
		}
		if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&ans) != nil || ans.Run.Identifier == "" {
			failed.Store(fmt.Sprintf("start a run: %d", resp.StatusCode))
			return
		}
		mu.Lock()
		started = append(started, ans.Run.Identifier)
		mu.Unlock()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && failed.Load() == nil {
				start()
			}
		}()
	}
	// At least a few runs before the backup.
	for {
		mu.Lock()
		n := len(started)
		mu.Unlock()
		if n >= 20 || failed.Load() != nil {
			break
		}
		start()
	}
	mu.Lock()
	before := append([]string(nil), started...)
	mu.Unlock()

	dst := filepath.Join(t.TempDir(), "backup.db")
	r := sluice(t, "", "backup", "--data-dir", dir, "--to", dst)
	stop.Store(true)
	wg.Wait()
	if v := failed.Load(); v != nil {
		t.Fatal(v)
	}
	if r.code != 0 {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"backed up", dst, "master key is NOT in the backup", filepath.Join(dir, "master.key")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("backup output lacks %q:\n%s", want, r.stdout)
		}
	}

	cp, err := sqlitetest.Open(t.Context(), dst, sqlite.Options{})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	for _, id := range before {
		if _, err := cp.GetRun(t.Context(), id); err != nil {
			t.Errorf("run %s, started before the backup, is not in the copy: %v", id, err)
		}
	}
	if _, err := cp.GetWorkflow(t.Context(), "hook"); err != nil {
		t.Errorf("the workflow is not in the copy: %v", err)
	}
	if cls, err := cp.ListClients(t.Context()); err != nil || len(cls) == 0 {
		t.Errorf("the Admin client is not in the copy: %v %v", cls, err)
	}
	t.Logf("%d runs started before the backup, all in the copy", len(before))

	// Refusals, each naming what is wrong, changing nothing.
	info, _ := os.Stat(dst)
	refusals := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"existing file", nil, []string{"--data-dir", dir, "--to", dst}, "a backup never replaces a file"},
		{"no --to", nil, []string{"--data-dir", dir}, "--to: the file to write the backup to is required"},
		{"postgres", map[string]string{"SLUICE_DATABASE_URL": "postgres://u:pw@127.0.0.1:1/db"}, []string{"--data-dir", dir, "--to", dst + ".2"}, "pg_dump"},
		{"no store", nil, []string{"--data-dir", t.TempDir(), "--to", dst + ".3"}, "no store to back up"},
		{"missing directory", nil, []string{"--data-dir", dir, "--to", filepath.Join(dir, "nope", "x.db")}, "does not exist"},
	}
	for _, tc := range refusals {
		r := sluiceEnv(t, tc.env, "", append([]string{"backup"}, tc.args...)...)
		if r.code != ExitInvalid || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, r.code, r.stderr, ExitInvalid, tc.want)
		}
		if strings.Contains(r.stderr, "pw@") {
			t.Errorf("%s: the database password is shown: %s", tc.name, r.stderr)
		}
	}
	if after, _ := os.Stat(dst); after.ModTime() != info.ModTime() || after.Size() != info.Size() {
		t.Error("a refused backup changed the existing file")
	}
	for _, p := range []string{dst + ".2", dst + ".3"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused backup wrote %s", p)
		}
	}

	// sluice_build_info, from the same source as sluice version.
	code, body := srv.send(t, http.MethodGet, "/metrics", "", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	line := ""
	for l := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(l, "sluice_build_info{") {
			line = l
		}
	}
	if !strings.Contains(line, `version="`+buildVersion()+`"`) || !strings.HasSuffix(line, " 1") {
		t.Errorf("sluice_build_info = %q, want version %q and value 1", line, buildVersion())
	}
	if !strings.Contains(string(body), "sluice_retention_deleted_total") {
		t.Error("/metrics lacks sluice_retention_deleted_total")
	}
	// The WEBHOOK User-Agent carries the same version.
	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.byPath("/ok")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := rcv.byPath("/ok")
	if len(reqs) == 0 {
		t.Fatal("no WEBHOOK request reached the receiver")
	}
	if ua := reqs[0].Header.Get("User-Agent"); ua != "sluice/"+buildVersion() {
		t.Errorf("WEBHOOK User-Agent = %q, want %q", ua, "sluice/"+buildVersion())
	}
	if !strings.Contains(srv.logs(), "retention is on") {
		t.Errorf("serve did not log its retention settings:\n%s", srv.logs())
	}
}
