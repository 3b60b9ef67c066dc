package secret

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-run/sluice/internal/store"
)

// OpenAdmitted returns a service over st and ring after Admit: the key
// check of a process that starts (serve, worker, and every command that
// writes with the ring).
func OpenAdmitted(ctx context.Context, st store.Store, ring *KeyRing, opts ...Option) (*Service, error) {
	s := NewService(st, ring, opts...)
	if err := s.Admit(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Admit checks the key ring against every key the store uses, before the
// process writes anything, and records the ring's primary key
// (docs/decisions/030-shared-key-ring.md). On a store that implements
// store.RingKeyStore, the ring must hold, with the recorded fingerprint,
// every key that processes recorded when they started (unless the operator
// declared it lost with ForgetKey), and every key that seals values of
// waiting runs (unless declared lost); then Check compares it with the
// secrets' keys. The last look at the records and the recording of the
// primary key are one step for every process on the store: of processes
// starting together on an empty store with different keys, exactly one
// is recorded and the others are refused. Otherwise Admit fails with a
// *RingMismatchError (or Check's *KeyMismatchError), both matching
// ErrKeyMismatch, having written nothing. On another store Admit is Check.
func (s *Service) Admit(ctx context.Context) error {
	rs, ok := s.st.(store.RingKeyStore)
	if !ok {
		return s.Check(ctx)
	}
	seals, err := s.sealKeyIDs(ctx)
	if err != nil {
		return err
	}
	recs, err := rs.ListRingKeys(ctx)
	if err != nil {
		return fmt.Errorf("check the key ring: %w", err)
	}
	// Refused by the records or the seals: say so before Check, which
	// would warn about sealed values that are not lost; but when the
	// secrets refuse the ring too, their error says more (which secrets,
	// which backup to restore).
	if err := s.ringProblems(recs, seals); err != nil {
		if _, _, serr := s.checkSecrets(ctx); serr != nil {
			return serr
		}
		return err
	}
	if err := s.Check(ctx); err != nil {
		return err
	}
	primary := s.ring.set.Load().keys[s.ring.PrimaryKeyID()]
	err = rs.AdmitRingKey(ctx, store.RingKey{ID: primary.id, Fingerprint: primary.fp, FirstSeen: s.timestamp()},
		func(recs []store.RingKey) error { return s.ringProblems(recs, seals) })
	var mismatch *RingMismatchError
	if err != nil && !errors.As(err, &mismatch) {
		return fmt.Errorf("check the key ring: record key %s: %w", primary.id, err)
	}
	return err
}

// sealKeyIDs returns the keys that seal values of waiting runs, and for
// each key the ring lacks the runs it seals values of (the only keys whose
// runs a refusal names: paging a key's sealed rows costs a read per page,
// which a start with the right ring does not pay); nothing on a store that
// keeps no sealed values.
func (s *Service) sealKeyIDs(ctx context.Context) (map[string]LostSeals, error) {
	ss, ok := s.st.(store.SealStore)
	if !ok {
		return nil, nil
	}
	ids, err := ss.SealKeyIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the key ring: list the keys of sealed run values: %w", err)
	}
	out := make(map[string]LostSeals, len(ids))
	for _, id := range ids {
		if k, _ := s.ring.lookup(id); k != nil {
			out[id] = LostSeals{KeyID: id}
			continue
		}
		l, err := sealedRuns(ctx, ss, id)
		if err != nil {
			return nil, err
		}
		out[id] = l
	}
	return out, nil
}

// ringProblems compares the ring with the records and the keys of sealed
// values, and returns a *RingMismatchError naming every key the ring lacks.
func (s *Service) ringProblems(recs []store.RingKey, seals map[string]LostSeals) error {
	var problems []RingProblem
	lost := map[string]bool{}
	for _, r := range recs {
		if !r.LostAt.IsZero() {
			lost[r.ID] = true
			continue
		}
		k, err := s.ring.lookup(r.ID)
		if err != nil && k == nil {
			return fmt.Errorf("check the key ring: %w", err)
		}
		switch {
		case k == nil:
			problems = append(problems, RingProblem{KeyID: r.ID, Reason: "not in this key ring", Recorded: true})
		case !hmac.Equal(k.fp, r.Fingerprint):
			problems = append(problems, RingProblem{KeyID: r.ID, Reason: "fingerprint mismatch: the ring's key with that id is another key", Recorded: true})
		}
	}
	ids := make([]string, 0, len(seals))
	for id := range seals {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if lost[id] {
			continue
		}
		k, err := s.ring.lookup(id)
		if err != nil && k == nil {
			return fmt.Errorf("check the key ring: %w", err)
		}
		if k != nil {
			continue
		}
		l := seals[id]
		i := slices.IndexFunc(problems, func(p RingProblem) bool { return p.KeyID == id })
		if i < 0 {
			problems = append(problems, RingProblem{KeyID: id, Reason: "not in this key ring"})
			i = len(problems) - 1
		}
		problems[i].Runs, problems[i].RunCount = l.Runs, l.RunCount
	}
	if len(problems) == 0 {
		return nil
	}
	return &RingMismatchError{Problems: problems, Ring: s.ring.describe(), RingKeys: s.ring.KeyIDs(), Advice: s.ringAdvice()}
}

// ringAdvice says how to give this process the ring the others use.
func (s *Service) ringAdvice() string {
	fix := "give every sluice process on this database the same key ring: set SLUICE_MASTER_KEY_FILE to the key file the others use (a copy with mode 0600), or " +
		EnvMasterKey + " to the same keys"
	if s.ring.source == sourceFile {
		fix += fmt.Sprintf(" (this process read %s; a key generated there by mistake can be removed once the variable is set)", s.ring.path)
	}
	return fix + ". After `sluice keys rotate`, that is the rotated key file (or NEW,OLD in " + EnvMasterKey + " until the rotation ran). " +
		"If a key is lost for good, `sluice keys forget KEYID` declares it lost: the values it sealed stay masked whole until their runs end, " +
		"and `sluice secrets delete NAME` removes the secrets written with it. Nothing was written"
}

// RingProblem is one key the store uses that the key ring lacks.
type RingProblem struct {
	KeyID  string
	Reason string
	// Recorded says a process recorded the key when it started with it.
	Recorded bool
	// Runs names up to ten of the waiting runs whose values the key
	// seals; RunCount counts them all.
	Runs     []string
	RunCount int
}

// RingMismatchError reports a key ring that lacks a key other processes on
// the store started with or sealed run values with: a process started with
// it would write what they cannot read, and could not read what they
// wrote. Nothing was written. It matches ErrKeyMismatch.
type RingMismatchError struct {
	Problems []RingProblem
	// Ring says where the ring came from; RingKeys are its key ids.
	Ring     string
	RingKeys []string
	Advice   string
}

// Error implements error.
func (e *RingMismatchError) Error() string {
	var b strings.Builder
	b.WriteString("this process's key ring is not the one the store is used with: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString(", and ")
		}
		fmt.Fprintf(&b, "key %s (%s", p.KeyID, p.Reason)
		if p.Recorded {
			b.WriteString("; another sluice process started with it")
		}
		if p.RunCount > 0 {
			fmt.Fprintf(&b, "; it seals values of %d waiting run(s): %s", p.RunCount, strings.Join(p.Runs, ", "))
			if p.RunCount > len(p.Runs) {
				b.WriteString(", ...")
			}
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; %s holds %v: %s", e.Ring, e.RingKeys, e.Advice)
	return b.String()
}

// Is makes errors.Is(err, ErrKeyMismatch) true.
func (e *RingMismatchError) Is(target error) bool { return target == ErrKeyMismatch }

// KeyIDs returns the ids of the keys the ring lacks.
func (e *RingMismatchError) KeyIDs() []string {
	ids := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		ids[i] = p.KeyID
	}
	return ids
}

// ForgetKey declares key id lost for good (`sluice keys forget`): a ring
// without it is admitted from then on, and the run values it sealed are
// masked whole until their runs end. It returns what is lost with it: the
// waiting runs whose values the key seals (none when RunCount is 0), for
// the operator to be told. It refuses a key the ring holds (it is not
// lost) and a key that secrets are still written with (delete them first:
// they can never be decrypted), and needs a store that implements
// store.RingKeyStore.
func (s *Service) ForgetKey(ctx context.Context, id string) (LostSeals, error) {
	rs, ok := s.st.(store.RingKeyStore)
	if !ok {
		return LostSeals{}, errors.New("forget key: the store keeps no key records")
	}
	if k, err := s.ring.lookup(id); k != nil {
		return LostSeals{}, fmt.Errorf("forget key %s: %s holds it, so it is not lost", id, s.ring.describe())
	} else if err != nil {
		return LostSeals{}, fmt.Errorf("forget key %s: %w", id, err)
	}
	secs, err := s.st.ListSecrets(ctx)
	if err != nil {
		return LostSeals{}, fmt.Errorf("forget key %s: list secrets: %w", id, err)
	}
	var names []string
	for _, sec := range secs {
		if sec.KeyID == id {
			names = append(names, sec.Name)
		}
	}
	if len(names) > 0 {
		return LostSeals{}, fmt.Errorf("forget key %s: %d secret(s) are written with it (%s); if the key is lost for good, remove them first with `sluice secrets delete NAME`",
			id, len(names), strings.Join(names[:min(len(names), maxNamedSecrets)], ", "))
	}
	recs, err := rs.ListRingKeys(ctx)
	if err != nil {
		return LostSeals{}, fmt.Errorf("forget key %s: %w", id, err)
	}
	seals, err := s.sealKeyIDs(ctx)
	if err != nil {
		return LostSeals{}, err
	}
	lost, sealed := seals[id]
	if !sealed && !slices.ContainsFunc(recs, func(r store.RingKey) bool { return r.ID == id }) {
		return LostSeals{}, fmt.Errorf("forget key %s: %w: no process started with it and no run value is sealed with it", id, store.ErrNotFound)
	}
	if err := rs.ForgetRingKey(ctx, id, s.timestamp()); err != nil {
		return LostSeals{}, fmt.Errorf("forget key %s: %w", id, err)
	}
	lost.KeyID = id
	s.logger.Warn("declared a key lost for good: processes without it start, and the run values it sealed are masked whole until their runs end",
		"keyId", id, "waitingRuns", lost.RunCount, "runs", lost.Runs)
	return lost, nil
}

// recordRingKey records key id of the ring (a rotation's new key), so that
// a process started without it is refused. It does nothing on a store
// without ring records.
func (s *Service) recordRingKey(ctx context.Context, id string) error {
	rs, ok := s.st.(store.RingKeyStore)
	if !ok {
		return nil
	}
	k := s.ring.set.Load().keys[id]
	if k == nil {
		return fmt.Errorf("record key %s: not in the key ring", id)
	}
	return rs.AdmitRingKey(ctx, store.RingKey{ID: id, Fingerprint: k.fp, FirstSeen: s.timestamp()}, func([]store.RingKey) error { return nil })
}

// dropRingRecordsBut removes the ring records of every key but keep, after
// a rotation: nothing is written with them any more. A key declared lost
// keeps its record while it still seals values (a rotation cannot re-seal
// them), so that rings without it stay admitted.
func (s *Service) dropRingRecordsBut(ctx context.Context, keep string) error {
	rs, ok := s.st.(store.RingKeyStore)
	if !ok {
		return nil
	}
	recs, err := rs.ListRingKeys(ctx)
	if err != nil {
		return fmt.Errorf("list ring key records: %w", err)
	}
	var sealed []string
	if ss, ok := s.st.(store.SealStore); ok {
		if sealed, err = ss.SealKeyIDs(ctx); err != nil {
			return fmt.Errorf("list the keys of sealed run values: %w", err)
		}
	}
	var errs []error
	for _, r := range recs {
		if r.ID == keep || (!r.LostAt.IsZero() && slices.Contains(sealed, r.ID)) {
			continue
		}
		if err := rs.DeleteRingKey(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
