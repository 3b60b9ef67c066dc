package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// ringCallers is how many callers RunRingKeysShared and the Concurrent case
// race.
const ringCallers = 8

// errRingRefused is what the test checks return to refuse a ring.
var errRingRefused = errors.New("ring refused by the test's check")

// ringKey is a record of id with a fingerprint made of fp.
func ringKey(id string, fp byte) store.RingKey {
	return store.RingKey{ID: id, Fingerprint: bytes.Repeat([]byte{fp}, 32)}
}

// acceptAll is a check that accepts every ring.
func acceptAll([]store.RingKey) error { return nil }

// acceptEmpty accepts a ring only while no key is recorded, as a process
// whose ring holds none of the recorded keys does.
func acceptEmpty(recs []store.RingKey) error {
	if len(recs) > 0 {
		return errRingRefused
	}
	return nil
}

// testRingKeys checks store.RingKeyStore for stores that implement it;
// others skip it.
func testRingKeys(t *testing.T, open opener) {
	ringStore := func(t *testing.T) (store.Store, store.RingKeyStore) {
		t.Helper()
		s := open(t)
		r, ok := s.(store.RingKeyStore)
		if !ok {
			t.Skip("the store does not implement store.RingKeyStore")
		}
		return s, r
	}

	t.Run("AdmitListDelete", func(t *testing.T) {
		_, r := ringStore(t)
		// Bad input writes nothing.
		for _, k := range []store.RingKey{{Fingerprint: []byte{1}}, {ID: "kempty"}} {
			if err := r.AdmitRingKey(ctx(t), k, acceptAll); err == nil {
				t.Errorf("AdmitRingKey(%+v) = nil, want an error", k)
			}
		}
		checkRingKeys(t, r)

		// A refusing check writes nothing and its error comes back.
		err := r.AdmitRingKey(ctx(t), ringKey("ka", 1), func([]store.RingKey) error { return errRingRefused })
		if !errors.Is(err, errRingRefused) {
			t.Fatalf("AdmitRingKey with a refusing check = %v, want the check's error", err)
		}
		checkRingKeys(t, r)

		first := time.Date(2026, 3, 1, 10, 0, 0, 0, zone)
		ka := ringKey("ka", 1)
		ka.FirstSeen = first
		must(t, "AdmitRingKey ka", r.AdmitRingKey(ctx(t), ka, acceptEmpty))
		recs := checkRingKeys(t, r, "ka")
		if !recs[0].FirstSeen.Equal(first) || !bytes.Equal(recs[0].Fingerprint, ka.Fingerprint) || !recs[0].LostAt.IsZero() {
			t.Errorf("record = %+v, want FirstSeen %v, the fingerprint, no LostAt", recs[0], first)
		}
		// The check sees the records.
		var seen []store.RingKey
		must(t, "AdmitRingKey ka again", r.AdmitRingKey(ctx(t), ringKey("ka", 1), func(recs []store.RingKey) error {
			seen = recs
			return nil
		}))
		if len(seen) != 1 || seen[0].ID != "ka" {
			t.Errorf("the check saw %+v, want the record of ka", seen)
		}
		recs = checkRingKeys(t, r, "ka")
		if !recs[0].FirstSeen.Equal(first) {
			t.Errorf("recording ka again moved FirstSeen to %v", recs[0].FirstSeen)
		}
		// Another fingerprint for a recorded id.
		err = r.AdmitRingKey(ctx(t), ringKey("ka", 2), acceptAll)
		wantErr(t, "AdmitRingKey ka with another fingerprint", err, store.ErrConflict)

		must(t, "AdmitRingKey kb", r.AdmitRingKey(ctx(t), ringKey("kb", 3), acceptAll))
		checkRingKeys(t, r, "ka", "kb")
		must(t, "DeleteRingKey ka", r.DeleteRingKey(ctx(t), "ka"))
		wantErr(t, "DeleteRingKey ka again", r.DeleteRingKey(ctx(t), "ka"), store.ErrNotFound)
		checkRingKeys(t, r, "kb")
	})

	t.Run("Forget", func(t *testing.T) {
		_, r := ringStore(t)
		if err := r.ForgetRingKey(ctx(t), "", time.Time{}); err == nil {
			t.Error("ForgetRingKey with an empty id = nil, want an error")
		}
		checkRingKeys(t, r)
		lost := time.Date(2026, 3, 2, 9, 0, 0, 0, zone)
		must(t, "AdmitRingKey ka", r.AdmitRingKey(ctx(t), ringKey("ka", 1), acceptAll))
		must(t, "ForgetRingKey ka", r.ForgetRingKey(ctx(t), "ka", lost))
		must(t, "ForgetRingKey ka again", r.ForgetRingKey(ctx(t), "ka", lost.Add(time.Hour)))
		// A key never recorded is recorded lost, without fingerprint.
		must(t, "ForgetRingKey kz", r.ForgetRingKey(ctx(t), "kz", lost))
		recs := checkRingKeys(t, r, "ka", "kz")
		if !recs[0].LostAt.Equal(lost) || !bytes.Equal(recs[0].Fingerprint, ringKey("ka", 1).Fingerprint) {
			t.Errorf("ka after forgetting = %+v, want LostAt %v (the first) and its fingerprint", recs[0], lost)
		}
		if !recs[1].LostAt.Equal(lost) || len(recs[1].Fingerprint) != 0 {
			t.Errorf("kz after forgetting = %+v, want LostAt %v and no fingerprint", recs[1], lost)
		}
		// A process that holds a lost key records it again: no longer lost.
		must(t, "AdmitRingKey kz", r.AdmitRingKey(ctx(t), ringKey("kz", 9), acceptAll))
		must(t, "AdmitRingKey ka", r.AdmitRingKey(ctx(t), ringKey("ka", 1), acceptAll))
		recs = checkRingKeys(t, r, "ka", "kz")
		for _, rec := range recs {
			if !rec.LostAt.IsZero() || len(rec.Fingerprint) == 0 {
				t.Errorf("%s after recording it again = %+v, want a fingerprint and no LostAt", rec.ID, rec)
			}
		}
		wantErr(t, "AdmitRingKey ka lost with another fingerprint", func() error {
			must(t, "ForgetRingKey ka", r.ForgetRingKey(ctx(t), "ka", lost))
			return r.AdmitRingKey(ctx(t), ringKey("ka", 2), acceptAll)
		}(), store.ErrConflict)
	})

	t.Run("Concurrent", func(t *testing.T) {
		_, r := ringStore(t)
		handles := slices.Repeat([]store.RingKeyStore{r}, ringCallers) // one store, called at once
		raceRingKeys(t, r, handles)
	})
}

// RunRingKeysShared races AdmitRingKey across several handles on ONE empty
// store, as processes starting together with different keys do: open must
// return n stores over the same new, empty database. It closes them when
// the test ends. The stores must implement store.RingKeyStore.
func RunRingKeysShared(t *testing.T, open func(t *testing.T, n int) []store.Store) {
	t.Helper()
	_, handles := sharedHandles[store.RingKeyStore](t, open, ringCallers, "store.RingKeyStore")
	raceRingKeys(t, handles[0], handles)
}

// raceRingKeys calls AdmitRingKey from one goroutine per handle, released
// at once, each with a key of its own and a check that accepts only an
// empty store: exactly one must record its key, the others must get the
// check's error, and that key must be the only record.
func raceRingKeys(t *testing.T, r store.RingKeyStore, handles []store.RingKeyStore) {
	t.Helper()
	errs := make([]error, len(handles))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, h := range handles {
		wg.Go(func() {
			<-start
			errs[i] = h.AdmitRingKey(ctx(t), ringKey(fmt.Sprintf("k%02d", i), byte(i+1)), acceptEmpty)
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner != "":
			t.Errorf("caller %d recorded its key too, after %s", i, winner)
		case err == nil:
			winner = fmt.Sprintf("k%02d", i)
		case !errors.Is(err, errRingRefused):
			t.Errorf("caller %d: AdmitRingKey = %v, want nil or the check's refusal", i, err)
		}
	}
	if winner == "" {
		t.Fatal("no caller recorded its key")
	}
	checkRingKeys(t, r, winner)
}

// checkRingKeys fails the test unless the records are exactly ids, in
// order, and returns them.
func checkRingKeys(t *testing.T, r store.RingKeyStore, ids ...string) []store.RingKey {
	t.Helper()
	recs, err := r.ListRingKeys(ctx(t))
	must(t, "ListRingKeys", err)
	got := make([]string, len(recs))
	for i, rec := range recs {
		got[i] = rec.ID
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("ListRingKeys = %v, want %v", got, ids)
	}
	return recs
}
