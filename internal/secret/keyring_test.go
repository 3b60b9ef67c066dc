package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey returns a deterministic key made of one repeated byte.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// envOf returns an Env function over a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func memRing(t *testing.T, keys ...[]byte) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEncryptFreshNonceAndRoundTrip(t *testing.T) {
	t.Parallel()
	r := memRing(t, testKey(1))
	pt := []byte("ghp_round-trip-value")
	id1, c1, err := r.Encrypt("TOKEN", pt)
	if err != nil {
		t.Fatal(err)
	}
	id2, c2, err := r.Encrypt("TOKEN", pt)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || id1 != KeyID(testKey(1)) {
		t.Fatalf("key ids %s %s, want %s", id1, id2, KeyID(testKey(1)))
	}
	if bytes.Equal(c1, c2) {
		t.Fatal("two encryptions of the same value are identical: nonce reused")
	}
	if bytes.Equal(c1[:nonceSize], c2[:nonceSize]) {
		t.Fatal("nonce reused")
	}
	if bytes.Contains(c1, pt) {
		t.Fatal("ciphertext contains the plaintext")
	}
	for _, c := range [][]byte{c1, c2} {
		got, err := r.Decrypt("TOKEN", id1, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q", got)
		}
	}
}

func TestKeyIDFormat(t *testing.T) {
	t.Parallel()
	id := KeyID(testKey(7))
	if len(id) != 9 || id[0] != 'k' || strings.Trim(id[1:], "0123456789abcdef") != "" {
		t.Fatalf("key id %q: want k + 8 hex digits", id)
	}
	if id == KeyID(testKey(8)) {
		t.Fatal("two keys share an id")
	}
}

// TestDecryptFailures covers every way a decryption fails: each names the
// secret, says why, and never returns a value.
func TestDecryptFailures(t *testing.T) {
	t.Parallel()
	const value = "s3cr3t-value-for-decrypt-failures"
	r := memRing(t, testKey(1))
	id, ct, err := r.Encrypt("DB_PASSWORD", []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name    string
		ring    *KeyRing
		secret  string
		keyID   string
		ct      []byte
		wantErr string
	}{
		{"moved to another name", r, "OTHER_NAME", id, ct,
			"secret OTHER_NAME cannot be decrypted: authentication failed (wrong key or tampered ciphertext)"},
		{"flipped byte in the sealed value", r, "DB_PASSWORD", id, flip(nonceSize + 2),
			"secret DB_PASSWORD cannot be decrypted: authentication failed (wrong key or tampered ciphertext)"},
		{"flipped byte in the nonce", r, "DB_PASSWORD", id, flip(0),
			"secret DB_PASSWORD cannot be decrypted: authentication failed (wrong key or tampered ciphertext)"},
		{"flipped byte in the tag", r, "DB_PASSWORD", id, flip(len(ct) - 1),
			"secret DB_PASSWORD cannot be decrypted: authentication failed (wrong key or tampered ciphertext)"},
		{"truncated", r, "DB_PASSWORD", id, ct[:nonceSize+3],
			"secret DB_PASSWORD cannot be decrypted: ciphertext is truncated"},
		{"empty", r, "DB_PASSWORD", id, nil,
			"secret DB_PASSWORD cannot be decrypted: ciphertext is truncated"},
		{"key not in the ring", memRing(t, testKey(2)), "DB_PASSWORD", id, ct,
			"secret DB_PASSWORD cannot be decrypted: key " + id + " is not in the key ring"},
		{"wrong key under the right id", ringWithForgedID(t, id, testKey(2)), "DB_PASSWORD", id, ct,
			"secret DB_PASSWORD cannot be decrypted: authentication failed (wrong key or tampered ciphertext)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ring.Decrypt(tt.secret, tt.keyID, tt.ct)
			if err == nil {
				t.Fatalf("decrypted %q; want an error", got)
			}
			if got != nil {
				t.Fatalf("returned %q together with an error", got)
			}
			if err.Error() != tt.wantErr {
				t.Fatalf("error %q\nwant  %q", err, tt.wantErr)
			}
			var de *DecryptError
			if !errors.As(err, &de) || de.Name != tt.secret || !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %#v is not a *DecryptError for %s", err, tt.secret)
			}
			if strings.Contains(err.Error(), value) {
				t.Fatal("error quotes the value")
			}
		})
	}
}

// ringWithForgedID returns a ring whose only key is raw but filed under id,
// as if the key file had been swapped for another one.
func ringWithForgedID(t *testing.T, id string, raw []byte) *KeyRing {
	r := memRing(t, raw)
	set := r.set.Load()
	k := *set.keys[set.primary]
	k.id = id
	r.set.Store(&keySet{keys: map[string]*ringKey{id: &k}, order: []string{id}, primary: id})
	return r
}

func TestLoadKeyRingFromEnv(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(1), testKey(2)
	tests := []struct {
		name    string
		env     string
		keyFile string
		wantIDs []string
		wantErr string
	}{
		{"one key", b64(k1), "", []string{KeyID(k1)}, ""},
		{"new,old with spaces", b64(k2) + " , " + b64(k1), "", []string{KeyID(k2), KeyID(k1)}, ""},
		{"not base64", "not*base64!", "", nil, "SLUICE_MASTER_KEY: key 1 of 1 is not valid base64"},
		{"16 bytes", b64(testKey(3)[:16]), "", nil, "SLUICE_MASTER_KEY: key 1 of 1 decodes to 16 bytes; want 32"},
		{"second key bad", b64(k1) + ",AAAA", "", nil, "SLUICE_MASTER_KEY: key 2 of 2 decodes to 3 bytes; want 32"},
		{"empty entry", b64(k1) + ",", "", nil, "SLUICE_MASTER_KEY: key 2 of 2 is empty"},
		{"same key twice", b64(k1) + "," + b64(k1), "", nil, "SLUICE_MASTER_KEY: key 2 of 2: the same key appears twice"},
		{"env and key file", b64(k1), "/some/file", nil, "both SLUICE_MASTER_KEY and a key file (/some/file) are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: tt.env}), KeyFile: tt.keyFile, DataDir: t.TempDir()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.env) {
					t.Fatal("error quotes the variable's value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.KeyIDs(); strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("key ids %v; want %v", got, tt.wantIDs)
			}
			if r.Path() != "" {
				t.Fatalf("env ring has a path %q", r.Path())
			}
		})
	}
}

func TestLoadKeyRingGeneratesDefaultFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer
	opts := KeyOptions{DataDir: dir, Env: envOf(nil), Generate: true, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	r, err := LoadKeyRing(opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DefaultKeyFileName)
	if r.Path() != path {
		t.Fatalf("path %q; want %q", r.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated key file mode %04o; want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), "production should supply its own key") {
		t.Fatalf("no warning logged: %s", logs.String())
	}
	data, _ := os.ReadFile(path)
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), kf.Keys[0].Key) {
		t.Fatal("the warning logs the key")
	}
	if kf.Primary != r.PrimaryKeyID() || kf.Keys[0].CreatedAt.IsZero() {
		t.Fatalf("key file %+v does not match the ring %s", kf, r.PrimaryKeyID())
	}

	// A second start loads the same key and does not warn again.
	logs.Reset()
	r2, err := LoadKeyRing(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r2.PrimaryKeyID() != r.PrimaryKeyID() || logs.Len() != 0 {
		t.Fatalf("second load: key %s (want %s), logs %q", r2.PrimaryKeyID(), r.PrimaryKeyID(), logs.String())
	}
}

func TestLoadKeyRingConcurrentGenerationAgrees(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 4
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := LoadKeyRing(KeyOptions{DataDir: dir, Env: envOf(nil), Generate: true})
			errs[i] = err
			if err == nil {
				ids[i] = r.PrimaryKeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("processes generated different keys: %v", ids)
		}
	}
}

func TestLoadKeyRingWithoutKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := LoadKeyRing(KeyOptions{DataDir: dir, Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), "no key: set SLUICE_MASTER_KEY, give a key file") {
		t.Fatalf("error %v; want a missing key error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultKeyFileName)); !os.IsNotExist(err) {
		t.Fatal("a key was generated without Generate")
	}
	if _, err := LoadKeyRing(KeyOptions{Env: envOf(nil)}); err == nil {
		t.Fatal("no data dir, no key: want an error")
	}
	if _, err := LoadKeyRing(KeyOptions{KeyFile: filepath.Join(dir, "missing.key"), Env: envOf(nil), Generate: true}); err == nil {
		t.Fatal("an explicit key file that does not exist must not be generated")
	}
}

// writeTestKeyFile writes a key file with the given keys (first primary) and
// mode.
func writeTestKeyFile(t *testing.T, path string, mode os.FileMode, keys ...[]byte) {
	t.Helper()
	set, err := newKeySet(keys, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyFile(path, set, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFilePermissions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o644, false}, {0o640, false}, {0o606, false}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ring.json")
			writeTestKeyFile(t, path, tt.mode, testKey(1))
			r, err := LoadKeyRing(KeyOptions{KeyFile: path, Env: envOf(nil)})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if r.PrimaryKeyID() != KeyID(testKey(1)) {
					t.Fatalf("primary %s", r.PrimaryKeyID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "wider than 0600") || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v; want a refusal naming the file and its permissions", err)
			}
		})
	}
}

// TestKeyFileErrors checks that a damaged key file is refused with an error
// that names the file, says it cannot be read and to restore it from the
// backup, and quotes no byte of a key; a file of another version is not
// called damaged.
func TestKeyFileErrors(t *testing.T) {
	t.Parallel()
	good := b64(testKey(9))
	id := KeyID(testKey(9))
	tests := []struct {
		name    string
		content string
		wantErr string
		damaged bool
	}{
		{"empty file", "", "it is empty", true},
		{"only whitespace", " \n", "it is empty", true},
		{"not JSON", good, "not valid JSON (at byte", true},
		{"truncated JSON", `{"version":1,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + good, "not valid JSON", true},
		{"wrong version", `{"version":2,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + good + `"}]}`, "version 2: this version of sluice does not support it", false},
		{"no keys", `{"version":1,"primary":"` + id + `","keys":[]}`, "keys: no key", true},
		{"key not base64", `{"version":1,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + good[:10] + `*"}]}`, "keys[0].key: not valid base64", true},
		{"short key", `{"version":1,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + b64(testKey(9)[:20]) + `"}]}`, "keys[0].key: key is 20 bytes; want 32", true},
		{"long key", `{"version":1,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + b64(append(testKey(9), 1)) + `"}]}`, "keys[0].key: key is 33 bytes; want 32", true},
		{"id mismatch", `{"version":1,"primary":"kdeadbeef","keys":[{"id":"kdeadbeef","key":"` + good + `"}]}`, "keys[0].id: kdeadbeef does not match the key", true},
		{"primary missing", `{"version":1,"primary":"k00000000","keys":[{"id":"` + id + `","key":"` + good + `"}]}`, "primary: k00000000 is not one of the keys", true},
		{"unknown field", `{"version":1,"primary":"` + id + `","keys":[{"id":"` + id + `","key":"` + good + `","x":1}]}`, "not a valid key file", true},
		{"wrong type", `{"version":"1","primary":"` + id + `","keys":[]}`, "field version has the wrong type", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The explicit key file, and the data dir's master.key,
			// which must not be replaced by a generated key.
			dir := t.TempDir()
			explicit := filepath.Join(dir, "ring.json")
			dataDir := t.TempDir()
			def := filepath.Join(dataDir, DefaultKeyFileName)
			for _, p := range []string{explicit, def} {
				if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				path string
				opts KeyOptions
			}{
				{explicit, KeyOptions{KeyFile: explicit, Env: envOf(nil)}},
				{def, KeyOptions{DataDir: dataDir, Env: envOf(nil), Generate: true}},
			} {
				_, err := LoadKeyRing(c.opts)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), c.path) {
					t.Fatalf("error %v; want %q naming the file %s", err, tt.wantErr, c.path)
				}
				msg := err.Error()
				if got := errors.Is(err, ErrKeyFileDamaged); got != tt.damaged {
					t.Errorf("errors.Is(err, ErrKeyFileDamaged) = %v, want %v", got, tt.damaged)
				}
				if tt.damaged && (!strings.Contains(msg, "cannot be read") || !strings.Contains(msg, "restore it from your backup")) {
					t.Errorf("error does not say the file cannot be read and to restore it: %v", msg)
				}
				if strings.Contains(msg, good[:8]) || strings.Contains(msg, good[len(good)-12:]) {
					t.Fatalf("error quotes key material: %v", msg)
				}
			}
			if b, err := os.ReadFile(def); err != nil || string(b) != tt.content {
				t.Errorf("the damaged %s was replaced (%v)", def, err)
			}
		})
	}
}

// TestDecryptReloadsKeyFile: a ring that meets an unknown key id rereads
// its file (another process rotated) and decrypts; a key in neither fails.
func TestDecryptReloadsKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ring.json")
	writeTestKeyFile(t, path, 0o600, testKey(1))
	opts := KeyOptions{KeyFile: path, Env: envOf(nil)}
	server, err := LoadKeyRing(opts)
	if err != nil {
		t.Fatal(err)
	}
	rotator, err := LoadKeyRing(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rotator.addPrimary(testKey(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	id, ct, err := rotator.Encrypt("API_KEY", []byte("value-under-the-new-key"))
	if err != nil {
		t.Fatal(err)
	}
	if id != KeyID(testKey(2)) {
		t.Fatalf("rotator encrypted with %s", id)
	}

	// Many goroutines meet the new id at once: all succeed.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := server.Decrypt("API_KEY", id, ct)
			if err == nil && string(got) != "value-under-the-new-key" {
				err = errors.New("wrong value")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// The server now encrypts with the new primary.
	if got, _, err := server.Encrypt("X", []byte("abcd")); err != nil || got != id {
		t.Fatalf("server encrypts with %s (%v); want %s", got, err, id)
	}
	if _, err := server.Decrypt("API_KEY", "k00000000", ct); err == nil || !strings.Contains(err.Error(), "key k00000000 is not in the key ring") {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestEncryptFollowsKeyFileChange: a ring whose file was replaced by
// another process seals new values with the new primary.
func TestEncryptFollowsKeyFileChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ring.json")
	writeTestKeyFile(t, path, 0o600, testKey(1))
	r, err := LoadKeyRing(KeyOptions{KeyFile: path, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	writeTestKeyFile(t, path, 0o600, testKey(2), testKey(1))
	id, _, err := r.Encrypt("X", []byte("abcd"))
	if err != nil {
		t.Fatal(err)
	}
	if id != KeyID(testKey(2)) {
		t.Fatalf("encrypted with %s; want the new primary %s", id, KeyID(testKey(2)))
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Encrypt("X", []byte("abcd")); err == nil {
		t.Fatal("encrypting with a key file that vanished must fail")
	}
}

func TestWriteKeyFileAtomicAndPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ring.json")
	writeTestKeyFile(t, path, 0o600, testKey(1))
	r, err := LoadKeyRing(KeyOptions{KeyFile: path, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.addPrimary(testKey(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	retired, err := r.retireAllBut(KeyID(testKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(retired) != 1 || retired[0] != KeyID(testKey(1)) {
		t.Fatalf("retired %v", retired)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o after rewrite", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(b64(testKey(1)))) {
		t.Fatal("the retired key is still in the file")
	}
	if _, err := r.retireAllBut(KeyID(testKey(1))); err == nil {
		t.Fatal("retiring the primary must fail")
	}
}
