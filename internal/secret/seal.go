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

// resealRuns seals every sealed run row not already under key target again
// with it (the ring's primary key); keys missing from the ring are looked
// up in old. A row whose run finished meanwhile is skipped. It returns how
// many rows it rewrote; a store without store.SealStore has none.
func (s *Service) resealRuns(ctx context.Context, target string, old *keySet) (int, error) {
	ss, ok := s.st.(store.SealStore)
	if !ok {
		return 0, nil
	}
	n := 0
	var after int64
	for {
		rows, err := ss.ListSeals(ctx, after, 500)
		if err != nil {
			return n, fmt.Errorf("list sealed run values: %w", err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		for _, r := range rows {
			after = r.ID
			if r.KeyID == target {
				continue
			}
			if err := ctx.Err(); err != nil {
				return n, err
			}
			ad := sealAD(r.RunID)
			var pt []byte
			if k := oldKey(old, r.KeyID); k != nil {
				pt, err = open(k, ad, r.Sealed)
			} else {
				pt, err = s.ring.Decrypt(ad, r.KeyID, r.Sealed)
			}
			if err != nil {
				return n, fmt.Errorf("sealed values of run %s: %w", r.RunID, err)
			}
			k, ct, err := s.ring.encrypt(ad, pt)
			clear(pt)
			if err != nil {
				return n, fmt.Errorf("sealed values of run %s: %w", r.RunID, err)
			}
			if k.id != target {
				return n, fmt.Errorf("the primary key changed to %s during the rotation to %s", k.id, target)
			}
			prev := r.KeyID
			r.KeyID, r.Sealed = k.id, ct
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

// checkSealKeys reports the keys that seal values of waiting runs
// (store.SealStore) and that the ring lacks; keys that also encrypt secrets
// (checked) were checked with them.
func (s *Service) checkSealKeys(ctx context.Context, checked map[string][]store.Secret) ([]KeyProblem, error) {
	ss, ok := s.st.(store.SealStore)
	if !ok {
		return nil, nil
	}
	ids, err := ss.SealKeyIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the key ring: list the keys of sealed run values: %w", err)
	}
	var problems []KeyProblem
	for _, id := range ids {
		if _, ok := checked[id]; ok {
			continue
		}
		k, err := s.ring.lookup(id)
		if err != nil && k == nil {
			return nil, fmt.Errorf("check the key ring: %w", err)
		}
		if k == nil {
			problems = append(problems, KeyProblem{KeyID: id, Reason: "not in this key ring (it seals the values of waiting runs)"})
		}
	}
	return problems, nil
}
