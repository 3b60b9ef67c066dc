package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// EnvMasterKey is the environment variable that holds the key ring as
	// base64 keys separated by commas, the first one primary.
	EnvMasterKey = "SLUICE_MASTER_KEY"
	// DefaultKeyFileName is the key file's name inside the data dir.
	DefaultKeyFileName = "master.key"

	// KeySize is the size of a key in bytes (AES-256).
	KeySize = 32

	nonceSize      = 12
	keyFileVersion = 1
	maxKeyFileSize = 1 << 20
	// keyIDDomain separates key-id hashing from any other use of a key.
	keyIDDomain = "sluice key id\x00"
	// fingerprintDomain separates the fingerprint's HMAC from any other use
	// of a key.
	fingerprintDomain = "sluice key fingerprint v1\x00"
)

// KeyOptions says where LoadKeyRing finds the key ring.
type KeyOptions struct {
	// DataDir is the data directory; the default key file is
	// <DataDir>/master.key.
	DataDir string
	// KeyFile is an explicit key file path. It must exist. Setting both
	// KeyFile and SLUICE_MASTER_KEY is an error.
	KeyFile string
	// Env reads an environment variable: os.Getenv in production, a map in
	// tests. Nil means os.Getenv.
	Env func(string) string
	// Generate creates <DataDir>/master.key when no key is configured and
	// none exists yet. Only the embedded default mode sets it.
	Generate bool
	// Logger receives the warning about a generated key. Nil discards.
	Logger *slog.Logger
}

// ringSource is where a ring's keys come from.
type ringSource int

const (
	sourceMemory ringSource = iota
	sourceEnv
	sourceFile
)

// ringKey is one key of the ring.
type ringKey struct {
	id      string
	fp      []byte // Fingerprint(raw)
	created time.Time
	raw     []byte
	aead    cipher.AEAD
}

// keySet is an immutable snapshot of the ring's keys. A KeyRing replaces
// its snapshot whole, so readers never lock.
type keySet struct {
	keys    map[string]*ringKey
	order   []string // as in the file or variable; primary first when generated
	primary string
	stat    os.FileInfo // the key file as it was when read or written
}

// KeyRing holds the AES-256-GCM keys that encrypt secret values: one primary
// key that encrypts, and older keys that still decrypt. It is safe for
// concurrent use.
type KeyRing struct {
	source ringSource
	path   string // key file, for sourceFile

	set atomic.Pointer[keySet]
	// fileMu serializes reads and writes of the key file, so a reload
	// never interleaves with a rotation step of this process.
	fileMu sync.Mutex
}

// NewKeyRing returns an in-memory ring made of the given 32-byte keys, the
// first one primary. It cannot be rotated in place; it is meant for tests
// and for embedding sluice as a library.
func NewKeyRing(keys ...[]byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("key ring: no key given")
	}
	set, err := newKeySet(keys, time.Now(), func(i int) string { return fmt.Sprintf("key %d of %d", i+1, len(keys)) })
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	r := &KeyRing{source: sourceMemory}
	r.set.Store(set)
	return r, nil
}

// GenerateKey returns a new random 32-byte key.
func GenerateKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// KeyID returns the id of a key: "k" and the first 8 hex digits of a
// SHA-256 over a domain prefix and the key. The same key always has the same
// id, in a file or in SLUICE_MASTER_KEY.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte(keyIDDomain))
	h.Write(key)
	return "k" + hex.EncodeToString(h.Sum(nil)[:4])
}

// Fingerprint returns the keyed fingerprint of a key that the store records
// next to its id: HMAC-SHA256 keyed with the key over a domain prefix and
// the key's id. It is one-way (it reveals nothing of the key, and cannot be
// computed without it) and tells two keys apart even if their short ids
// collided.
func Fingerprint(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(fingerprintDomain))
	m.Write([]byte(KeyID(key)))
	return m.Sum(nil)
}

// LoadKeyRing loads the key ring from, in order: SLUICE_MASTER_KEY, the key
// file opts.KeyFile, or <DataDir>/master.key. When none is configured and the
// default file does not exist, it generates the default file (mode 0600) if
// opts.Generate is set, with a warning that production should supply its own
// key; otherwise it fails. A key file readable or writable by group or others
// is refused. No error ever quotes key material.
func LoadKeyRing(opts KeyOptions) (*KeyRing, error) {
	getenv := opts.Env
	if getenv == nil {
		getenv = os.Getenv
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	env := getenv(EnvMasterKey)
	switch {
	case env != "" && opts.KeyFile != "":
		return nil, fmt.Errorf("key ring: both %s and a key file (%s) are set; set only one", EnvMasterKey, opts.KeyFile)
	case env != "":
		set, err := parseEnvKeys(env)
		if err != nil {
			return nil, err
		}
		r := &KeyRing{source: sourceEnv}
		r.set.Store(set)
		return r, nil
	case opts.KeyFile != "":
		return loadFileRing(opts.KeyFile)
	case opts.DataDir == "":
		return nil, fmt.Errorf("key ring: no key: set %s or give a key file", EnvMasterKey)
	}

	path := filepath.Join(opts.DataDir, DefaultKeyFileName)
	r, err := loadFileRing(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	if !opts.Generate {
		return nil, fmt.Errorf("key ring: no key: set %s, give a key file, or create %s (%w)", EnvMasterKey, path, err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("key ring: create data dir: %w", err)
	}
	raw, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	set, err := newKeySet([][]byte{raw}, time.Now(), nil)
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	if err := writeKeyFile(path, set, true); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process generated it first: use theirs.
			return loadFileRing(path)
		}
		return nil, err
	}
	logger.Warn("generated a new master key; production should supply its own key ("+EnvMasterKey+" or a key file) and back it up, since without it no secret can be decrypted",
		"path", path, "keyId", set.primary)
	return loadFileRing(path)
}

// loadFileRing reads a key file into a new ring.
func loadFileRing(path string) (*KeyRing, error) {
	set, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	r := &KeyRing{source: sourceFile, path: path}
	r.set.Store(set)
	return r, nil
}

// PrimaryKeyID returns the id of the key that encrypts.
func (r *KeyRing) PrimaryKeyID() string { return r.set.Load().primary }

// KeyIDs returns the ids of every key in the ring, primary first.
func (r *KeyRing) KeyIDs() []string {
	set := r.set.Load()
	ids := []string{set.primary}
	for _, id := range set.order {
		if id != set.primary {
			ids = append(ids, id)
		}
	}
	return ids
}

// Path returns the key file's path, or "" when the ring does not come from
// a file.
func (r *KeyRing) Path() string { return r.path }

// Encrypt seals plaintext with the primary key under a fresh random nonce,
// binding the secret's name as additional data. It returns the key's id and
// nonce||sealed. For a file ring it first rereads the key file when the file
// changed on disk (a rotation by another process), so new values are sealed
// with the current primary key.
func (r *KeyRing) Encrypt(name string, plaintext []byte) (keyID string, ciphertext []byte, err error) {
	k, ct, err := r.encrypt(name, plaintext)
	if err != nil {
		return "", nil, err
	}
	return k.id, ct, nil
}

// encrypt is Encrypt, returning the key that sealed.
func (r *KeyRing) encrypt(name string, plaintext []byte) (*ringKey, []byte, error) {
	set := r.set.Load()
	if r.source == sourceFile {
		var err error
		if set, err = r.refresh(set); err != nil {
			return nil, nil, fmt.Errorf("encrypt secret %s: %w", name, err)
		}
	}
	k := set.keys[set.primary]
	return k, seal(k, name, plaintext), nil
}

// lookup returns the ring's key id, or nil. A file ring that lacks it
// rereads the key file once first (a rotation may have added it).
func (r *KeyRing) lookup(id string) (*ringKey, error) {
	set := r.set.Load()
	if k := set.keys[id]; k != nil || r.source != sourceFile {
		return k, nil
	}
	fresh, err := r.reload(set)
	return fresh.keys[id], err
}

// describe says where the ring comes from, for messages.
func (r *KeyRing) describe() string {
	switch r.source {
	case sourceEnv:
		return EnvMasterKey
	case sourceFile:
		return "the key file " + r.path
	}
	return "the in-memory key ring"
}

// seal encrypts with one key.
func seal(k *ringKey, name string, plaintext []byte) []byte {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return k.aead.Seal(out, out, plaintext, []byte(name))
}

// Decrypt opens a ciphertext made by Encrypt for the secret name with the
// key keyID. When the key is not in the ring and the ring comes from a file,
// it rereads the file once (a rotation may have added it) and retries. It
// fails with a *DecryptError naming the secret; it never returns a partial
// or empty value in place of an error.
func (r *KeyRing) Decrypt(name, keyID string, ciphertext []byte) ([]byte, error) {
	set := r.set.Load()
	k := set.keys[keyID]
	reason := ""
	if k == nil && r.source == sourceFile {
		fresh, err := r.reload(set)
		if err != nil {
			reason = " (rereading the key file failed: " + err.Error() + ")"
		}
		k = fresh.keys[keyID]
	}
	if k == nil {
		return nil, &DecryptError{Name: name, KeyID: keyID, Reason: "key " + keyID + " is not in the key ring" + reason, keyMissing: true}
	}
	return open(k, name, ciphertext)
}

// open decrypts with one key.
func open(k *ringKey, name string, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < nonceSize+k.aead.Overhead() {
		return nil, &DecryptError{Name: name, KeyID: k.id, Reason: "ciphertext is truncated"}
	}
	pt, err := k.aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], []byte(name))
	if err != nil {
		return nil, &DecryptError{Name: name, KeyID: k.id, Reason: "authentication failed (wrong key or tampered ciphertext)"}
	}
	return pt, nil
}

// reload rereads the key file unless another goroutine replaced the
// snapshot seen since the caller loaded it, and returns the current
// snapshot. On error the current snapshot is kept.
func (r *KeyRing) reload(seen *keySet) (*keySet, error) {
	r.fileMu.Lock()
	defer r.fileMu.Unlock()
	if cur := r.set.Load(); cur != seen {
		return cur, nil
	}
	set, err := readKeyFile(r.path)
	if err != nil {
		return seen, err
	}
	r.set.Store(set)
	return set, nil
}

// refresh rereads the key file when it is no longer the file last read or
// written (renamed over, or changed in place).
func (r *KeyRing) refresh(seen *keySet) (*keySet, error) {
	fi, err := os.Stat(r.path)
	if err != nil {
		return seen, fmt.Errorf("key file: %w", err)
	}
	if seen.stat != nil && os.SameFile(fi, seen.stat) && fi.ModTime().Equal(seen.stat.ModTime()) && fi.Size() == seen.stat.Size() {
		return seen, nil
	}
	return r.reload(seen)
}

// addPrimary adds a new key to the key file as primary, keeping the keys
// the file holds now, and returns the new key and the snapshot from before.
func (r *KeyRing) addPrimary(raw []byte, now time.Time) (*ringKey, *keySet, error) {
	r.fileMu.Lock()
	defer r.fileMu.Unlock()
	old, err := readKeyFile(r.path)
	if err != nil {
		return nil, nil, err
	}
	nk, err := newRingKey(raw, now)
	if err != nil {
		return nil, nil, err
	}
	if _, dup := old.keys[nk.id]; dup {
		return nil, nil, fmt.Errorf("key file %s: key %s is already in the ring", r.path, nk.id)
	}
	set := &keySet{keys: map[string]*ringKey{nk.id: nk}, order: []string{nk.id}, primary: nk.id}
	for _, id := range old.order {
		set.keys[id] = old.keys[id]
		set.order = append(set.order, id)
	}
	if err := writeKeyFile(r.path, set, false); err != nil {
		return nil, nil, err
	}
	r.set.Store(set)
	return nk, old, nil
}

// retireAllBut removes every key except keep from the key file. keep must
// still be the file's primary key, or another rotation interfered.
func (r *KeyRing) retireAllBut(keep string) (retired []string, err error) {
	r.fileMu.Lock()
	defer r.fileMu.Unlock()
	cur, err := readKeyFile(r.path)
	if err != nil {
		return nil, err
	}
	if cur.primary != keep {
		return nil, fmt.Errorf("key file %s: primary key is %s, not %s: another rotation ran meanwhile", r.path, cur.primary, keep)
	}
	set := &keySet{keys: map[string]*ringKey{keep: cur.keys[keep]}, order: []string{keep}, primary: keep}
	for _, id := range cur.order {
		if id != keep {
			retired = append(retired, id)
		}
	}
	if err := writeKeyFile(r.path, set, false); err != nil {
		return nil, err
	}
	r.set.Store(set)
	return retired, nil
}

// lockRotation takes the key file's rotation lock, a file created
// exclusively next to it, so two processes never rotate at once.
func (r *KeyRing) lockRotation() (unlock func(), err error) {
	lock := r.path + ".rotating"
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("key rotation: the lock file %s exists: another `sluice keys rotate` is running, or one was killed. "+
				"If none is running, remove %s and run `sluice keys rotate` again: it finishes the interrupted rotation without adding a key "+
				"(every secret stays decryptable meanwhile)", lock, lock)
		}
		return nil, fmt.Errorf("key rotation: %w", err)
	}
	_ = f.Close()
	return func() { _ = os.Remove(lock) }, nil
}

// newRingKey makes a ring key from 32 raw bytes.
func newRingKey(raw []byte, created time.Time) (*ringKey, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("key is %d bytes; want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return &ringKey{id: KeyID(raw), fp: Fingerprint(raw), created: created.UTC(), raw: bytes.Clone(raw), aead: aead}, nil
}

// newKeySet makes a snapshot from raw keys, the first one primary. where
// names key i in errors (nil: "key i").
func newKeySet(keys [][]byte, created time.Time, where func(i int) string) (*keySet, error) {
	if where == nil {
		where = func(i int) string { return fmt.Sprintf("key %d", i+1) }
	}
	set := &keySet{keys: map[string]*ringKey{}}
	for i, raw := range keys {
		k, err := newRingKey(raw, created)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where(i), err)
		}
		if _, dup := set.keys[k.id]; dup {
			return nil, fmt.Errorf("%s: the same key appears twice", where(i))
		}
		set.keys[k.id] = k
		set.order = append(set.order, k.id)
	}
	set.primary = set.order[0]
	return set, nil
}

// parseEnvKeys parses SLUICE_MASTER_KEY.
func parseEnvKeys(v string) (*keySet, error) {
	parts := strings.Split(v, ",")
	raws := make([][]byte, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		where := fmt.Sprintf("%s: key %d of %d", EnvMasterKey, i+1, len(parts))
		if p == "" {
			return nil, fmt.Errorf("%s is empty", where)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("%s is not valid base64 (want the base64 of %d random bytes: head -c %d /dev/urandom | base64)", where, KeySize, KeySize)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("%s decodes to %d bytes; want %d (head -c %d /dev/urandom | base64)", where, len(raw), KeySize, KeySize)
		}
		raws = append(raws, raw)
	}
	return newKeySet(raws, time.Time{}, func(i int) string { return fmt.Sprintf("%s: key %d of %d", EnvMasterKey, i+1, len(parts)) })
}

// keyFile is the key file's JSON.
type keyFile struct {
	Version int          `json:"version"`
	Primary string       `json:"primary"`
	Keys    []keyFileKey `json:"keys"`
}

// keyFileKey is one key in the key file.
type keyFileKey struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"` // base64 of 32 bytes
	CreatedAt time.Time `json:"createdAt"`
}

// readKeyFile reads and checks a key file. Errors name the file and the
// key's position, never its bytes.
func readKeyFile(path string) (*keySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has permissions %04o, wider than 0600: group and others must have no access (chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, damaged(path, fmt.Errorf("it is larger than %d bytes", maxKeyFileSize))
	}
	set, err := parseKeyFile(data)
	if err != nil {
		return nil, damaged(path, err)
	}
	set.stat = fi
	return set, nil
}

// damaged reports a key file that exists but cannot be read as one: it
// names the file and the reason (never a byte of a key) and says to
// restore the file from the backup.
func damaged(path string, reason error) error {
	if errors.Is(reason, errKeyFileVersion) {
		return fmt.Errorf("key file %s: %w", path, reason)
	}
	return &keyFileError{path: path, reason: reason}
}

// errKeyFileVersion reports a key file of a version this binary does not
// know: not damaged, but written by another sluice.
var errKeyFileVersion = errors.New("this version of sluice does not support it")

// keyFileError is a damaged key file.
type keyFileError struct {
	path   string
	reason error
}

func (e *keyFileError) Error() string {
	return "key file " + e.path + " cannot be read: " + e.reason.Error() + "; restore it from your backup " +
		"(it holds the keys the secrets were written with; a new key would decrypt none of them)"
}

func (e *keyFileError) Unwrap() error { return e.reason }

func (e *keyFileError) Is(target error) bool { return target == ErrKeyFileDamaged }

// parseKeyFile decodes the key file's JSON. JSON errors are reduced to a
// position so that no byte of a key is ever quoted.
func parseKeyFile(data []byte) (*keySet, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("it is empty")
	}
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("not valid JSON (at byte %d)", syn.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, errors.New("not valid JSON (it ends too early)")
		case errors.As(err, &typ):
			return nil, fmt.Errorf("field %s has the wrong type", typ.Field)
		default:
			return nil, errors.New("not a valid key file (want {\"version\":1,\"primary\":ID,\"keys\":[{\"id\",\"key\",\"createdAt\"}]})")
		}
	}
	if kf.Version != keyFileVersion {
		return nil, fmt.Errorf("version %d: %w (want %d)", kf.Version, errKeyFileVersion, keyFileVersion)
	}
	if len(kf.Keys) == 0 {
		return nil, errors.New("keys: no key")
	}
	set := &keySet{keys: map[string]*ringKey{}, primary: kf.Primary}
	for i, fk := range kf.Keys {
		raw, err := base64.StdEncoding.Strict().DecodeString(fk.Key)
		if err != nil {
			return nil, fmt.Errorf("keys[%d].key: not valid base64", i)
		}
		k, err := newRingKey(raw, fk.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("keys[%d].key: %w", i, err)
		}
		if fk.ID != k.id {
			return nil, fmt.Errorf("keys[%d].id: %s does not match the key (its id is %s)", i, fk.ID, k.id)
		}
		if _, dup := set.keys[k.id]; dup {
			return nil, fmt.Errorf("keys[%d]: key %s appears twice", i, k.id)
		}
		set.keys[k.id] = k
		set.order = append(set.order, k.id)
	}
	if _, ok := set.keys[kf.Primary]; !ok {
		return nil, fmt.Errorf("primary: %s is not one of the keys", kf.Primary)
	}
	return set, nil
}

// writeKeyFile writes set to path atomically with mode 0600: a temporary
// file in the same directory, synced, then renamed over path (or, when
// exclusive, linked to path so that an existing file is never replaced:
// fs.ErrExist then).
func writeKeyFile(path string, set *keySet, exclusive bool) (err error) {
	kf := keyFile{Version: keyFileVersion, Primary: set.primary}
	for _, id := range set.order {
		k := set.keys[id]
		kf.Keys = append(kf.Keys, keyFileKey{ID: k.id, Key: base64.StdEncoding.EncodeToString(k.raw), CreatedAt: k.created})
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	data = append(data, '\n')

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
		}
		_ = os.Remove(tmpName) // after a rename or link this is a no-op or drops the extra name
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("key file %s: write: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("key file %s: sync: %w", path, err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if exclusive {
		if err := os.Link(tmpName, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("key file %s: %w", path, fs.ErrExist)
			}
			return fmt.Errorf("key file %s: %w", path, err)
		}
	} else if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	syncDir(dir)
	if fi, err := os.Stat(path); err == nil {
		set.stat = fi
	}
	return nil
}

// syncDir makes a rename durable where the platform allows it.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
