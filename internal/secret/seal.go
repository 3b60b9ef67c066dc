package secret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/sluice-run/sluice/internal/store"
)

// RunValues is what a run's redactor knows, as sealed for the store: the
// secret values the run resolved (Values, registered with redact.Add) and
// the values its templates derived from them (Derived, registered with
// redact.AddDerived).
type RunValues struct {
	Values  []string `json:"v,omitempty"`
	Derived []string `json:"d,omitempty"`
}

// sealAD is the additional data a run's sealed values are bound to: a
// ciphertext copied to another run, or to a secret (whose names cannot hold
// ':'), does not open.
func sealAD(runID string) string { return "run-seal:" + runID }

// SealRun encrypts v for run runID with the key ring's primary key
// (AES-256-GCM, bound to the run id) and returns the key id and the
// ciphertext, for store.SealedValues. A caller that stores the result
// should use SealRunHeld instead: a rotation may run between SealRun and
// the row's commit.
func (s *Service) SealRun(runID string, v RunValues) (keyID string, sealed []byte, err error) {
	keyID, sealed, release, err := s.SealRunHeld(runID, v)
	release()
	return keyID, sealed, err
}

// SealRunHeld is SealRun that keeps the rotation's read lock until release
// is called (once, also after an error), which the caller does once the
// sealed row is committed or given up: a key rotation waits for it, so its
// sweeps see the row and it is never left under a key the rotation
// retired. The caller must not take the lock again (Create, Update,
// Delete, SealRunHeld) before it releases.
func (s *Service) SealRunHeld(runID string, v RunValues) (keyID string, sealed []byte, release func(), err error) {
	pt, err := json.Marshal(v)
	if err != nil {
		return "", nil, func() {}, fmt.Errorf("seal the values of run %s: %w", runID, err)
	}
	defer clear(pt)
	s.rotMu.RLock()
	var once sync.Once
	release = func() { once.Do(s.rotMu.RUnlock) }
	k, ct, err := s.ring.encrypt(sealAD(runID), pt)
	if err != nil {
		release()
		return "", nil, func() {}, fmt.Errorf("seal the values of run %s: %w", runID, err)
	}
	return k.id, ct, release, nil
}

// OpenRun decrypts what SealRun sealed for run runID with key keyID. It
// fails with a *DecryptError when the key is not in the ring or the
// ciphertext does not authenticate (another run's, or tampered).
func (s *Service) OpenRun(runID, keyID string, sealed []byte) (RunValues, error) {
	pt, err := s.ring.Decrypt(sealAD(runID), keyID, sealed)
	if err != nil {
		return RunValues{}, err
	}
	defer clear(pt)
	var v RunValues
	if err := json.Unmarshal(pt, &v); err != nil {
		return RunValues{}, fmt.Errorf("open the values of run %s: %w", runID, err)
	}
	return v, nil
}

// sealPage is how many sealed rows a sweep reads at a time.
const sealPage = 500

// resealRuns seals every sealed run row under a key the rotation retires
// (one in the ring or in old, other than target, the ring's primary key)
// again with target. IDs are not in commit order (PostgreSQL), and another
// process may still commit a row it sealed with an old key before it saw
// the new key file, so one pass by id could miss a row: resealRuns sweeps
// key by key, and starts over (SealKeyIDs, then every retiring key from
// the first row) until a whole round finds nothing to reseal. A row that
// does not open (tampered) is left as it is, and so is every row under a
// key neither the ring nor old holds (lost): no rotation can open them;
// the engine masks their runs' completions whole (rebuild). A row whose
// run finished meanwhile is skipped. It returns how many rows it rewrote;
// a store without store.SealStore has none.
func (s *Service) resealRuns(ctx context.Context, target string, old *keySet) (int, error) {
	ss, ok := s.st.(store.SealStore)
	if !ok {
		return 0, nil
	}
	n := 0
	for {
		ids, err := ss.SealKeyIDs(ctx)
		if err != nil {
			return n, fmt.Errorf("list the keys of sealed run values: %w", err)
		}
		round := 0
		for _, id := range ids {
			if id == target {
				continue
			}
			k := oldKey(old, id)
			if k == nil {
				if k, err = s.ring.lookup(id); err != nil && k == nil {
					return n, fmt.Errorf("sealed run values under key %s: %w", id, err)
				}
			}
			if k == nil {
				continue // lost: nothing can open these rows
			}
			m, err := s.resealKey(ctx, ss, k, target)
			round += m
			if err != nil {
				return n + round, err
			}
		}
		n += round
		if round == 0 {
			return n, nil
		}
	}
}

// resealKey seals every row under key k again with target, the ring's
// primary key, in one pass by id, and returns how many it rewrote.
func (s *Service) resealKey(ctx context.Context, ss store.SealStore, k *ringKey, target string) (int, error) {
	n := 0
	var after int64
	for {
		rows, err := ss.ListSealsByKey(ctx, k.id, after, sealPage)
		if err != nil {
			return n, fmt.Errorf("list the run values sealed with key %s: %w", k.id, err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		for _, r := range rows {
			after = r.ID
			if err := ctx.Err(); err != nil {
				return n, err
			}
			ad := sealAD(r.RunID)
			pt, err := open(k, ad, r.Sealed)
			if err != nil {
				s.logger.Warn("a sealed row of a run's values does not open and stays under its key; the run's completions will be masked whole",
					"run", r.RunID, "row", r.ID, "keyId", r.KeyID)
				continue
			}
			nk, ct, err := s.ring.encrypt(ad, pt)
			clear(pt)
			if err != nil {
				return n, fmt.Errorf("sealed values of run %s: %w", r.RunID, err)
			}
			if nk.id != target {
				return n, fmt.Errorf("the primary key changed to %s during the rotation to %s", nk.id, target)
			}
			prev := r.KeyID
			r.KeyID, r.Sealed = nk.id, ct
			switch err := ss.Reseal(ctx, r, prev); {
			case err == nil:
				n++
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
				// The run finished, or another rotation moved the row.
			default:
				return n, fmt.Errorf("sealed values of run %s: %w", r.RunID, err)
			}
		}
	}
}

// maxNamedRuns bounds how many runs a LostSeals lists.
const maxNamedRuns = 10

// LostSeals is a key that seals values of waiting runs and that the key
// ring lacks: those rows can never open with this ring, and the engine
// masks the completions of their runs whole (docs/secrets.md, "Sealed run
// values").
type LostSeals struct {
	KeyID string
	// Runs names up to maxNamedRuns of the runs, RunCount counts them all.
	Runs     []string
	RunCount int
}

// lostSeals reports the keys that seal values of waiting runs and that
// the ring lacks. Keys that also encrypt secrets (checked) were checked
// with them: a missing one refuses the ring there.
func (s *Service) lostSeals(ctx context.Context, checked map[string][]store.Secret) ([]LostSeals, error) {
	ss, ok := s.st.(store.SealStore)
	if !ok {
		return nil, nil
	}
	ids, err := ss.SealKeyIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the key ring: list the keys of sealed run values: %w", err)
	}
	var lost []LostSeals
	for _, id := range ids {
		if _, ok := checked[id]; ok {
			continue
		}
		k, err := s.ring.lookup(id)
		if err != nil && k == nil {
			return nil, fmt.Errorf("check the key ring: %w", err)
		}
		if k != nil {
			continue
		}
		l, err := sealedRuns(ctx, ss, id)
		if err != nil {
			return nil, err
		}
		lost = append(lost, l)
	}
	return lost, nil
}

// sealedRuns pages through the values key id seals and names the runs they
// belong to (up to maxNamedRuns, and how many in all), for a key the ring
// lacks: the cost grows with the sealed rows, so only such a key is paged.
func sealedRuns(ctx context.Context, ss store.SealStore, id string) (LostSeals, error) {
	l := LostSeals{KeyID: id}
	seen := map[string]bool{}
	var after int64
	for {
		rows, err := ss.ListSealsByKey(ctx, id, after, sealPage)
		if err != nil {
			return l, fmt.Errorf("check the key ring: list the run values sealed with key %s: %w", id, err)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			after = r.ID
			if !seen[r.RunID] {
				seen[r.RunID] = true
				if len(l.Runs) < maxNamedRuns {
					l.Runs = append(l.Runs, r.RunID)
				}
			}
		}
	}
	l.RunCount = len(seen)
	return l, nil
}

// warnLostSeals logs, for each key in lost, which runs it seals values of
// and what to do.
func (s *Service) warnLostSeals(lost []LostSeals) {
	for _, l := range lost {
		s.logger.Warn(fmt.Sprintf("values of %d waiting run(s) are sealed with key %s, which %s lacks: "+
			"their completions will be masked whole (every text a remote system sends for them is stored as ***; no value is shown). "+
			"If the key is not lost, stop sluice and %s: the rows open again. "+
			"If it is lost for good, nothing else is needed: the rows are deleted when their runs end (cancel them to end them now)",
			l.RunCount, l.KeyID, s.ring.describe(), s.restoreAdvice()),
			"keyId", l.KeyID, "runs", l.Runs, "runCount", l.RunCount)
	}
}
