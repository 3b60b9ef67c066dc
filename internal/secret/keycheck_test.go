package secret

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// openStore opens a real SQLite store in a temporary directory.
func openStore(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.db")
	st, err := sqlitetest.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// rawSQL changes the database file behind the store's back: what a store
// written before key records (or a tampered one) looks like.
func rawSQL(t *testing.T, dbPath, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatal(err)
	}
}

// records returns the key records as "id=fingerprint" strings.
func records(t *testing.T, st store.Store) []string {
	t.Helper()
	recs, err := st.ListSecretKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s=%x", r.ID, r.Fingerprint)
	}
	return out
}

// recordsOf is what records returns for a store written with keys.
func recordsOf(keys ...[]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s=%x", KeyID(k), Fingerprint(k))
	}
	slices.Sort(out)
	return out
}

func secretNames(t *testing.T, st store.Store) []string {
	t.Helper()
	secs, err := st.ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range secs {
		out = append(out, s.Name)
	}
	return out
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a, b := testKey(1), testKey(2)
	fa := Fingerprint(a)
	if len(fa) != 32 || slices.Equal(fa, Fingerprint(b)) || !slices.Equal(fa, Fingerprint(testKey(1))) {
		t.Fatalf("Fingerprint is not a stable 32-byte value that tells keys apart")
	}
	if strings.Contains(string(fa), string(a[:8])) || slices.Equal(fa, a) {
		t.Fatal("the fingerprint holds the key")
	}
}

// TestCheckKeyRing opens a service over stores in various states with
// various rings: a ring that lacks a key the secrets were written with is
// refused, naming the key, changing nothing.
func TestCheckKeyRing(t *testing.T) {
	t.Parallel()
	keyA, keyB := testKey(0xA), testKey(0xB)
	idA := KeyID(keyA)
	tests := []struct {
		name string
		// empty leaves the store without secrets; otherwise S1 and S2
		// are written with key A, then setup changes the store.
		empty   bool
		setup   func(t *testing.T, st store.Store, dbPath string)
		ring    func(t *testing.T) *KeyRing
		wantErr string   // "" for success
		records []string // after Open
	}{
		{
			name:    "empty store accepts any ring",
			empty:   true,
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyB) },
			records: nil,
		},
		{
			name:    "the ring the secrets were written with",
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyA) },
			records: recordsOf(keyA),
		},
		{
			name:    "a ring that holds the key among others",
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyB, keyA) },
			records: recordsOf(keyA),
		},
		{
			name:    "another key",
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyB) },
			wantErr: "the store's secrets were written with key " + idA + " (not in this key ring; 2 secret(s): S1, S2)",
			records: recordsOf(keyA),
		},
		{
			name: "another key from SLUICE_MASTER_KEY",
			ring: func(t *testing.T) *KeyRing {
				r, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: b64(keyB)})})
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
			wantErr: "SLUICE_MASTER_KEY holds [" + KeyID(keyB) + "]: set SLUICE_MASTER_KEY to the key ring those secrets were written with",
			records: recordsOf(keyA),
		},
		{
			name: "another key from a key file",
			ring: func(t *testing.T) *KeyRing {
				path := filepath.Join(t.TempDir(), "master.key")
				writeTestKeyFile(t, path, 0o600, keyB)
				r, err := LoadKeyRing(KeyOptions{KeyFile: path, Env: envOf(nil)})
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
			wantErr: "master.key from your backup",
			records: recordsOf(keyA),
		},
		{
			name: "a record whose fingerprint is not the ring key's",
			setup: func(t *testing.T, _ store.Store, dbPath string) {
				rawSQL(t, dbPath, `UPDATE secret_keys SET fingerprint = x'00'`)
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyA) },
			wantErr: "key " + idA + " (fingerprint mismatch",
			records: []string{idA + "=00"},
		},
		{
			name: "a record no secret uses does not count",
			setup: func(t *testing.T, st store.Store, _ string) {
				if err := st.AddSecretKey(t.Context(), store.SecretKey{ID: "kgone0000", Fingerprint: []byte("fp")}); err != nil {
					t.Fatal(err)
				}
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyA) },
			records: append(recordsOf(keyA), "kgone0000=6670"),
		},
		{
			name: "a store from before key records is upgraded with the key that decrypts it",
			setup: func(t *testing.T, _ store.Store, dbPath string) {
				rawSQL(t, dbPath, `DELETE FROM secret_keys`)
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyB, keyA) },
			records: recordsOf(keyA),
		},
		{
			name: "a store from before key records with another key",
			setup: func(t *testing.T, _ store.Store, dbPath string) {
				rawSQL(t, dbPath, `DELETE FROM secret_keys`)
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyB) },
			wantErr: "key " + idA + " (not in this key ring; 2 secret(s)",
			records: nil,
		},
		{
			name: "a store from before key records whose key does not decrypt",
			setup: func(t *testing.T, _ store.Store, dbPath string) {
				rawSQL(t, dbPath, `DELETE FROM secret_keys`)
				rawSQL(t, dbPath, `UPDATE secrets SET ciphertext = zeroblob(40)`)
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyA) },
			wantErr: "key " + idA + " (does not decrypt its secrets",
			records: nil,
		},
		{
			name: "a store from before key records: one decryptable secret is enough",
			setup: func(t *testing.T, _ store.Store, dbPath string) {
				rawSQL(t, dbPath, `DELETE FROM secret_keys`)
				rawSQL(t, dbPath, `UPDATE secrets SET ciphertext = zeroblob(40) WHERE name = 'S1'`)
			},
			ring:    func(t *testing.T) *KeyRing { return memRing(t, keyA) },
			records: recordsOf(keyA),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, dbPath := openStore(t)
			ctx := t.Context()
			if !tt.empty {
				writer := NewService(st, memRing(t, keyA))
				for _, n := range []string{"S1", "S2"} {
					if _, err := writer.Create(ctx, "admin", n, "value-of-"+n, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.setup != nil {
				tt.setup(t, st, dbPath)
			}
			wantNames := secretNames(t, st)
			svc, err := Open(ctx, st, tt.ring(t))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tt.wantErr != "":
				if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open: %v; want ErrKeyMismatch containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "value-of-") {
					t.Fatalf("the error quotes a value: %v", err)
				}
				// A service made without Open refuses every write and
				// read of a value too, and changes nothing.
				lazy := NewService(st, tt.ring(t))
				_, cerr := lazy.Create(ctx, "admin", "NEW", "a-new-value", "")
				_, uerr := lazy.Update(ctx, "admin", "S1", ptr("another-value"), nil)
				_, rerr := lazy.Resolve(ctx, ResolveRef{}, []string{"S1"})
				_, oerr := lazy.Rotate(ctx, "admin")
				for what, err := range map[string]error{"Create": cerr, "Update": uerr, "Resolve": rerr, "Rotate": oerr} {
					if !errors.Is(err, ErrKeyMismatch) {
						t.Errorf("%s with the wrong ring: %v; want ErrKeyMismatch", what, err)
					}
				}
			}
			if got := records(t, st); !slices.Equal(got, tt.records) {
				t.Errorf("key records = %v, want %v", got, tt.records)
			}
			if got := secretNames(t, st); !slices.Equal(got, wantNames) {
				t.Errorf("secrets = %v, want %v", got, wantNames)
			}
			if svc != nil && len(wantNames) > 0 {
				assertResolves(t, svc, map[string]string{"S2": "value-of-S2"})
			}
		})
	}
}

// TestWrongKeyDoesNotSplitTheStore is the scenario of issue 7 item 8 at the
// service level: secrets written with key A, a process started with key B
// must not write under B; with A again everything works.
func TestWrongKeyDoesNotSplitTheStore(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	ctx := t.Context()
	keyA, keyB := testKey(0xA), testKey(0xB)
	a := NewService(st, memRing(t, keyA))
	if _, err := a.Create(ctx, "admin", "TOKEN", "token-value", ""); err != nil {
		t.Fatal(err)
	}
	b := NewService(st, memRing(t, keyB))
	_, err := b.Create(ctx, "admin", "OTHER", "other-value", "")
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), KeyID(keyA)) {
		t.Fatalf("create with the wrong key: %v; want a refusal naming %s", err, KeyID(keyA))
	}
	if got := secretNames(t, st); !slices.Equal(got, []string{"TOKEN"}) {
		t.Fatalf("secrets after the refused create = %v", got)
	}
	if got := records(t, st); !slices.Equal(got, recordsOf(keyA)) {
		t.Fatalf("key records after the refused create = %v", got)
	}
	a2, err := Open(ctx, st, memRing(t, keyA))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Create(ctx, "admin", "OTHER", "other-value", ""); err != nil {
		t.Fatal(err)
	}
	assertResolves(t, a2, map[string]string{"TOKEN": "token-value", "OTHER": "other-value"})
}

// crashingStore fails one call, as a process killed at that point would:
// before the call (nothing applied) or after it (applied, never reported).
type crashingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
	// crash says, for the n-th call of op, whether to fail it "before" or
	// "after" applying it ("" to let it through).
	crash func(op string, n int, calls map[string]int) string
}

var errCrash = errors.New("simulated crash")

func (c *crashingStore) at(op string, apply func() error) error {
	c.mu.Lock()
	c.calls[op]++
	when := c.crash(op, c.calls[op], c.calls)
	c.mu.Unlock()
	switch when {
	case "before":
		return errCrash
	case "after":
		if err := apply(); err != nil {
			return err
		}
		return errCrash
	}
	return apply()
}

func (c *crashingStore) UpdateSecret(ctx context.Context, s store.Secret, if_ time.Time, ev store.AuditEvent) error {
	return c.at("UpdateSecret", func() error { return c.Store.UpdateSecret(ctx, s, if_, ev) })
}

func (c *crashingStore) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	var out []store.Secret
	err := c.at("ListSecrets", func() (err error) { out, err = c.Store.ListSecrets(ctx); return err })
	return out, err
}

func (c *crashingStore) DeleteSecretKey(ctx context.Context, id string) error {
	return c.at("DeleteSecretKey", func() error { return c.Store.DeleteSecretKey(ctx, id) })
}

// TestRotateResumes stops a rotation at each step and runs it again, as
// after a killed `sluice keys rotate`: the rerun finishes the same rotation
// (exactly one key added in all), every secret decrypts, and the key file
// and the key records hold only the new key.
func TestRotateResumes(t *testing.T) {
	t.Parallel()
	const n = 4
	tests := []struct {
		name  string
		crash func(op string, k int, calls map[string]int) string
	}{
		{"after adding the key", func(op string, k int, _ map[string]int) string {
			return when(op == "UpdateSecret" && k == 1, "before")
		}},
		{"after 1 secret", func(op string, k int, _ map[string]int) string {
			return when(op == "UpdateSecret" && k == 1, "after")
		}},
		{"after 3 secrets", func(op string, k int, _ map[string]int) string {
			return when(op == "UpdateSecret" && k == 3, "after")
		}},
		{"after every secret, before retiring the old key", func(op string, k int, _ map[string]int) string {
			return when(op == "UpdateSecret" && k == n, "after")
		}},
		{"after retiring the old key, before the final sweep", func(op string, _ int, calls map[string]int) string {
			return when(op == "ListSecrets" && calls["UpdateSecret"] == n, "before")
		}},
		{"before removing the old key's record", func(op string, k int, _ map[string]int) string {
			return when(op == "DeleteSecretKey" && k == 1, "before")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			want := map[string]string{}
			for i := range n {
				name, value := fmt.Sprintf("S%d", i), fmt.Sprintf("value-%d-of-the-rotation-test", i)
				want[name] = value
				if _, err := f.svc.Create(ctx, "admin", name, value, ""); err != nil {
					t.Fatal(err)
				}
			}
			oldID := f.svc.Ring().PrimaryKeyID()

			// The first rotation stops at the crash point.
			ring1, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
			if err != nil {
				t.Fatal(err)
			}
			cs := &crashingStore{Store: f.st, calls: map[string]int{}, crash: tt.crash}
			if _, err := NewService(cs, ring1).Rotate(ctx, "admin"); !errors.Is(err, errCrash) {
				t.Fatalf("first rotation: %v; want the simulated crash", err)
			}
			added := readKeyFileIDs(t, f.keyPath)[0]
			if added == oldID {
				t.Fatal("the first rotation added no key")
			}
			// Every secret decrypts in between, with the file as left.
			assertResolves(t, NewService(f.st, loadFile(t, f.keyPath)), want)

			// A killed process leaves its lock file: the rerun says what
			// to do, and changes nothing.
			lock := f.keyPath + ".rotating"
			if err := os.WriteFile(lock, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			before := readKeyFileIDs(t, f.keyPath)
			_, err = NewService(f.st, loadFile(t, f.keyPath)).Rotate(ctx, "admin")
			if err == nil || !strings.Contains(err.Error(), "remove "+lock+" and run `sluice keys rotate` again") {
				t.Fatalf("rotate with a leftover lock file: %v", err)
			}
			if got := readKeyFileIDs(t, f.keyPath); !slices.Equal(got, before) {
				t.Fatalf("a refused rotation changed the key file: %v, was %v", got, before)
			}
			if err := os.Remove(lock); err != nil {
				t.Fatal(err)
			}

			// The rerun finishes: no other key.
			res, err := NewService(f.st, loadFile(t, f.keyPath)).Rotate(ctx, "admin")
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if res.NewKeyID != added {
				t.Fatalf("rerun finished with key %s; want %s, the key the stopped rotation added", res.NewKeyID, added)
			}
			if got := readKeyFileIDs(t, f.keyPath); !slices.Equal(got, []string{added}) {
				t.Fatalf("key file after the rerun holds %v; want only %s", got, added)
			}
			ring := loadFile(t, f.keyPath)
			if got := records(t, f.st); len(got) != 1 || !strings.HasPrefix(got[0], added+"=") {
				t.Fatalf("key records after the rerun = %v; want only %s", got, added)
			}
			secs, err := f.st.ListSecrets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secs {
				if s.KeyID != added {
					t.Errorf("%s is under key %s, not %s", s.Name, s.KeyID, added)
				}
			}
			assertResolves(t, NewService(f.st, ring), want)

			// Running it again on a finished rotation starts a new one:
			// exactly one more key.
			res2, err := NewService(f.st, ring).Rotate(ctx, "admin")
			if err != nil {
				t.Fatal(err)
			}
			if got := readKeyFileIDs(t, f.keyPath); len(got) != 1 || got[0] != res2.NewKeyID || res2.NewKeyID == added || res2.Reencrypted != n {
				t.Fatalf("the next rotation: %+v, key file %v", res2, got)
			}
			assertResolves(t, NewService(f.st, loadFile(t, f.keyPath)), want)
		})
	}
}

func when(cond bool, what string) string {
	if cond {
		return what
	}
	return ""
}

func loadFile(t *testing.T, path string) *KeyRing {
	t.Helper()
	r, err := LoadKeyRing(KeyOptions{KeyFile: path, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readKeyFileIDs returns the key file's key ids, primary first.
func readKeyFileIDs(t *testing.T, path string) []string {
	t.Helper()
	return loadFile(t, path).KeyIDs()
}

// TestRotateEnvironmentRingRecords runs the three-step procedure for
// SLUICE_MASTER_KEY and checks the key records follow: after step 2 only
// NEW is recorded, so step 3 (NEW alone) passes the check, while NEW alone
// before step 2 is refused naming OLD.
func TestRotateEnvironmentRingRecords(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	ctx := t.Context()
	oldKey, newKey := testKey(1), testKey(2)
	env := func(v string) *KeyRing {
		r, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: v})})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	old, err := Open(ctx, st, env(b64(oldKey)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Create(ctx, "admin", "ENV_SECRET", "env-secret-value", ""); err != nil {
		t.Fatal(err)
	}
	// Step 3 too early: NEW alone cannot read what OLD wrote.
	if _, err := Open(ctx, st, env(b64(newKey))); !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), KeyID(oldKey)) {
		t.Fatalf("NEW alone before the rotation: %v; want a refusal naming %s", err, KeyID(oldKey))
	}
	both, err := Open(ctx, st, env(b64(newKey)+","+b64(oldKey)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a rerun of step 2 changes nothing and adds nothing
		res, err := both.Rotate(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if res.NewKeyID != KeyID(newKey) || !strings.Contains(res.Notice, KeyID(oldKey)) {
			t.Fatalf("rotate result %+v", res)
		}
		if got := records(t, st); !slices.Equal(got, recordsOf(newKey)) {
			t.Fatalf("key records after step 2 = %v; want only NEW", got)
		}
	}
	onlyNew, err := Open(ctx, st, env(b64(newKey)))
	if err != nil {
		t.Fatal(err)
	}
	assertResolves(t, onlyNew, map[string]string{"ENV_SECRET": "env-secret-value"})
	// With NEW alone and everything finished, rotate explains the procedure.
	if _, err := onlyNew.Rotate(ctx, "admin"); !errors.Is(err, ErrRotate) {
		t.Fatalf("rotate with one env key: %v; want ErrRotate", err)
	}
}
