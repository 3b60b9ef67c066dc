package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// fixture is a service on a real SQLite file with a key file in a separate
// directory (the database alone must reveal nothing).
type fixture struct {
	svc     *Service
	st      *sqlite.Store
	dbPath  string
	keyPath string
	clock   *atomic.Int64 // unix seconds
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "sluice.db")
	st, err := sqlitetest.Open(context.Background(), dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keyDir := t.TempDir()
	ring, err := LoadKeyRing(KeyOptions{DataDir: keyDir, Env: envOf(nil), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clock := &atomic.Int64{}
	clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix())
	now := func() time.Time { return time.Unix(clock.Add(1), 0) }
	return &fixture{
		svc:     NewService(st, ring, WithClock(now)),
		st:      st,
		dbPath:  dbPath,
		keyPath: filepath.Join(keyDir, DefaultKeyFileName),
		clock:   clock,
	}
}

func ptr(s string) *string { return &s }

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	svc := f.svc

	md, err := svc.Create(ctx, "alice", "GITHUB_TOKEN", "ghp_lifecycle_value", "CI token")
	if err != nil {
		t.Fatal(err)
	}
	if md.Name != "GITHUB_TOKEN" || md.Description != "CI token" || md.CreatedBy != "alice" || md.CreatedAt.IsZero() || !md.UpdatedAt.Equal(md.CreatedAt) {
		t.Fatalf("create returned %+v", md)
	}
	if _, err := svc.Create(ctx, "bob", "GITHUB_TOKEN", "another-value", ""); !errors.Is(err, ErrExists) || !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate create: %v; want ErrExists wrapping store.ErrExists", err)
	}
	if _, err := svc.Create(ctx, "alice", "API_KEY", "api-key-value", ""); err != nil {
		t.Fatal(err)
	}

	got, err := svc.Get(ctx, "GITHUB_TOKEN")
	if err != nil || got != md {
		t.Fatalf("get: %+v, %v; want %+v", got, err, md)
	}
	list, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{list[0].Name, list[1].Name}; len(list) != 2 || names[0] != "API_KEY" || names[1] != "GITHUB_TOKEN" {
		t.Fatalf("list: %+v", list)
	}

	// Description only: the value stays.
	up, err := svc.Update(ctx, "bob", "GITHUB_TOKEN", nil, ptr("rotated monthly"))
	if err != nil {
		t.Fatal(err)
	}
	if up.Description != "rotated monthly" || up.CreatedBy != "alice" || !up.CreatedAt.Equal(md.CreatedAt) || !up.UpdatedAt.After(md.UpdatedAt) {
		t.Fatalf("update returned %+v", up)
	}
	assertResolves(t, svc, map[string]string{"GITHUB_TOKEN": "ghp_lifecycle_value"})
	// Value only: the description stays.
	if up, err = svc.Update(ctx, "bob", "GITHUB_TOKEN", ptr("ghp_new_value"), nil); err != nil || up.Description != "rotated monthly" {
		t.Fatalf("update value: %+v, %v", up, err)
	}
	assertResolves(t, svc, map[string]string{"GITHUB_TOKEN": "ghp_new_value", "API_KEY": "api-key-value"})
	if _, err := svc.Update(ctx, "bob", "MISSING", ptr("abcd"), nil); !errors.Is(err, ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}

	if err := svc.Delete(ctx, "carol", "GITHUB_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "carol", "GITHUB_TOKEN"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := svc.Get(ctx, "GITHUB_TOKEN"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}

	evs, err := svc.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got2 []string
	for _, ev := range evs {
		if ev.Action != ActionResolve {
			got2 = append(got2, ev.Action+" "+ev.Actor+" "+ev.SecretName)
		}
	}
	want := []string{"secret.delete carol GITHUB_TOKEN", "secret.update bob GITHUB_TOKEN", "secret.update bob GITHUB_TOKEN",
		"secret.create alice API_KEY", "secret.create alice GITHUB_TOKEN"}
	if !slices.Equal(got2, want) {
		t.Fatalf("audit (newest first):\n%q\nwant\n%q", got2, want)
	}
	if page, err := svc.Audit(ctx, 2, 1); err != nil || len(page) != 2 || page[0].ID != evs[1].ID {
		t.Fatalf("audit page: %+v, %v", page, err)
	}
	if _, err := svc.Audit(ctx, MaxAuditLimit+1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("audit over the limit: %v", err)
	}
}

// TestMetadataJSONHasNoValue: the JSON of metadata has exactly Port's
// fields, none of them a value.
func TestMetadataJSONHasNoValue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	md, err := f.svc.Create(t.Context(), "alice", "TOKEN", "json-must-not-hold-this", "d")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"createdAt", "createdBy", "description", "secretName", "updatedAt"}; !slices.Equal(keys, want) {
		t.Fatalf("JSON keys %v; want %v", keys, want)
	}
	if bytes.Contains(b, []byte("json-must-not-hold-this")) {
		t.Fatal("metadata JSON holds the value")
	}
}

func assertResolves(t *testing.T, svc *Service, want map[string]string) {
	t.Helper()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	got, err := svc.Resolve(t.Context(), ResolveRef{RunID: "wfr_check", NodeRunID: "wfnr_check"}, names)
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range want {
		if got[n] != v {
			t.Fatalf("%s resolved to a wrong value", n)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, actor, secret, value, desc string
		field                            string // "" = valid
	}{
		{"minimal", "a", "A", "abcd", "", ""},
		{"all allowed characters", "a", "az_AZ-09", "abcd", "", ""},
		{"100 characters", "a", strings.Repeat("n", 100), "abcd", "", ""},
		{"64 KiB", "a", "BIG", strings.Repeat("v", MaxValueLen), "", ""},
		{"200 characters of description (multi-byte)", "a", "D", "abcd", strings.Repeat("é", 200), ""},
		{"empty name", "a", "", "abcd", "", "secretName"},
		{"101 characters", "a", strings.Repeat("n", 101), "abcd", "", "secretName"},
		{"space in name", "a", "MY TOKEN", "abcd", "", "secretName"},
		{"dot in name", "a", "a.b", "abcd", "", "secretName"},
		{"non-ASCII name", "a", "tokén", "abcd", "", "secretName"},
		{"empty value", "a", "V", "", "", "secretValue"},
		{"3-byte value", "a", "V", "abc", "", "secretValue"},
		{"value over 64 KiB", "a", "V", strings.Repeat("v", MaxValueLen+1), "", "secretValue"},
		{"value not UTF-8", "a", "V", "ab\xffcd", "", "secretValue"},
		{"201 characters of description", "a", "D2", "abcd", strings.Repeat("d", 201), "description"},
		{"description not UTF-8", "a", "D3", "abcd", "\xff", "description"},
		{"no actor", " ", "X", "abcd", "", "actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Create(t.Context(), tt.actor, tt.secret, tt.value, tt.desc)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %#v; want *InvalidError on %s", err, tt.field)
			}
			if tt.value != "" && strings.Contains(err.Error(), tt.value) {
				t.Fatalf("error quotes the value: %v", err)
			}
			if _, gerr := f.svc.Get(t.Context(), tt.secret); !errors.Is(gerr, ErrNotFound) {
				t.Fatalf("an invalid secret was stored (get: %v)", gerr)
			}
		})
	}
	// Update validates what it is given, and needs something.
	if _, err := f.svc.Create(t.Context(), "a", "U", "abcd", ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value, desc *string
		field       string
	}{
		{nil, nil, "secretValue"},
		{ptr("ab"), nil, "secretValue"},
		{nil, ptr(strings.Repeat("d", 201)), "description"},
	} {
		var ie *InvalidError
		if _, err := f.svc.Update(t.Context(), "a", "U", tt.value, tt.desc); !errors.As(err, &ie) || ie.Field != tt.field {
			t.Fatalf("update: %v; want invalid %s", err, tt.field)
		}
	}
}

func TestResolveAudit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	for _, s := range []struct{ n, v string }{{"A", "value-a"}, {"B", "value-b"}, {"C", "value-c"}} {
		if _, err := f.svc.Create(ctx, "admin", s.n, s.v, ""); err != nil {
			t.Fatal(err)
		}
	}
	before, err := f.svc.Audit(ctx, MaxAuditLimit, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref := ResolveRef{RunID: "wfr_42", NodeRunID: "wfnr_7"}
	got, err := f.svc.Resolve(ctx, ref, []string{"B", "A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["A"] != "value-a" || got["B"] != "value-b" {
		t.Fatalf("resolved %d names, wrong values", len(got))
	}
	evs, err := f.svc.Audit(ctx, MaxAuditLimit, 0)
	if err != nil {
		t.Fatal(err)
	}
	added := evs[:len(evs)-len(before)]
	var names []string
	for _, ev := range added {
		if ev.Action != ActionResolve || ev.RunID != "wfr_42" || ev.NodeRunID != "wfnr_7" {
			t.Fatalf("audit event %+v", ev)
		}
		names = append(names, ev.SecretName)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"A", "B"}) {
		t.Fatalf("resolution audited %v; want one event per name", names)
	}

	// A missing name fails the whole resolution and records nothing.
	_, err = f.svc.Resolve(ctx, ref, []string{"A", "NOPE", "bad name!"})
	var nd *NotDefinedError
	if !errors.As(err, &nd) || nd.Name != "NOPE" || err.Error() != "secret NOPE is not defined" {
		t.Fatalf("error %v; want secret NOPE is not defined", err)
	}
	if _, err := f.svc.Resolve(ctx, ref, []string{"bad name!"}); !errors.Is(err, ErrNotDefined) {
		t.Fatalf("invalid name: %v", err)
	}
	after, _ := f.svc.Audit(ctx, MaxAuditLimit, 0)
	if len(after) != len(evs) {
		t.Fatalf("a failed resolution recorded %d events", len(after)-len(evs))
	}

	// Layered: the file's names are not audited, the store's are.
	l := Layered{MapSource{"A": "file-a"}, f.svc}
	got, err = l.Resolve(ctx, ResolveRef{RunID: "wfr_43"}, []string{"A", "C"})
	if err != nil || got["A"] != "file-a" || got["C"] != "value-c" {
		t.Fatalf("layered: %v (values right: %v)", err, got["A"] == "file-a" && got["C"] == "value-c")
	}
	latest, _ := f.svc.Audit(ctx, 10, 0)
	if latest[0].SecretName != "C" || latest[0].RunID != "wfr_43" || latest[1].RunID == "wfr_43" {
		t.Fatalf("layered audit: %+v", latest[:2])
	}
	if _, err := l.Resolve(ctx, ResolveRef{}, []string{"Z"}); !errors.Is(err, ErrNotDefined) {
		t.Fatalf("layered missing: %v", err)
	}
}

// TestDatabaseAloneRevealsNothing copies the database (with its WAL) and
// opens it with a different key ring: nothing decrypts, every failure names
// its secret, and no value is in the raw bytes.
func TestDatabaseAloneRevealsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	values := map[string]string{
		"DB_PASSWORD":  "Pa55w0rd-findme-in-raw-bytes",
		"GITHUB_TOKEN": "ghp_findme0123456789abcdef",
		"LONG":         strings.Repeat("findme-long-", 200),
	}
	for n, v := range values {
		if _, err := f.svc.Create(ctx, "admin", n, v, "desc of "+n); err != nil {
			t.Fatal(err)
		}
	}
	copyDir := t.TempDir()
	var raw []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(f.dbPath + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
		if suffix != "-shm" {
			if err := os.WriteFile(filepath.Join(copyDir, "sluice.db"+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !bytes.Contains(raw, []byte("desc of DB_PASSWORD")) {
		t.Fatal("test is blind: the description is not in the raw bytes either")
	}
	for n, v := range values {
		if bytes.Contains(raw, []byte(v)) || bytes.Contains(raw, []byte(v[:12])) {
			t.Fatalf("the value of %s is in the database file", n)
		}
	}

	st2, err := sqlitetest.Open(ctx, filepath.Join(copyDir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	// Without the key file there is no key to load.
	if _, err := LoadKeyRing(KeyOptions{DataDir: copyDir, Env: envOf(nil)}); err == nil {
		t.Fatal("a key ring loaded without any key")
	}
	// With another key: every secret fails loudly, by name, and the key
	// the store was written with is named.
	storeKey := f.svc.Ring().PrimaryKeyID()
	other, err := LoadKeyRing(KeyOptions{DataDir: t.TempDir(), Env: envOf(nil), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	thief := NewService(st2, other)
	list, err := thief.List(ctx)
	if err != nil || len(list) != len(values) {
		t.Fatalf("the copy lists %d secrets (%v)", len(list), err)
	}
	for n, v := range values {
		got, err := thief.Resolve(ctx, ResolveRef{RunID: "wfr_x"}, []string{n})
		if err == nil || got != nil {
			t.Fatalf("%s decrypted without its key", n)
		}
		var me *KeyMismatchError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "resolve secrets "+n+":") ||
			!strings.Contains(err.Error(), "written with key "+storeKey+" (not in this key ring") {
			t.Fatalf("error %v; want a key mismatch naming %s and key %s", err, n, storeKey)
		}
		if strings.Contains(err.Error(), v[:10]) {
			t.Fatal("error quotes the value")
		}
	}
}

// TestRotationDuringRuns rotates the key while a "server" (another service
// with its own ring, loaded before the rotation) resolves continuously.
func TestRotationDuringRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	want := map[string]string{}
	for i := range 6 {
		n, v := fmt.Sprintf("S%d", i), fmt.Sprintf("value-%d-before-rotation", i)
		want[n] = v
		if _, err := f.svc.Create(ctx, "admin", n, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	oldID := f.svc.Ring().PrimaryKeyID()
	oldFile, err := os.ReadFile(f.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	serverRing, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	server := NewService(f.st, serverRing)
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var resolutions atomic.Int64
	errs := make(chan error, 2)
	for _, svc := range []*Service{server, f.svc} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := svc.Resolve(ctx, ResolveRef{RunID: "wfr_inflight"}, names)
				if err == nil {
					for n, v := range want {
						if got[n] != v {
							err = fmt.Errorf("%s resolved to a wrong value", n)
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
				resolutions.Add(1)
			}
		})
	}
	// Let the runs start before rotating; no timing is asserted.
	for resolutions.Load() < 2 && len(errs) == 0 {
		time.Sleep(time.Millisecond)
	}
	res, err := f.svc.Rotate(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// Keep resolving after the rotation, then stop.
	target := resolutions.Load() + 4
	for resolutions.Load() < target && len(errs) == 0 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	if res.NewKeyID == oldID || res.Reencrypted != len(want) || !slices.Equal(res.RetiredKeyIDs, []string{oldID}) {
		t.Fatalf("rotate result %+v (old key %s)", res, oldID)
	}
	kfData, err := os.ReadFile(f.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	var kf keyFile
	if err := json.Unmarshal(kfData, &kf); err != nil {
		t.Fatal(err)
	}
	var oldKF keyFile
	_ = json.Unmarshal(oldFile, &oldKF)
	if len(kf.Keys) != 1 || kf.Keys[0].ID != res.NewKeyID || kf.Primary != res.NewKeyID ||
		bytes.Contains(kfData, []byte(oldID)) || bytes.Contains(kfData, []byte(oldKF.Keys[0].Key)) {
		t.Fatalf("key file after rotation still holds the old key or lacks the new one")
	}
	if fi, _ := os.Stat(f.keyPath); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o", fi.Mode().Perm())
	}
	secs, err := f.st.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		if s.KeyID != res.NewKeyID {
			t.Fatalf("%s is still under key %s", s.Name, s.KeyID)
		}
	}
	assertResolves(t, server, want)
	assertResolves(t, f.svc, want)
	// A fresh process with only the new file decrypts everything.
	fresh, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	assertResolves(t, NewService(f.st, fresh), want)

	// Every audit event, page by page: the resolutions above wrote as many
	// secret.resolve events as the machine's speed allowed, which may push
	// the rotation's events out of any one page.
	rotated := map[string]int{}
	for _, ev := range allAudit(t, f.svc) {
		if ev.Action == ActionRotate && ev.Actor == "admin" {
			rotated[ev.SecretName]++
		}
	}
	for n := range want {
		if rotated[n] != 1 {
			t.Fatalf("%d key.rotate audit events for %s; want 1 (all: %v)", rotated[n], n, rotated)
		}
	}
	if len(rotated) != len(want) {
		t.Fatalf("key.rotate audit events for %v; want one for each of the %d secrets", rotated, len(want))
	}

	// A second rotation works too, and a leftover lock file refuses one.
	if _, err := f.svc.Rotate(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	assertResolves(t, server, want)
	if err := os.WriteFile(f.keyPath+".rotating", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rotate(ctx, "admin"); err == nil || !strings.Contains(err.Error(), "another `sluice keys rotate` is running, or one was killed") {
		t.Fatalf("rotate with a lock file: %v", err)
	}
}

// allAudit returns every audit event, newest first, reading every page.
func allAudit(t *testing.T, svc *Service) []AuditEvent {
	t.Helper()
	var all []AuditEvent
	for {
		page, err := svc.Audit(t.Context(), MaxAuditLimit, len(all))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < MaxAuditLimit {
			return all
		}
	}
}

func TestRotateEnvironmentRing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	oldKey, newKey := testKey(1), testKey(2)
	oldRing, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: b64(oldKey)})})
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(f.st, oldRing)
	if _, err := svc.Create(ctx, "admin", "ENV_SECRET", "env-secret-value", ""); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Rotate(ctx, "admin")
	if !errors.Is(err, ErrRotate) || !strings.Contains(err.Error(), `SLUICE_MASTER_KEY="NEW,OLD"`) {
		t.Fatalf("rotate with one env key: %v; want ErrRotate explaining the procedure", err)
	}

	// Step 1 of the procedure: NEW,OLD. Step 2: rotate.
	both, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: b64(newKey) + "," + b64(oldKey)})})
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewService(f.st, both).Rotate(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if res.NewKeyID != KeyID(newKey) || res.Reencrypted != 1 || !strings.Contains(res.Notice, KeyID(oldKey)) {
		t.Fatalf("rotate result %+v", res)
	}
	// Step 3: NEW alone decrypts everything.
	onlyNew, err := NewKeyRing(newKey)
	if err != nil {
		t.Fatal(err)
	}
	assertResolves(t, NewService(f.st, onlyNew), map[string]string{"ENV_SECRET": "env-secret-value"})
}

// TestNoErrorContainsValue drives every failure mode with a distinctive
// value and checks that no error text contains it (or a long slice of it).
func TestNoErrorContainsValue(t *testing.T) {
	t.Parallel()
	const value = "VALUE-never-in-errors-0123456789"
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.Create(ctx, "admin", "GOOD", value, ""); err != nil {
		t.Fatal(err)
	}
	sec, err := f.st.GetSecret(ctx, "GOOD")
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(name string, mutate func(*store.Secret)) {
		s := sec
		s.Name = name
		s.Ciphertext = bytes.Clone(sec.Ciphertext)
		mutate(&s)
		if err := f.st.CreateSecret(ctx, s, store.AuditEvent{Action: ActionCreate, Actor: "test", Secret: name, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	tamper("MOVED", func(*store.Secret) {})
	tamper("FLIPPED", func(s *store.Secret) { s.Ciphertext[nonceSize+1] ^= 0x80 })
	tamper("UNKNOWN_KEY", func(s *store.Secret) { s.KeyID = "kffffffff" })
	otherRing := memRing(t, testKey(5))
	closedStore, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "closed.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closedStore.Close()
	closed := NewService(closedStore, f.svc.Ring())

	failures := []struct {
		name string
		run  func() error
	}{
		{"create duplicate", func() error { _, err := f.svc.Create(ctx, "a", "GOOD", value, ""); return err }},
		{"create with the value as name", func() error { _, err := f.svc.Create(ctx, "a", value+"!", value, ""); return err }},
		{"create with a too-long value", func() error {
			_, err := f.svc.Create(ctx, "a", "X", strings.Repeat(value, 3000), "")
			return err
		}},
		{"create with invalid UTF-8", func() error { _, err := f.svc.Create(ctx, "a", "X", value+"\xff", ""); return err }},
		{"create with the value as description", func() error {
			_, err := f.svc.Create(ctx, "a", "X", "abcd", strings.Repeat(value, 10))
			return err
		}},
		{"create on a closed store", func() error { _, err := closed.Create(ctx, "a", "X", value, ""); return err }},
		{"update missing", func() error { _, err := f.svc.Update(ctx, "a", "MISSING", ptr(value), nil); return err }},
		{"update with bad value", func() error { _, err := f.svc.Update(ctx, "a", "GOOD", ptr(value+"\xff"), nil); return err }},
		{"resolve moved ciphertext", func() error { _, err := f.svc.Resolve(ctx, ResolveRef{}, []string{"MOVED"}); return err }},
		{"resolve flipped ciphertext", func() error { _, err := f.svc.Resolve(ctx, ResolveRef{}, []string{"FLIPPED"}); return err }},
		{"resolve under an unknown key", func() error { _, err := f.svc.Resolve(ctx, ResolveRef{}, []string{"UNKNOWN_KEY"}); return err }},
		{"resolve with another ring", func() error {
			_, err := NewService(f.st, otherRing).Resolve(ctx, ResolveRef{}, []string{"GOOD"})
			return err
		}},
		{"resolve on a closed store", func() error { _, err := closed.Resolve(ctx, ResolveRef{}, []string{"GOOD"}); return err }},
		{"rotate with a tampered secret", func() error { _, err := f.svc.Rotate(ctx, "admin"); return err }},
		{"dotenv unterminated", func() error { _, err := ParseDotEnv(strings.NewReader(`A="` + value)); return err }},
		{"dotenv value as a line", func() error { _, err := ParseDotEnv(strings.NewReader(value)); return err }},
		{"dotenv value as a name", func() error { _, err := ParseDotEnv(strings.NewReader(value + "!=abcd")); return err }},
		{"dotenv text after quote", func() error { _, err := ParseDotEnv(strings.NewReader(`A='x'` + value)); return err }},
		{"env key not base64", func() error {
			_, err := LoadKeyRing(KeyOptions{Env: envOf(map[string]string{EnvMasterKey: value})})
			return err
		}},
		{"read value too large", func() error {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			defer r.Close()
			go func() { _, _ = io.WriteString(w, strings.Repeat(value, 3000)); w.Close() }()
			_, err = ReadValue(r)
			return err
		}},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, value) || strings.Contains(msg, value[:8]) || strings.Contains(msg, value[len(value)-8:]) {
				t.Fatalf("error contains the value: %q", msg)
			}
		})
	}
}

// BenchmarkResolve3 measures the per-node secret cost: three secrets
// fetched, decrypted and audited per op, against the same store work
// without decryption (store-only), the three reads alone (store-reads-only)
// and decryption alone (decrypt-only). The audit commit dominates.
func BenchmarkResolve3(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	names := []string{"GITHUB_TOKEN", "API_KEY", "DB_PASSWORD"}
	for _, n := range names {
		if _, err := f.svc.Create(ctx, "admin", n, "a-typical-40-byte-secret-value-0123456789", ""); err != nil {
			b.Fatal(err)
		}
	}
	ref := ResolveRef{RunID: "wfr_bench", NodeRunID: "wfnr_bench"}
	b.Run("service", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.svc.Resolve(ctx, ref, names); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			evs := make([]store.AuditEvent, 0, len(names))
			for _, n := range names {
				if _, err := f.st.GetSecret(ctx, n); err != nil {
					b.Fatal(err)
				}
				evs = append(evs, store.AuditEvent{Action: ActionResolve, Secret: n, RunID: ref.RunID, NodeRunID: ref.NodeRunID, CreatedAt: time.Now()})
			}
			if err := f.st.AddAudit(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store-reads-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, n := range names {
				if _, err := f.st.GetSecret(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decrypt-only", func(b *testing.B) {
		secs := make([]store.Secret, len(names))
		for i, n := range names {
			secs[i], _ = f.st.GetSecret(ctx, n)
		}
		ring := f.svc.Ring()
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range secs {
				if _, err := ring.Decrypt(s.Name, s.KeyID, s.Ciphertext); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
