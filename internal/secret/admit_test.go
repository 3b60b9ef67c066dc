package secret

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// ringRecords returns the ids of the ring records, lost ones marked "!".
func ringRecords(t *testing.T, st store.RingKeyStore) []string {
	t.Helper()
	recs, err := st.ListRingKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
		if !r.LostAt.IsZero() {
			out[i] += "!"
		}
	}
	return out
}

// wantRefused fails unless err is a *RingMismatchError naming exactly ids
// and telling the operator what to do.
func wantRefused(t *testing.T, what string, err error, ids ...string) {
	t.Helper()
	var m *RingMismatchError
	if !errors.As(err, &m) || !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("%s: %v; want a *RingMismatchError", what, err)
	}
	if !slices.Equal(m.KeyIDs(), ids) {
		t.Errorf("%s: refused for keys %v, want %v", what, m.KeyIDs(), ids)
	}
	for _, want := range append([]string{"SLUICE_MASTER_KEY_FILE", "sluice keys forget", "Nothing was written"}, ids...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: the message lacks %q: %s", what, want, err)
		}
	}
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	a, b, c := testKey(1), testKey(2), testKey(3)
	ka, kb, kc := KeyID(a), KeyID(b), KeyID(c)
	seal := func(t *testing.T, dbPath, runID, keyID string) {
		t.Helper()
		rawSQL(t, dbPath, fmt.Sprintf(`INSERT INTO run_seals (run_id, origin, key_id, sealed, created_at) VALUES ('%s', 1, '%s', x'00', 1)`, runID, keyID))
	}
	type step struct {
		name    string
		ring    [][]byte
		before  func(t *testing.T, st *sqlite.Store, dbPath string)
		refused []string // the key ids a refusal names; nil: admitted
		after   []string // the ring records after the step, lost ones with "!"
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first process records its key, another key is refused", []step{
			{name: "A on an empty store", ring: [][]byte{a}, after: []string{ka}},
			{name: "A again", ring: [][]byte{a}, after: []string{ka}},
			{name: "B", ring: [][]byte{b}, refused: []string{ka}, after: []string{ka}},
		}},
		{"a ring with the recorded key and a new primary adds it", []step{
			{name: "A", ring: [][]byte{a}, after: []string{ka}},
			{name: "B,A", ring: [][]byte{b, a}, after: []string{ka, kb}},
			{name: "A alone lacks B", ring: [][]byte{a}, refused: []string{kb}, after: []string{ka, kb}},
		}},
		{"a recorded key with another fingerprint", []step{
			{name: "A", ring: [][]byte{a}, after: []string{ka},
				before: func(t *testing.T, _ *sqlite.Store, dbPath string) {
					rawSQL(t, dbPath, fmt.Sprintf(`INSERT INTO ring_keys VALUES ('%s', x'0102', 1, NULL)`, KeyID(a)))
				}, refused: []string{ka}},
		}},
		{"values sealed before ring records, with a key the ring lacks", []step{
			{name: "B", ring: [][]byte{b}, refused: []string{ka}, after: []string{},
				before: func(t *testing.T, _ *sqlite.Store, dbPath string) { seal(t, dbPath, "wfr_sealed", ka) }},
			{name: "A", ring: [][]byte{a}, after: []string{ka}},
		}},
		{"a key declared lost admits rings without it", []step{
			{name: "A", ring: [][]byte{a}, after: []string{ka},
				before: func(t *testing.T, _ *sqlite.Store, dbPath string) { seal(t, dbPath, "wfr_sealed", ka) }},
			{name: "C before forget", ring: [][]byte{c}, refused: []string{ka}, after: []string{ka}},
			{name: "C after forget", ring: [][]byte{c}, after: []string{ka + "!", kc},
				before: func(t *testing.T, st *sqlite.Store, _ string) {
					svc := NewService(st, memRing(t, c))
					if _, err := svc.ForgetKey(t.Context(), ka); err != nil {
						t.Fatal(err)
					}
				}},
			{name: "A holds the lost key again", ring: [][]byte{a, c}, after: []string{ka, kc}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, dbPath := openStore(t)
			for _, s := range tc.steps {
				if s.before != nil {
					s.before(t, st, dbPath)
				}
				_, err := OpenAdmitted(t.Context(), st, memRing(t, s.ring...))
				if s.refused != nil {
					wantRefused(t, s.name, err, s.refused...)
				} else if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				want := slices.Sorted(slices.Values(s.after))
				if got := ringRecords(t, st); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: ring records %v, want %v", s.name, got, s.after)
				}
			}
		})
	}
}

// TestAdmitSecretsFirst: a ring refused by the secrets' keys records
// nothing either.
func TestAdmitSecretsFirst(t *testing.T) {
	t.Parallel()
	st, dbPath := openStore(t)
	a, b := testKey(1), testKey(2)
	svc := NewService(st, memRing(t, a))
	if _, err := svc.Create(t.Context(), "admin", "TOKEN", "token-value", ""); err != nil {
		t.Fatal(err)
	}
	rawSQL(t, dbPath, `DELETE FROM ring_keys`) // a store from before ring records
	var mismatch *KeyMismatchError
	if _, err := OpenAdmitted(t.Context(), st, memRing(t, b)); !errors.As(err, &mismatch) {
		t.Fatalf("B over A's secrets: %v; want a *KeyMismatchError", err)
	}
	if got := ringRecords(t, st); len(got) != 0 {
		t.Fatalf("ring records after a refusal: %v", got)
	}
}

func TestForgetKeyRefuses(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	a, b := testKey(1), testKey(2)
	svcA, err := OpenAdmitted(t.Context(), st, memRing(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svcA.Create(t.Context(), "admin", "TOKEN", "token-value", ""); err != nil {
		t.Fatal(err)
	}
	svcB := NewService(st, memRing(t, b))
	for _, tc := range []struct {
		name string
		svc  *Service
		id   string
		want string
	}{
		{"held by the ring", svcA, KeyID(a), "not lost"},
		{"secrets use it", svcB, KeyID(a), "sluice secrets delete"},
		{"unknown key", svcB, "k00000000", "no process started with it"},
	} {
		_, err := tc.svc.ForgetKey(t.Context(), tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ForgetKey = %v; want an error saying %q", tc.name, err, tc.want)
		}
	}
	if got := ringRecords(t, st); !slices.Equal(got, []string{KeyID(a)}) {
		t.Fatalf("ring records = %v; want A's, unchanged", got)
	}
}

// TestAdmitRotation: a rotation records the new key and drops the old
// one's record, so a process with the rotated key file starts and one with
// only the old key is refused.
func TestAdmitRotation(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	dir := t.TempDir()
	ring, err := LoadKeyRing(KeyOptions{DataDir: dir, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	old := ring.PrimaryKeyID()
	oldRing, err := LoadKeyRing(KeyOptions{KeyFile: filepath.Join(dir, DefaultKeyFileName)}) // a copy of the old file, loaded now
	if err != nil {
		t.Fatal(err)
	}
	svc, err := OpenAdmitted(t.Context(), st, ring)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(t.Context(), "admin", "TOKEN", "token-value", ""); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Rotate(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if got := ringRecords(t, st); !slices.Equal(got, []string{res.NewKeyID}) {
		t.Fatalf("ring records after the rotation = %v; want only the new key %s", got, res.NewKeyID)
	}
	rotated, err := LoadKeyRing(KeyOptions{KeyFile: filepath.Join(dir, DefaultKeyFileName)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAdmitted(t.Context(), st, rotated); err != nil {
		t.Fatalf("the rotated key file: %v", err)
	}
	// The in-memory copy of the old ring cannot reload a file: it is what
	// a process with a stale copy of the key file holds.
	stale, err := NewKeyRing(oldRing.set.Load().keys[old].raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenAdmitted(t.Context(), st, stale)
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), res.NewKeyID) {
		t.Fatalf("only the old key after the rotation: %v; want a refusal naming %s", err, res.NewKeyID)
	}
}

// TestAdmitRace: processes starting together on one empty database, each
// with a key of its own: exactly one is admitted.
func TestAdmitRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sluice.db")
	const n = 6
	errs := make([]error, n)
	stores := make([]*sqlite.Store, n)
	for i := range stores {
		st, err := sqlitetest.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() {
			<-start
			_, errs[i] = OpenAdmitted(t.Context(), st, memRing(t, testKey(byte(10+i))))
		})
	}
	close(start)
	wg.Wait()
	admitted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			admitted++
		case !errors.Is(err, ErrKeyMismatch):
			t.Errorf("process %d: %v; want admitted or refused", i, err)
		}
	}
	if got := ringRecords(t, stores[0]); admitted != 1 || len(got) != 1 {
		t.Fatalf("%d admitted, ring records %v; want exactly one of each", admitted, got)
	}
}
