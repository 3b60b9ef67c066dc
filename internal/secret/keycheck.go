package secret

import (
	"context"
	"crypto/hmac"
	"fmt"
	"slices"

	"github.com/sluice-run/sluice/internal/store"
)

// maxNamedSecrets bounds how many secret names a KeyProblem lists.
const maxNamedSecrets = 3

// Open returns a service that keeps secrets in st, encrypted with ring,
// after checking that ring holds every key the store's secrets were
// written with (see Check). Every command that reads or writes secret
// values opens its service this way, so a wrong key ring fails at once,
// before anything is written, instead of splitting the store between two
// keys.
func Open(ctx context.Context, st store.Store, ring *KeyRing, opts ...Option) (*Service, error) {
	s := NewService(st, ring, opts...)
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Check compares the key ring with the keys the store's secrets were
// written with. For every key some secret uses:
//   - recorded in the store: the ring must hold a key with that id and the
//     recorded fingerprint;
//   - not recorded (a store from before key records): the ring must hold
//     the key and it must decrypt one of that key's secrets; the key is then
//     recorded, so this upgrade happens once.
//
// Otherwise Check fails with a *KeyMismatchError that names the keys and
// says what to do, and records nothing. Records of keys that no secret uses
// any more (a rotation that stopped before removing them) do not count: no
// secret depends on them; Rotate removes them. A store without secrets
// accepts any ring.
//
// Create, Update, Resolve and Rotate run Check once before their first use
// of the store, so a service made with NewService is checked too. Delete,
// Get, List and Audit do not: they read or remove no value, and deleting
// the secrets of a key that is lost for good must keep working.
func (s *Service) Check(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	s.checked.Store(true)
	return nil
}

// ensureChecked runs Check unless it has succeeded before.
func (s *Service) ensureChecked(ctx context.Context) error {
	if s.checked.Load() {
		return nil
	}
	return s.Check(ctx)
}

func (s *Service) check(ctx context.Context) error {
	byKey, verified, err := s.checkSecrets(ctx)
	if err != nil {
		return err
	}
	// Sealed run values under a key the ring lacks do not refuse the ring:
	// nothing new is written with that key, no command could remove them
	// without losing track of what they masked, and the engine masks their
	// runs' completions whole. They are reported instead. (Admit refuses
	// them unless the key was declared lost.)
	lost, err := s.lostSeals(ctx, byKey)
	if err != nil {
		return err
	}
	s.warnLostSeals(lost)
	for _, k := range verified {
		if err := s.st.AddSecretKey(ctx, k); err != nil {
			return fmt.Errorf("check the key ring: record key %s of secrets written before key records: %w", k.ID, err)
		}
		s.logger.Info("recorded the key of secrets written before key records", "keyId", k.ID, "secrets", len(byKey[k.ID]))
	}
	return nil
}

// checkSecrets is the part of Check that compares the ring with the
// secrets' keys, writing nothing: it returns the secrets by key, and the
// keys of secrets from before key records that the ring verified.
func (s *Service) checkSecrets(ctx context.Context) (map[string][]store.Secret, []store.SecretKey, error) {
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("check the key ring: list secrets: %w", err)
	}
	byKey := map[string][]store.Secret{}
	for _, sec := range secs {
		byKey[sec.KeyID] = append(byKey[sec.KeyID], sec)
	}
	ids := make([]string, 0, len(byKey))
	for id := range byKey {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	var (
		problems []KeyProblem
		verified []store.SecretKey
	)
	for _, id := range ids {
		group := byKey[id]
		k, err := s.ring.lookup(id)
		if err != nil && k == nil {
			// The key file could not be reread: say so rather than
			// report the key as missing.
			return nil, nil, fmt.Errorf("check the key ring: %w", err)
		}
		reason := ""
		switch recorded := group[0].KeyFingerprint; {
		case k == nil:
			reason = "not in this key ring"
		case len(recorded) > 0:
			if !hmac.Equal(k.fp, recorded) {
				reason = "fingerprint mismatch: the ring's key with that id is another key"
			}
		case !decryptsOne(k, group):
			reason = "does not decrypt its secrets"
		default:
			verified = append(verified, store.SecretKey{ID: id, Fingerprint: k.fp, CreatedAt: s.timestamp()})
		}
		if reason != "" {
			problems = append(problems, problem(id, reason, group))
		}
	}
	if len(problems) > 0 {
		return nil, nil, &KeyMismatchError{Problems: problems, Advice: s.mismatchAdvice()}
	}
	return byKey, verified, nil
}

// decryptsOne reports whether k decrypts one of secs (all written with k's
// id). One is enough: a single tampered ciphertext must not block the
// others, and Resolve still reports it by name.
func decryptsOne(k *ringKey, secs []store.Secret) bool {
	for _, sec := range secs {
		pt, err := open(k, sec.Name, sec.Ciphertext)
		if err == nil {
			clear(pt)
			return true
		}
	}
	return false
}

func problem(id, reason string, secs []store.Secret) KeyProblem {
	p := KeyProblem{KeyID: id, Reason: reason, Count: len(secs)}
	for _, sec := range secs[:min(len(secs), maxNamedSecrets)] {
		p.Secrets = append(p.Secrets, sec.Name)
	}
	return p
}

// restoreAdvice says how to give sluice back a key its ring lacks,
// according to where the ring comes from.
func (s *Service) restoreAdvice() string {
	switch s.ring.source {
	case sourceEnv:
		return "set " + EnvMasterKey + " to a key ring that holds it (several keys: NEW,OLD, the new one first)"
	case sourceFile:
		return fmt.Sprintf("restore %s from your backup, or set %s or SLUICE_MASTER_KEY_FILE to a key ring that holds it", s.ring.path, EnvMasterKey)
	}
	return "use a key ring that holds it"
}

// mismatchAdvice says what to do about a ring that lacks the store's keys,
// according to where the ring comes from.
func (s *Service) mismatchAdvice() string {
	const lost = "; if that key is lost for good, `sluice secrets delete NAME` removes the secrets written with it (they can never be decrypted)"
	have := fmt.Sprintf("%s holds %v", s.ring.describe(), s.ring.KeyIDs())
	switch s.ring.source {
	case sourceEnv:
		return have + ": set " + EnvMasterKey + " to the key ring those secrets were written with (several keys: NEW,OLD, the new one first), " +
			"or unset it and restore the key file from your backup" + lost
	case sourceFile:
		return fmt.Sprintf("%s: restore %s from your backup, or set %s or SLUICE_MASTER_KEY_FILE to the key ring those secrets were written with%s",
			have, s.ring.path, EnvMasterKey, lost)
	}
	return have + ": use the key ring those secrets were written with"
}
