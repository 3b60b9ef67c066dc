package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// wantKeyRefusal fails the test unless the server exited with ExitFailed
// before listening, saying that its ring lacks key and what to do, and
// printed no credentials.
func wantKeyRefusal(t *testing.T, what string, s *server, key string) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.ExitCode() != ExitFailed {
		t.Errorf("%s: exit %v, want exit status %d", what, s.err, ExitFailed)
	}
	logs := s.logs()
	for _, want := range []string{"key " + key + " (not in this key ring; another sluice process started with it)",
		"set SLUICE_MASTER_KEY_FILE to the key file the others use", "sluice keys forget KEYID", "Nothing was written"} {
		if !strings.Contains(logs, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, want, logs)
		}
	}
	if credRe.MatchString(s.banner) || strings.Contains(s.banner, "Admin client") {
		t.Errorf("%s: the refused server printed credentials:\n%s", what, s.banner)
	}
}

// ringKeyIDs returns the ids of st's ring records.
func ringKeyIDs(t *testing.T, st store.Store) []string {
	t.Helper()
	recs, err := st.(store.RingKeyStore).ListRingKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// TestServeKeysTogetherOnPostgres: two `sluice serve` processes started at
// the same moment on one empty PostgreSQL database, each with its own data
// dir and no master key configured, generate two different keys: exactly
// one starts; the other exits before listening, naming the winner's key and
// what to do, having written nothing to the store. A third started with the
// winner's key file starts, and a worker with yet another key is refused.
func TestServeKeysTogetherOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	env := []string{"SLUICE_DATABASE_URL=" + url}
	dirs := []string{t.TempDir(), t.TempDir()}
	servers := make([]*server, len(dirs))
	stdouts := make([]io.Reader, len(dirs))
	for i, dir := range dirs { // started back to back, before either is waited for
		servers[i], stdouts[i] = launchServer(t, env, "--data-dir", dir)
	}
	listening := make([]bool, len(servers))
	for i, s := range servers {
		listening[i] = s.listensOrExits(stdouts[i])
	}
	if listening[0] == listening[1] {
		t.Fatalf("listening: %v; want exactly one server to start\nstderr 0: %s\nstderr 1: %s", listening, servers[0].logs(), servers[1].logs())
	}
	win := slices.Index(listening, true)
	lose := 1 - win
	winKey := keyFileIDs(t, filepath.Join(dirs[win], "master.key"))[0]
	loseKey := keyFileIDs(t, filepath.Join(dirs[lose], "master.key"))[0]
	if winKey == loseKey {
		t.Fatalf("both data dirs hold key %s", winKey)
	}
	wantKeyRefusal(t, "the second server", servers[lose], winKey)

	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := ringKeyIDs(t, st); !slices.Equal(got, []string{winKey}) {
		t.Errorf("ring records = %v, want only the winner's %s", got, winKey)
	}
	if cs, err := st.ListClients(t.Context()); err != nil || len(cs) != 1 {
		t.Errorf("the store holds %d clients (%v), want the winner's one", len(cs), err)
	}

	// The same key, through the winner's key file: starts.
	third, out := launchServer(t, append(env, "SLUICE_MASTER_KEY_FILE="+filepath.Join(dirs[win], "master.key")), "--data-dir", t.TempDir())
	if !third.listensOrExits(out) {
		t.Fatalf("a server with the winner's key file exited: %v\n%s", third.err, third.logs())
	}
	// A worker with another key: refused, in-process.
	b64, _ := newKeyB64(t)
	r := sluiceEnv(t, map[string]string{"SLUICE_DATABASE_URL": url, "SLUICE_MASTER_KEY": b64}, "", "worker", "--data-dir", t.TempDir())
	if r.code != ExitFailed || !strings.Contains(r.stderr, "key "+winKey+" (not in this key ring") || !strings.Contains(r.stderr, "SLUICE_MASTER_KEY holds") {
		t.Errorf("worker with another key: exit %d, want %d and the refusal:\n%s", r.code, ExitFailed, r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, b64) {
		t.Error("the refusal quotes the key")
	}
	if got := ringKeyIDs(t, st); !slices.Equal(got, []string{winKey}) {
		t.Errorf("ring records after the refusals = %v, want only %s", got, winKey)
	}
	for i, s := range []*server{servers[win], third} {
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Errorf("server %d: %v\n%s", i, err, s.logs())
		}
	}
}

// TestServeReplacedKeyFileRefused: a SQLite data dir whose master.key was
// replaced by another key (a file restored from the wrong backup, or
// deleted and generated anew) is refused at start, even when it holds no
// secret. Before ring records, such a server started with the new key and
// silently masked whole the completions of runs sealed with the old one.
func TestServeReplacedKeyFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, out := launchServer(t, nil, "--data-dir", dir)
	if !first.listensOrExits(out) {
		t.Fatalf("the first start exited: %v\n%s", first.err, first.logs())
	}
	if err := first.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, first.logs())
	}
	keyFile := filepath.Join(dir, "master.key")
	oldKey := keyFileIDs(t, keyFile)[0]
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	for _, attempt := range []string{"generated anew", "again"} {
		s, out := launchServer(t, nil, "--data-dir", dir)
		if s.listensOrExits(out) {
			t.Fatalf("%s: a server with a replaced key file started", attempt)
		}
		wantKeyRefusal(t, attempt, s, oldKey)
	}
	st, err := sqlitetest.Open(context.Background(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := ringKeyIDs(t, st); !slices.Equal(got, []string{oldKey}) {
		t.Errorf("ring records = %v, want only the first key %s", got, oldKey)
	}
}

// TestKeysForget: a key recorded by a process is lost for good; `sluice
// keys forget` lets processes without it start, and refuses a key the ring
// holds.
func TestKeysForget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b64A, keyA := newKeyB64(t)
	b64B, keyB := newKeyB64(t)
	withA := map[string]string{"SLUICE_MASTER_KEY": b64A}
	withB := map[string]string{"SLUICE_MASTER_KEY": b64B}
	steps := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"A records its key", withA, []string{"secrets", "list"}, ExitOK, ""},
		{"B is refused", withB, []string{"secrets", "list"}, ExitFailed, "key " + keyA + " (not in this key ring"},
		{"forgetting B's own key", withB, []string{"keys", "forget", keyB}, ExitFailed, "not lost"},
		{"forgetting an unknown key", withB, []string{"keys", "forget", "k00000000"}, ExitFailed, "no process started with it"},
		{"forgetting A", withB, []string{"keys", "forget", keyA}, ExitOK, "key " + keyA + " is declared lost: processes without it start; no waiting run has values sealed with it, so nothing is lost"},
		{"B starts", withB, []string{"secrets", "list"}, ExitOK, ""},
		{"A alone now lacks B", withA, []string{"secrets", "list"}, ExitFailed, "key " + keyB + " (not in this key ring"},
	}
	for _, s := range steps {
		r := sluiceEnv(t, s.env, "", append(s.args, "--data-dir", dir)...)
		if r.code != s.code || !strings.Contains(r.stdout+r.stderr, s.want) {
			t.Fatalf("%s: exit %d, want %d and %q:\n%s%s", s.name, r.code, s.code, s.want, r.stdout, r.stderr)
		}
	}
}
