package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// sluiceEnv runs the command line in-process with the given environment.
func sluiceEnv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, stdin)
	in.Seek(0, io.SeekStart)
	defer in.Close()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, IO{Stdin: in, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// query returns the first column of every row of a query on the data dir's
// database, read behind the CLI's back.
func query(t *testing.T, dir, q string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// keyFileIDs returns the key ids of a key file, primary first.
func keyFileIDs(t *testing.T, path string) []string {
	t.Helper()
	r, err := secret.LoadKeyRing(secret.KeyOptions{KeyFile: path, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return r.KeyIDs()
}

func newKeyB64(t *testing.T) (string, string) {
	t.Helper()
	k, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k), secret.KeyID(k)
}

// TestWrongMasterKeyIsRefused is issue 7 item 8: secrets written with the
// data dir's key A; with another key B every command that reads or writes
// values refuses, naming A, and changes nothing (before, `secrets set`
// succeeded under B and split the store); with A again everything works.
func TestWrongMasterKeyIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rcv := newReceiver(t)
	const value = "token-value-of-key-A"
	if r := sluice(t, value+"\n", "secrets", "set", "TOKEN", "--data-dir", dir); r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	keyA := keyFileIDs(t, filepath.Join(dir, "master.key"))[0]
	b64B, keyB := newKeyB64(t)
	wrong := map[string]string{"SLUICE_MASTER_KEY": b64B}
	def := writeFile(t, "wf.json", `{"identifier": "uses-token", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/token", "headers": {"Authorization": "{{ .secrets.TOKEN }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`)

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"secrets set", "other-value\n", []string{"secrets", "set", "OTHER"}},
		{"secrets set of an existing secret", "new-value\n", []string{"secrets", "set", "TOKEN"}},
		{"secrets list", "", []string{"secrets", "list"}},
		{"keys rotate", "", []string{"keys", "rotate"}},
		{"run", "", []string{"run", "-f", def}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, wrong, tc.stdin, append(tc.args, "--data-dir", dir)...)
			if r.code == 0 || !strings.Contains(r.stderr, "written with key "+keyA+" (not in this key ring") ||
				!strings.Contains(r.stderr, "SLUICE_MASTER_KEY holds ["+keyB+"]: set SLUICE_MASTER_KEY to the key ring those secrets were written with") {
				t.Fatalf("exit %d; want a refusal naming key %s and what to do:\n%s", r.code, keyA, r.stderr)
			}
			for _, v := range []string{value, "other-value", "new-value", b64B} {
				if strings.Contains(r.stderr+r.stdout, v) {
					t.Fatal("the output holds a value or a key")
				}
			}
			// Nothing changed: no new secret, no secret under B, no
			// record of B, no run.
			if got := query(t, dir, `SELECT name || ':' || key_id FROM secrets ORDER BY name`); !slices.Equal(got, []string{"TOKEN:" + keyA}) {
				t.Errorf("secrets = %v, want only TOKEN under %s", got, keyA)
			}
			if got := query(t, dir, `SELECT key_id FROM secret_keys`); !slices.Equal(got, []string{keyA}) {
				t.Errorf("key records = %v, want only %s", got, keyA)
			}
			if got := query(t, dir, `SELECT identifier FROM runs`); len(got) != 0 {
				t.Errorf("a run was stored: %v", got)
			}
			if len(rcv.byPath("/token")) != 0 {
				t.Error("the workflow ran")
			}
		})
	}
	// The secrets of a key lost for good can still be deleted, whatever
	// key is at hand; deleting checks no key.
	if r := sluice(t, "doomed-value\n", "secrets", "set", "DOOMED", "--data-dir", dir); r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	if r := sluiceEnv(t, wrong, "", "secrets", "delete", "DOOMED", "--data-dir", dir); r.code != 0 {
		t.Fatalf("delete with another key: exit %d: %s", r.code, r.stderr)
	}

	// With A again, everything works.
	if r := sluice(t, "other-value\n", "secrets", "set", "OTHER", "--data-dir", dir); r.code != 0 {
		t.Fatalf("set with the right key: exit %d: %s", r.code, r.stderr)
	}
	if r := sluice(t, "", "run", "-f", def, "--data-dir", dir, "--output", "json"); r.code != 0 {
		t.Fatalf("run with the right key: exit %d: %s", r.code, r.stderr)
	}
	if got := rcv.byPath("/token"); len(got) != 1 || got[0].Header.Get("Authorization") != value {
		t.Fatalf("receiver got %+v", got)
	}
	if r := sluice(t, "", "keys", "rotate", "--data-dir", dir); r.code != 0 {
		t.Fatalf("rotate with the right key: exit %d: %s", r.code, r.stderr)
	}
}

// TestKilledRotationFinishes: a `keys rotate` killed after adding its key
// and re-encrypting one secret leaves the key file with two keys and its
// lock file. The next rotate says what to do about the lock file; once it
// is removed, rotate finishes that rotation with the key it added: no
// other key (before, every retry added one).
func TestKilledRotationFinishes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "master.key")
	values := map[string]string{"S0": "value-zero-0000", "S1": "value-one-1111", "S2": "value-two-2222"}
	for _, n := range []string{"S0", "S1", "S2"} {
		if r := sluice(t, values[n]+"\n", "secrets", "set", n, "--data-dir", dir); r.code != 0 {
			t.Fatalf("set: exit %d: %s", r.code, r.stderr)
		}
	}
	old := keyFileIDs(t, keyPath)[0]

	// The state a killed rotation leaves: key N added as primary, S0
	// re-encrypted with it, the lock file still there.
	var kf struct {
		Version int               `json:"version"`
		Primary string            `json:"primary"`
		Keys    []json.RawMessage `json:"keys"`
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	b64N, keyN := newKeyB64(t)
	nk, _ := json.Marshal(map[string]any{"id": keyN, "key": b64N, "createdAt": "2026-03-01T12:00:00Z"})
	kf.Primary, kf.Keys = keyN, append([]json.RawMessage{nk}, kf.Keys...)
	data, _ = json.Marshal(kf)
	if err := os.WriteFile(keyPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	func() {
		st, err := sqlitetest.Open(t.Context(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ring, err := secret.LoadKeyRing(secret.KeyOptions{KeyFile: keyPath, Env: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		v := values["S0"]
		if _, err := secret.NewService(st, ring).Update(t.Context(), "cli", "S0", &v, nil); err != nil {
			t.Fatal(err)
		}
	}()
	lock := keyPath + ".rotating"
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	r := sluice(t, "", "keys", "rotate", "--data-dir", dir)
	if r.code == 0 || !strings.Contains(r.stderr, "If none is running, remove "+lock+" and run `sluice keys rotate` again") {
		t.Fatalf("rotate with the lock file left: exit %d; want what to do:\n%s", r.code, r.stderr)
	}
	if got := keyFileIDs(t, keyPath); !slices.Equal(got, []string{keyN, old}) {
		t.Fatalf("the refused rotate changed the key file: %v", got)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if r = sluice(t, "", "keys", "rotate", "--data-dir", dir); r.code != 0 {
			t.Fatalf("rotate: exit %d: %s", r.code, r.stderr)
		}
		if i == 0 {
			// The rerun finished the killed rotation: N is the only key.
			if got := keyFileIDs(t, keyPath); !slices.Equal(got, []string{keyN}) {
				t.Fatalf("key file after the rerun = %v; want only %s, the key the killed rotation added", got, keyN)
			}
			if got := query(t, dir, `SELECT DISTINCT key_id FROM secrets`); !slices.Equal(got, []string{keyN}) {
				t.Fatalf("secrets are under %v; want only %s", got, keyN)
			}
			if got := query(t, dir, `SELECT key_id FROM secret_keys`); !slices.Equal(got, []string{keyN}) {
				t.Fatalf("key records = %v; want only %s", got, keyN)
			}
		}
	}
	// The next rotate, on a finished rotation, added exactly one key.
	if got := keyFileIDs(t, keyPath); len(got) != 1 || got[0] == keyN || got[0] == old {
		t.Fatalf("key file after a second rotate = %v", got)
	}
	rcv := newReceiver(t)
	def := writeFile(t, "wf.json", `{"identifier": "uses-all", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/all", "headers": {"A": "{{ .secrets.S0 }}", "B": "{{ .secrets.S1 }}", "C": "{{ .secrets.S2 }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`)
	if r := sluice(t, "", "run", "-f", def, "--data-dir", dir, "--output", "json"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	got := rcv.byPath("/all")
	if len(got) != 1 || got[0].Header.Get("A") != values["S0"] || got[0].Header.Get("B") != values["S1"] || got[0].Header.Get("C") != values["S2"] {
		t.Fatalf("receiver got %+v", got)
	}
}

// TestDamagedKeyFile: a damaged master.key is named, said to be unreadable,
// and the way out (the backup) is given; it is never replaced.
func TestDamagedKeyFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"truncated", `{"version":1,"primary":"k1234abcd","keys":[{"id":"k1234`},
		{"wrong base64", `{"version":1,"primary":"k1234abcd","keys":[{"id":"k1234abcd","key":"***","createdAt":"2026-01-01T00:00:00Z"}]}`},
		{"wrong length", `{"version":1,"primary":"k1234abcd","keys":[{"id":"k1234abcd","key":"c2hvcnQ=","createdAt":"2026-01-01T00:00:00Z"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if r := sluice(t, "a-secret-value\n", "secrets", "set", "TOKEN", "--data-dir", dir); r.code != 0 {
				t.Fatalf("set: exit %d: %s", r.code, r.stderr)
			}
			keyPath := filepath.Join(dir, "master.key")
			if err := os.WriteFile(keyPath, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"secrets", "set", "OTHER"}, {"keys", "rotate"}} {
				r := sluice(t, "other-value\n", append(args, "--data-dir", dir)...)
				if r.code == 0 || !strings.Contains(r.stderr, "key file "+keyPath+" cannot be read") || !strings.Contains(r.stderr, "restore it from your backup") {
					t.Errorf("%v: exit %d; want the file named, unreadable, and the backup:\n%s", args, r.code, r.stderr)
				}
			}
			if b, _ := os.ReadFile(keyPath); string(b) != tc.content {
				t.Error("the damaged key file was replaced")
			}
		})
	}
}

// TestSecretValuesMustBeUTF8: a value that is not UTF-8 is refused, by
// `secrets set` and in a --secret-file, naming the field and not quoting
// the bytes; nothing is stored.
func TestSecretValuesMustBeUTF8(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := sluice(t, "abcd\xff\xfe", "secrets", "set", "BAD", "--data-dir", dir)
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "secretValue: must be valid UTF-8") || strings.Contains(r.stderr, "\xff") {
		t.Errorf("set: exit %d: %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "sluice.db")); err == nil {
		if got := query(t, dir, `SELECT name FROM secrets`); len(got) != 0 {
			t.Errorf("secrets stored: %v", got)
		}
	}
	def := writeFile(t, "wf.json", `{"identifier": "noop", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}}], "connections": []}`)
	sf := writeFile(t, "secrets.env", "GOOD=good-value\nBAD=abcd\xff\xfe\n")
	r = sluice(t, "", "run", "-f", def, "--secret-file", sf, "--data-dir", dir)
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "line 2: BAD: value must be valid UTF-8") || strings.Contains(r.stderr, "\xff") {
		t.Errorf("run --secret-file: exit %d: %q", r.code, r.stderr)
	}
}
