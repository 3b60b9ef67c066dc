package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/credscan"
	"github.com/sluice-run/sluice/internal/store"
)

// fingerprintCache holds the index of the secrets' fingerprints that
// Matcher returns, rebuilt when the store's SecretsStamp moves.
type fingerprintCache struct {
	mu    sync.Mutex
	stamp string
	index *credscan.Index
	// fps are the Fingerprinters of the ring's keys, by key id.
	fps map[string]*credscan.Fingerprinter
}

// fingerprinter returns the Fingerprinter of the ring key id; nil when the
// ring lacks it.
func (s *Service) fingerprinter(id string) (*credscan.Fingerprinter, error) {
	s.fp.mu.Lock()
	defer s.fp.mu.Unlock()
	return s.fingerprinterLocked(id)
}

func (s *Service) fingerprinterLocked(id string) (*credscan.Fingerprinter, error) {
	if f := s.fp.fps[id]; f != nil {
		return f, nil
	}
	k := s.ring.set.Load().keys[id]
	if k == nil {
		return nil, nil
	}
	f, err := credscan.NewFingerprinter(id, k.raw)
	if err != nil {
		return nil, err
	}
	if s.fp.fps == nil {
		s.fp.fps = map[string]*credscan.Fingerprinter{}
	}
	s.fp.fps[id] = f
	return f, nil
}

// storeFingerprints fingerprints value with the primary key and stores the
// result for the version of secret name last updated at updatedAt. A
// failure is logged (by name) and left for EnsureFingerprints to repair:
// the secret itself is already stored.
func (s *Service) storeFingerprints(ctx context.Context, name, value string, updatedAt time.Time) {
	if err := s.putFingerprints(ctx, name, value, updatedAt); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		s.logger.Warn("could not store the fingerprints of a secret; they are recomputed at the next check", "secret", name, "error", err.Error())
	}
}

func (s *Service) putFingerprints(ctx context.Context, name, value string, updatedAt time.Time) error {
	f, err := s.fingerprinter(s.ring.PrimaryKeyID())
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("fingerprint secret %s: the primary key is not in the ring", name)
	}
	prints := f.Prints(value)
	rows := make([]store.SecretFingerprint, len(prints))
	for i, p := range prints {
		rows[i] = store.SecretFingerprint{Secret: name, KeyID: f.KeyID(), Length: p.Length, Anchor: p.Anchor, Sum: p.Sum[:]}
	}
	if err := s.st.ReplaceSecretFingerprints(ctx, name, updatedAt, rows); err != nil {
		return fmt.Errorf("fingerprint secret %s: %w", name, err)
	}
	return nil
}

// refreshFingerprints is EnsureFingerprints for a hook that must not fail
// (after a key rotation): errors are logged.
func (s *Service) refreshFingerprints(ctx context.Context) {
	if _, err := s.EnsureFingerprints(ctx); err != nil {
		s.logger.Warn("could not recompute the fingerprints of secrets; they are recomputed at the next check", "error", err.Error())
	}
}

// EnsureFingerprints computes the fingerprints of every secret that has
// none for its current version under a key of the ring: secrets stored
// before fingerprints existed, changed by a process that did not compute
// them, or re-encrypted by a key rotation. Only those secrets are
// decrypted. It returns how many secrets it fingerprinted; a secret that
// cannot be decrypted is an error naming it, after the others are done.
func (s *Service) EnsureFingerprints(ctx context.Context) (int, error) {
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return 0, fmt.Errorf("fingerprint secrets: %w", err)
	}
	fps, err := s.st.ListSecretFingerprints(ctx)
	if err != nil {
		return 0, fmt.Errorf("fingerprint secrets: %w", err)
	}
	ring := s.ring.set.Load()
	current := map[string]bool{}
	for _, fp := range fps {
		if ring.keys[fp.KeyID] != nil {
			current[fp.Secret] = true
		}
	}
	n := 0
	var errs []error
	for _, sec := range secs {
		if current[sec.Name] {
			continue
		}
		pt, err := s.ring.Decrypt(sec.Name, sec.KeyID, sec.Ciphertext)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = s.putFingerprints(ctx, sec.Name, string(pt), sec.UpdatedAt)
		clear(pt)
		switch {
		case err == nil:
			n++
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			// Changed or deleted meanwhile: whoever changed it fingerprints it.
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// Matcher returns an index that tells which secrets' values occur in a
// text, built from the stored fingerprints (no secret is decrypted to
// check a text). It is cached and rebuilt only when a secret or a
// fingerprint changed, in this process or another; a rebuild first
// fingerprints the secrets that lack fingerprints (EnsureFingerprints). A
// secret that cannot be decrypted is logged and left out.
func (s *Service) Matcher(ctx context.Context) (*credscan.Index, error) {
	stamp, err := s.st.SecretsStamp(ctx)
	if err != nil {
		return nil, fmt.Errorf("secret fingerprints: %w", err)
	}
	s.fp.mu.Lock()
	if s.fp.index != nil && s.fp.stamp == stamp {
		x := s.fp.index
		s.fp.mu.Unlock()
		return x, nil
	}
	s.fp.mu.Unlock()

	if n, err := s.EnsureFingerprints(ctx); err != nil {
		s.logger.Warn("some secrets could not be fingerprinted; a definition holding their value is not recognized", "fingerprinted", n, "error", err.Error())
	}
	if stamp, err = s.st.SecretsStamp(ctx); err != nil {
		return nil, fmt.Errorf("secret fingerprints: %w", err)
	}
	rows, err := s.st.ListSecretFingerprints(ctx)
	if err != nil {
		return nil, fmt.Errorf("secret fingerprints: %w", err)
	}
	s.fp.mu.Lock()
	defer s.fp.mu.Unlock()
	fps := map[string]*credscan.Fingerprinter{}
	entries := make([]credscan.Entry, 0, len(rows))
	for _, r := range rows {
		if _, seen := fps[r.KeyID]; !seen {
			f, err := s.fingerprinterLocked(r.KeyID)
			if err != nil {
				return nil, err
			}
			fps[r.KeyID] = f // nil for a key the ring lacks: left out
		}
		if len(r.Sum) != len(credscan.Print{}.Sum) {
			continue
		}
		e := credscan.Entry{Secret: r.Secret, KeyID: r.KeyID, Print: credscan.Print{Length: r.Length, Anchor: r.Anchor}}
		copy(e.Print.Sum[:], r.Sum)
		entries = append(entries, e)
	}
	for id, f := range fps {
		if f == nil {
			delete(fps, id)
		}
	}
	x, _ := credscan.NewIndex(entries, fps)
	s.fp.index, s.fp.stamp = x, stamp
	return x, nil
}
