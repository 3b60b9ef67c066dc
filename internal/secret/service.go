package secret

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/store"
)

// Limits of a secret, from the spec.
const (
	MaxNameLen        = 100
	MinValueLen       = 4
	MaxValueLen       = 64 << 10
	MaxDescriptionLen = 200
)

// Audit actions written by the service.
const (
	ActionCreate  = "secret.create"
	ActionUpdate  = "secret.update"
	ActionDelete  = "secret.delete"
	ActionResolve = "secret.resolve"
	ActionRotate  = "key.rotate"
)

// MaxUpdateAttempts bounds how many times Update and a key rotation read a
// secret again and retry when another writer changed it between their read
// and their write.
const MaxUpdateAttempts = 5

// Audit page sizes.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// Metadata is what may be shown of a secret: never its value. The JSON
// names are Port's.
type Metadata struct {
	Name        string    `json:"secretName"`
	Description string    `json:"description"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// AuditEvent is one audit record as shown to Admins.
type AuditEvent struct {
	ID         int64     `json:"id"`
	Action     string    `json:"action"`
	Actor      string    `json:"actor,omitempty"`
	SecretName string    `json:"secretName,omitempty"`
	RunID      string    `json:"workflowRunIdentifier,omitempty"`
	NodeRunID  string    `json:"workflowNodeRunIdentifier,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// RotateResult reports a key rotation.
type RotateResult struct {
	// NewKeyID is the primary key after the rotation.
	NewKeyID string `json:"newKeyId"`
	// RetiredKeyIDs were removed from the key file. For an environment key
	// ring, they are the keys the operator may now remove.
	RetiredKeyIDs []string `json:"retiredKeyIds"`
	// Reencrypted counts the secrets re-encrypted with the new key.
	Reencrypted int `json:"reencrypted"`
	// Notice tells the operator what is left to do, if anything.
	Notice string `json:"notice,omitempty"`
}

// Service manages organization secrets: validation, encryption, storage with
// an audit event per change, resolution by runs, and key rotation. It is
// safe for concurrent use.
type Service struct {
	st     store.Store
	ring   *KeyRing
	now    func() time.Time
	logger *slog.Logger

	// rotMu lets create, update and delete run together (read lock) but not
	// during a rotation (write lock), so no value is sealed with a key that
	// the rotation is retiring. Resolution never takes it.
	rotMu sync.RWMutex

	// checkMu serializes Check; checked is set once it succeeded.
	checkMu sync.Mutex
	checked atomic.Bool
	// fp caches the fingerprints of values (fingerprints.go).
	fp fingerprintCache

	// hooks run between the steps of a resolution and of a rotation.
	hooks hooks
}

// hooks let tests interleave a resolution with a rotation step by step
// instead of hoping a scheduler does. Nil fields do nothing; only tests
// set them.
type hooks struct {
	// resolveRead runs after a resolution read its secrets from the store
	// and before it decrypts them.
	resolveRead func()
	// reencrypted runs after a rotation wrote secret name under the new
	// key.
	reencrypted func(name string)
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock used for timestamps (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger. It only ever receives names and key ids.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// NewService returns a service that keeps secrets in st, encrypted with ring.
// It checks the ring against the store (Check) before its first read or
// write of a value; Open checks at once.
func NewService(st store.Store, ring *KeyRing, opts ...Option) *Service {
	s := &Service{st: st, ring: ring, now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Ring returns the service's key ring.
func (s *Service) Ring() *KeyRing { return s.ring }

// timestamp is now in UTC at microsecond precision, which every store keeps.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Create stores a new secret, encrypted, with a secret.create audit event in
// the same transaction. It fails with an *InvalidError for a bad field and
// ErrExists when the name is taken.
func (s *Service) Create(ctx context.Context, actor, name, value, description string) (Metadata, error) {
	if err := errors.Join(validateActor(actor), ValidateName(name), ValidateValue(value), ValidateDescription(description)); err != nil {
		return Metadata{}, firstInvalid(err)
	}
	if err := s.ensureChecked(ctx); err != nil {
		return Metadata{}, fmt.Errorf("create secret %s: %w", name, err)
	}
	s.rotMu.RLock()
	defer s.rotMu.RUnlock()
	k, ct, err := s.ring.encrypt(name, []byte(value))
	if err != nil {
		return Metadata{}, err
	}
	now := s.timestamp()
	sec := store.Secret{Name: name, Description: description, KeyID: k.id, KeyFingerprint: k.fp, Ciphertext: ct, CreatedBy: actor, CreatedAt: now, UpdatedAt: now}
	ev := store.AuditEvent{Action: ActionCreate, Actor: actor, Secret: name, CreatedAt: now}
	if err := s.st.CreateSecret(ctx, sec, ev); err != nil {
		return Metadata{}, storeErr("create", name, err)
	}
	s.storeFingerprints(ctx, name, value, sec.UpdatedAt)
	return metadata(sec), nil
}

// Update changes a secret's value, its description, or both (a nil pointer
// keeps the field), with a secret.update audit event in the same
// transaction. It fails with ErrNotFound when the secret does not exist.
//
// The change applies to the secret as it is when written: Update reads the
// secret and writes it back only if nothing changed it meanwhile (another
// update, a key rotation, in this process or another); if something did, it
// reads it again and retries, up to MaxUpdateAttempts times, then fails with
// ErrConflict. So a description change never brings back a value replaced
// concurrently.
func (s *Service) Update(ctx context.Context, actor, name string, value, description *string) (Metadata, error) {
	var errs []error
	errs = append(errs, validateActor(actor), ValidateName(name))
	if value == nil && description == nil {
		errs = append(errs, &InvalidError{Field: "secretValue", Message: "nothing to update: give secretValue, description or both"})
	}
	if value != nil {
		errs = append(errs, ValidateValue(*value))
	}
	if description != nil {
		errs = append(errs, ValidateDescription(*description))
	}
	if err := errors.Join(errs...); err != nil {
		return Metadata{}, firstInvalid(err)
	}
	if err := s.ensureChecked(ctx); err != nil {
		return Metadata{}, fmt.Errorf("update secret %s: %w", name, err)
	}
	s.rotMu.RLock()
	defer s.rotMu.RUnlock()
	var err error
	for range MaxUpdateAttempts {
		var sec store.Secret
		if sec, err = s.st.GetSecret(ctx, name); err != nil {
			return Metadata{}, storeErr("update", name, err)
		}
		read := sec.UpdatedAt
		if value != nil {
			var k *ringKey
			if k, sec.Ciphertext, err = s.ring.encrypt(name, []byte(*value)); err != nil {
				return Metadata{}, err
			}
			sec.KeyID, sec.KeyFingerprint = k.id, k.fp
		}
		if description != nil {
			sec.Description = *description
		}
		sec.UpdatedAt = s.nextUpdatedAt(read)
		ev := store.AuditEvent{Action: ActionUpdate, Actor: actor, Secret: name, CreatedAt: sec.UpdatedAt}
		err = s.st.UpdateSecret(ctx, sec, read, ev)
		if err == nil {
			if value != nil {
				s.storeFingerprints(ctx, name, *value, sec.UpdatedAt)
			}
			return metadata(sec), nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Metadata{}, storeErr("update", name, err)
		}
	}
	return Metadata{}, fmt.Errorf("update secret %s: it kept changing while being updated (%d attempts), try again: %w", name, MaxUpdateAttempts, ErrConflict)
}

// nextUpdatedAt returns the UpdatedAt for a write that replaces a secret
// last updated at prev: now, or a microsecond past prev when the clock has
// not passed it (same microsecond, clock skew between processes). Every
// write so moves UpdatedAt forward, and a conditional update that read an
// older UpdatedAt always conflicts.
func (s *Service) nextUpdatedAt(prev time.Time) time.Time {
	now := s.timestamp()
	if !now.After(prev) {
		now = prev.UTC().Truncate(time.Microsecond).Add(time.Microsecond)
	}
	return now
}

// Delete removes a secret with a secret.delete audit event in the same
// transaction. It fails with ErrNotFound when the secret does not exist.
func (s *Service) Delete(ctx context.Context, actor, name string) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if ValidateName(name) != nil {
		return fmt.Errorf("delete secret: %w", ErrNotFound)
	}
	s.rotMu.RLock()
	defer s.rotMu.RUnlock()
	ev := store.AuditEvent{Action: ActionDelete, Actor: actor, Secret: name, CreatedAt: s.timestamp()}
	if err := s.st.DeleteSecret(ctx, name, ev); err != nil {
		return storeErr("delete", name, err)
	}
	return nil
}

// Get returns a secret's metadata; ErrNotFound when it does not exist.
func (s *Service) Get(ctx context.Context, name string) (Metadata, error) {
	if ValidateName(name) != nil {
		return Metadata{}, fmt.Errorf("get secret: %w", ErrNotFound)
	}
	sec, err := s.st.GetSecret(ctx, name)
	if err != nil {
		return Metadata{}, storeErr("get", name, err)
	}
	return metadata(sec), nil
}

// List returns every secret's metadata, ordered by name.
func (s *Service) List(ctx context.Context) ([]Metadata, error) {
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	out := make([]Metadata, len(secs))
	for i, sec := range secs {
		out[i] = metadata(sec)
	}
	return out, nil
}

// Audit returns audit events newest first. limit 0 means
// DefaultAuditLimit; it may not exceed MaxAuditLimit.
func (s *Service) Audit(ctx context.Context, limit, offset int) ([]AuditEvent, error) {
	switch {
	case limit < 0 || limit > MaxAuditLimit:
		return nil, &InvalidError{Field: "limit", Message: fmt.Sprintf("must be between 0 and %d", MaxAuditLimit)}
	case offset < 0:
		return nil, &InvalidError{Field: "offset", Message: "must not be negative"}
	case limit == 0:
		limit = DefaultAuditLimit
	}
	evs, err := s.st.ListAudit(ctx, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]AuditEvent, len(evs))
	for i, ev := range evs {
		out[i] = AuditEvent{ID: ev.ID, Action: ev.Action, Actor: ev.Actor, SecretName: ev.Secret, RunID: ev.RunID, NodeRunID: ev.NodeRunID, CreatedAt: ev.CreatedAt}
	}
	return out, nil
}

// Resolve decrypts the named secrets for a node run and records one
// secret.resolve audit event per name. It fails with a *NotDefinedError for
// the first name that does not exist (and then decrypts and records
// nothing), and with a *DecryptError naming the secret that cannot be
// decrypted.
func (s *Service) Resolve(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	return s.resolve(ctx, ref, names, true)
}

// ResolveAvailable is Resolve without the failure for missing names: it
// returns the names that exist (recording an audit event for each) and
// leaves the others out. Layered uses it.
func (s *Service) ResolveAvailable(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	return s.resolve(ctx, ref, names, false)
}

func (s *Service) resolve(ctx context.Context, ref ResolveRef, names []string, all bool) (map[string]string, error) {
	if err := s.ensureChecked(ctx); err != nil {
		return nil, fmt.Errorf("resolve secrets %s: %w", strings.Join(validNames(names), ", "), err)
	}
	type found struct {
		name string
		sec  store.Secret
	}
	secs := make([]found, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		var sec store.Secret
		err := store.ErrNotFound
		if ValidateName(name) == nil {
			sec, err = s.st.GetSecret(ctx, name)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if all {
				return nil, &NotDefinedError{Name: name}
			}
		case err != nil:
			return nil, fmt.Errorf("resolve secret %s: %w", name, err)
		default:
			secs = append(secs, found{name, sec})
		}
	}
	if len(secs) == 0 {
		return map[string]string{}, nil
	}
	if s.hooks.resolveRead != nil {
		s.hooks.resolveRead()
	}
	out := make(map[string]string, len(secs))
	evs := make([]store.AuditEvent, 0, len(secs))
	now := s.timestamp()
	for _, f := range secs {
		pt, exists, err := s.decryptSecret(ctx, f.name, f.sec)
		if err != nil {
			return nil, err
		}
		if !exists { // deleted since it was read
			if all {
				return nil, &NotDefinedError{Name: f.name}
			}
			continue
		}
		out[f.name] = string(pt)
		clear(pt)
		evs = append(evs, store.AuditEvent{Action: ActionResolve, Secret: f.name, RunID: ref.RunID, NodeRunID: ref.NodeRunID, CreatedAt: now})
	}
	// No value leaves without its audit event.
	if err := s.st.AddAudit(ctx, evs); err != nil {
		return nil, fmt.Errorf("resolve secrets: record audit events: %w", err)
	}
	return out, nil
}

// decryptSecret decrypts sec, secret name as a resolution read it. When
// sec's key is not in the ring, even after rereading the key file, a
// rotation may have re-encrypted the secret and retired that key between
// the read and now (it retires a key only once every secret is under the
// new one): decryptSecret then reads the secret again and decrypts it as
// it is now, for as long as its key keeps changing (up to
// MaxUpdateAttempts reads). A key that is really missing fails as before,
// with the *DecryptError of the row read again. It reports false when the
// secret was deleted meanwhile.
func (s *Service) decryptSecret(ctx context.Context, name string, sec store.Secret) ([]byte, bool, error) {
	for attempt := 1; ; attempt++ {
		pt, err := s.ring.Decrypt(name, sec.KeyID, sec.Ciphertext)
		var de *DecryptError
		if err == nil || !errors.As(err, &de) || !de.keyMissing || attempt == MaxUpdateAttempts {
			return pt, true, err
		}
		fresh, gerr := s.st.GetSecret(ctx, name)
		switch {
		case errors.Is(gerr, store.ErrNotFound):
			return nil, false, nil
		case gerr != nil:
			return nil, true, fmt.Errorf("resolve secret %s: read it again, its key %s having left the key ring: %w", name, sec.KeyID, gerr)
		case fresh.KeyID == sec.KeyID:
			return nil, true, err
		}
		sec = fresh
	}
}

// Rotate replaces the key that encrypts secrets. With a key file it adds a
// new primary key to the file, re-encrypts every secret with it (one
// key.rotate audit event per secret, in the same transaction as its update),
// removes every other key from the file, then removes the store's records
// of the retired keys. Runs keep resolving secrets throughout: a ring that
// meets the new key id rereads the file.
//
// An environment or in-memory ring cannot be changed here: when it holds
// several keys, Rotate re-encrypts every secret with its primary (first) key
// and the result tells which keys the operator may now remove; when it
// holds one, Rotate fails with ErrRotate and the procedure to follow.
//
// Rotate is resumable and idempotent. It starts a new rotation (adds a key)
// only when the last one is finished: the ring holds one key, and every
// secret and every key record is that key. Otherwise a rotation stopped
// half-way (killed after adding the key, after re-encrypting some secrets,
// or before removing the old records), and Rotate finishes it: it
// re-encrypts the rest with the ring's primary key, retires the others and
// removes their records, adding no key. A ring that lacks a key the store's
// secrets were written with is refused (*KeyMismatchError) before anything
// changes.
func (s *Service) Rotate(ctx context.Context, actor string) (RotateResult, error) {
	if err := validateActor(actor); err != nil {
		return RotateResult{}, err
	}
	if err := s.ensureChecked(ctx); err != nil {
		return RotateResult{}, fmt.Errorf("key rotation: %w", err)
	}
	defer s.refreshFingerprints(ctx) // after the unlock: re-encryption moved every updatedAt
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	if s.ring.source == sourceFile {
		unlock, err := s.ring.lockRotation()
		if err != nil {
			return RotateResult{}, err
		}
		defer unlock()
		// Under the lock, the file is as the last rotation left it.
		if _, err := s.ring.reload(s.ring.set.Load()); err != nil {
			return RotateResult{}, fmt.Errorf("key rotation: %w", err)
		}
	}
	pending, err := s.unfinishedRotation(ctx)
	if err != nil {
		return RotateResult{}, fmt.Errorf("key rotation: %w", err)
	}
	if s.ring.source != sourceFile {
		return s.rotateInMemory(ctx, actor, pending)
	}
	old := s.ring.set.Load()
	if pending == "" {
		raw, err := GenerateKey()
		if err != nil {
			return RotateResult{}, fmt.Errorf("key rotation: %w", err)
		}
		_, old, err = s.ring.addPrimary(raw, s.now())
		clear(raw)
		if err != nil {
			return RotateResult{}, fmt.Errorf("key rotation: add key: %w", err)
		}
	} else {
		s.logger.Info("finishing an unfinished key rotation", "primaryKeyId", s.ring.PrimaryKeyID(), "why", pending, "actor", actor)
	}
	target := s.ring.PrimaryKeyID()
	// Recorded before anything is written with it, so that a process
	// started from now on without it is refused (admit.go).
	if err := s.recordRingKey(ctx, target); err != nil {
		return RotateResult{NewKeyID: target}, fmt.Errorf("key rotation: run `sluice keys rotate` again to finish: %w", err)
	}
	n, err := s.reencrypt(ctx, actor, target, old)
	if err != nil {
		return RotateResult{NewKeyID: target, Reencrypted: n}, fmt.Errorf("key rotation stopped after %d secrets (key %s is primary; the old keys stay in the key file, so every secret still decrypts): "+
			"run `sluice keys rotate` again to finish: it re-encrypts the rest and adds no key: %w", n, target, err)
	}
	retired, err := s.ring.retireAllBut(target)
	if err != nil {
		return RotateResult{NewKeyID: target, Reencrypted: n}, fmt.Errorf("key rotation: retire old keys: %w", err)
	}
	// A process that had not yet seen the new key file may have sealed a
	// value with an old key before the retirement: sweep once more, with
	// the old keys still in hand.
	m, err := s.reencrypt(ctx, actor, target, old)
	res := RotateResult{NewKeyID: target, RetiredKeyIDs: retired, Reencrypted: n + m}
	if err != nil {
		return res, fmt.Errorf("key rotation: final sweep (run `sluice keys rotate` again to finish): %w", err)
	}
	if err := s.dropRecordsBut(ctx, target); err != nil {
		return res, fmt.Errorf("key rotation: remove the records of the retired keys (run `sluice keys rotate` again to finish): %w", err)
	}
	s.logger.Info("rotated the secrets key", "newKeyId", target, "retiredKeyIds", retired, "reencrypted", res.Reencrypted, "actor", actor)
	return res, nil
}

// unfinishedRotation says why a rotation is unfinished ("" when it is
// finished): the ring holds several keys, or a secret or a key record is
// not under the ring's primary key.
func (s *Service) unfinishedRotation(ctx context.Context) (string, error) {
	primary := s.ring.PrimaryKeyID()
	if ids := s.ring.KeyIDs(); len(ids) > 1 {
		return fmt.Sprintf("the key ring holds %d keys", len(ids)), nil
	}
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return "", fmt.Errorf("list secrets: %w", err)
	}
	for _, sec := range secs {
		if sec.KeyID != primary {
			return fmt.Sprintf("secret %s is written with key %s", sec.Name, sec.KeyID), nil
		}
	}
	if ss, ok := s.st.(store.SealStore); ok {
		ids, err := ss.SealKeyIDs(ctx)
		if err != nil {
			return "", fmt.Errorf("list the keys of sealed run values: %w", err)
		}
		for _, id := range ids {
			if id == primary {
				continue
			}
			// Rows under a key the ring lacks can never be re-sealed
			// (LostSeals): they do not keep a rotation unfinished.
			k, err := s.ring.lookup(id)
			if err != nil && k == nil {
				return "", err
			}
			if k != nil {
				return fmt.Sprintf("values of waiting runs are sealed with key %s", id), nil
			}
		}
	}
	recs, err := s.st.ListSecretKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("list key records: %w", err)
	}
	for _, r := range recs {
		if r.ID != primary {
			return fmt.Sprintf("key %s is still recorded", r.ID), nil
		}
	}
	if rs, ok := s.st.(store.RingKeyStore); ok {
		rings, err := rs.ListRingKeys(ctx)
		if err != nil {
			return "", fmt.Errorf("list ring key records: %w", err)
		}
		for _, r := range rings {
			if r.ID != primary && r.LostAt.IsZero() {
				return fmt.Sprintf("key %s is still recorded as a process's key", r.ID), nil
			}
		}
	}
	return "", nil
}

// dropRecordsBut removes every key record but keep's. A record that a
// secret still uses (sealed meanwhile by a process with an old ring) is
// kept, and reported.
func (s *Service) dropRecordsBut(ctx context.Context, keep string) error {
	recs, err := s.st.ListSecretKeys(ctx)
	if err != nil {
		return fmt.Errorf("list key records: %w", err)
	}
	var errs []error
	for _, r := range recs {
		if r.ID == keep {
			continue
		}
		if err := s.st.DeleteSecretKey(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.dropRingRecordsBut(ctx, keep)) // admit.go
	return errors.Join(errs...)
}

// rotateInMemory re-encrypts every secret with the primary key of a ring
// that has no file. pending says why a rotation is unfinished, if it is.
func (s *Service) rotateInMemory(ctx context.Context, actor, pending string) (RotateResult, error) {
	ids := s.ring.KeyIDs()
	what := EnvMasterKey
	if s.ring.source == sourceMemory {
		what = "the in-memory key ring"
	}
	if pending == "" {
		return RotateResult{}, fmt.Errorf("%w: the key comes from %s, which sluice cannot change. To rotate it: "+
			"1) generate a key (head -c 32 /dev/urandom | base64) and set %s=\"NEW,OLD\" (new key first) on every sluice process; "+
			"2) run rotate again to re-encrypt every secret with NEW; 3) set %s=\"NEW\" and restart", ErrRotate, what, EnvMasterKey, EnvMasterKey)
	}
	if err := s.recordRingKey(ctx, ids[0]); err != nil {
		return RotateResult{NewKeyID: ids[0]}, fmt.Errorf("key rotation: run it again to finish: %w", err)
	}
	n, err := s.reencrypt(ctx, actor, ids[0], nil)
	res := RotateResult{NewKeyID: ids[0], RetiredKeyIDs: ids[1:], Reencrypted: n}
	if err != nil {
		return res, fmt.Errorf("key rotation stopped after %d secrets (run it again to finish): %w", n, err)
	}
	if err := s.dropRecordsBut(ctx, ids[0]); err != nil {
		return res, fmt.Errorf("key rotation: remove the records of the old keys (run it again to finish): %w", err)
	}
	if len(ids) > 1 {
		res.Notice = fmt.Sprintf("every secret is now encrypted with key %s; remove keys %s from %s and restart every sluice process",
			ids[0], strings.Join(ids[1:], ", "), what)
	} else {
		res.Notice = fmt.Sprintf("every secret is encrypted with key %s", ids[0])
	}
	s.logger.Info("re-encrypted secrets with the primary key", "keyId", ids[0], "reencrypted", n, "actor", actor)
	return res, nil
}

// reencrypt seals every secret not already under key target again with the
// ring's primary key (which must be target). Keys missing from the ring are
// looked up in old. It returns how many secrets it re-encrypted.
func (s *Service) reencrypt(ctx context.Context, actor, target string, old *keySet) (int, error) {
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return 0, fmt.Errorf("list secrets: %w", err)
	}
	n := 0
	for _, sec := range secs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		done, err := s.reencryptOne(ctx, actor, target, old, sec)
		if err != nil {
			return n, fmt.Errorf("secret %s: %w", sec.Name, err)
		}
		if done {
			n++
		}
	}
	// The sealed values of waiting runs move to the new key too: the
	// retired key could not open them any more.
	m, err := s.resealRuns(ctx, target, old)
	if err != nil {
		return n, fmt.Errorf("after %d secrets: %w", n, err)
	}
	if m > 0 {
		s.logger.Info("re-encrypted the sealed values of waiting runs", "keyId", target, "rows", m)
	}
	return n, nil
}

// reencryptOne seals sec's value again with key target, with a key.rotate
// audit event, unless it is already under target or no longer exists. The
// write applies only to the secret as read: when something changed it
// meanwhile (an update from another process), reencryptOne reads it again
// and re-encrypts the current value, up to MaxUpdateAttempts times. It
// reports whether it wrote.
func (s *Service) reencryptOne(ctx context.Context, actor, target string, old *keySet, sec store.Secret) (bool, error) {
	for attempt := range MaxUpdateAttempts {
		if attempt > 0 {
			var err error
			sec, err = s.st.GetSecret(ctx, sec.Name)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil // deleted meanwhile
			}
			if err != nil {
				return false, fmt.Errorf("read again after a concurrent change: %w", err)
			}
		}
		if sec.KeyID == target {
			return false, nil
		}
		var (
			pt  []byte
			err error
		)
		if k := oldKey(old, sec.KeyID); k != nil {
			pt, err = open(k, sec.Name, sec.Ciphertext)
		} else {
			pt, err = s.ring.Decrypt(sec.Name, sec.KeyID, sec.Ciphertext)
		}
		if err != nil {
			return false, err
		}
		k, ct, err := s.ring.encrypt(sec.Name, pt)
		clear(pt)
		if err != nil {
			return false, err
		}
		if k.id != target {
			return false, fmt.Errorf("the primary key changed to %s during the rotation to %s", k.id, target)
		}
		read := sec.UpdatedAt
		sec.KeyID, sec.KeyFingerprint, sec.Ciphertext = k.id, k.fp, ct
		// The rotation moves UpdatedAt too, so that an update in another
		// process that read the secret before it conflicts instead of
		// writing back a ciphertext under a key being retired.
		sec.UpdatedAt = s.nextUpdatedAt(read)
		ev := store.AuditEvent{Action: ActionRotate, Actor: actor, Secret: sec.Name, CreatedAt: sec.UpdatedAt}
		err = s.st.UpdateSecret(ctx, sec, read, ev)
		switch {
		case err == nil:
			if s.hooks.reencrypted != nil {
				s.hooks.reencrypted(sec.Name)
			}
			return true, nil
		case errors.Is(err, store.ErrNotFound):
			return false, nil // deleted meanwhile
		case !errors.Is(err, store.ErrConflict):
			return false, err
		}
	}
	return false, fmt.Errorf("it kept changing while being re-encrypted (%d attempts): %w", MaxUpdateAttempts, ErrConflict)
}

func oldKey(old *keySet, id string) *ringKey {
	if old == nil {
		return nil
	}
	return old.keys[id]
}

// validNames returns the names that are valid secret names, without
// repeats: an error may quote those (an invalid one may be a value typed
// in the wrong place).
func validNames(names []string) []string {
	var out []string
	for _, n := range uniq(names) {
		if ValidateName(n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// metadata strips a stored secret to what may be shown.
func metadata(s store.Secret) Metadata {
	return Metadata{Name: s.Name, Description: s.Description, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// storeErr wraps a store error with the operation and the secret's name,
// mapping the store's sentinels to this package's.
func storeErr(op, name string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s secret %s: %w", op, name, ErrNotFound)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%s secret %s: %w", op, name, ErrExists)
	}
	return fmt.Errorf("%s secret %s: %w", op, name, err)
}

// firstInvalid returns the first *InvalidError of a joined error, so callers
// get one typed error with one field.
func firstInvalid(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return err
}

// ValidateName checks a secret name: 1 to 100 characters from A-Z, a-z,
// 0-9, _ and -. The error never quotes the name (a mistyped command may have
// put a value there).
func ValidateName(name string) error {
	if name == "" {
		return &InvalidError{Field: "secretName", Message: "must not be empty"}
	}
	if len(name) > MaxNameLen {
		return &InvalidError{Field: "secretName", Message: fmt.Sprintf("must be at most %d characters", MaxNameLen)}
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return &InvalidError{Field: "secretName", Message: fmt.Sprintf("character %d is not allowed: use letters A-Z and a-z, digits, _ and -", i+1)}
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// ValidateValue checks a secret value: valid UTF-8 (templates render text,
// and a value altered on the way out could not be masked), at least 4 bytes
// (a shorter one cannot be masked without wrecking every log) and at most
// 64 KiB. The error never quotes the value nor gives its length.
func ValidateValue(value string) error {
	switch {
	case len(value) < MinValueLen:
		return &InvalidError{Field: "secretValue", Message: fmt.Sprintf("must be at least %d bytes: a shorter value cannot be masked in logs without masking everything", MinValueLen)}
	case len(value) > MaxValueLen:
		return &InvalidError{Field: "secretValue", Message: "must be at most 64 KiB"}
	case !utf8.ValidString(value):
		return &InvalidError{Field: "secretValue", Message: "must be valid UTF-8 text"}
	}
	return nil
}

// ValidateDescription checks a description: valid UTF-8, at most 200
// characters.
func ValidateDescription(d string) error {
	switch {
	case !utf8.ValidString(d):
		return &InvalidError{Field: "description", Message: "must be valid UTF-8 text"}
	case utf8.RuneCountInString(d) > MaxDescriptionLen:
		return &InvalidError{Field: "description", Message: fmt.Sprintf("must be at most %d characters", MaxDescriptionLen)}
	}
	return nil
}

// validateActor requires an actor, so every audit event says who.
func validateActor(actor string) error {
	if strings.TrimSpace(actor) == "" {
		return &InvalidError{Field: "actor", Message: "must not be empty: every change to a secret is audited with who made it"}
	}
	return nil
}
