package store

import (
	"context"
	"time"
)

// RingKey records a master key that a process started with as the primary
// key of its key ring, so that a process started later with another ring
// is refused before it writes anything (docs/decisions/030-shared-key-ring.md).
// Like SecretKey it holds the key's id and keyed fingerprint, never the key.
type RingKey struct {
	ID string
	// Fingerprint is the key's fingerprint (secret.Fingerprint). It is
	// empty only for a key declared lost (LostAt) that was never recorded.
	Fingerprint []byte
	// FirstSeen is when the key was first recorded.
	FirstSeen time.Time
	// LostAt is zero unless the operator declared the key lost for good
	// (`sluice keys forget`): a ring without it is then accepted, and the
	// run values sealed with it are masked whole until their runs end.
	LostAt time.Time
}

// RingKeyStore keeps the records of the keys processes start with. It is
// apart from Store so that a store can add it on its own schedule; the
// key check at start (secret.Service.Admit) uses it when the store
// implements it.
type RingKeyStore interface {
	// ListRingKeys returns every record, ordered by id.
	ListRingKeys(ctx context.Context) ([]RingKey, error)
	// AdmitRingKey calls check with every record and, when check returns
	// nil, records k (a zero FirstSeen is now): all in one step for every
	// process using the store, so that of concurrent callers on a store
	// without records exactly one records its key, and the others' checks
	// see it. When check fails its error is returned as it is (errors.As
	// finds it) and nothing is written. Recording an id again with the same
	// fingerprint, or over a lost record without one, clears LostAt and
	// changes nothing else; another fingerprint fails with ErrConflict.
	// An empty id or fingerprint is an error.
	AdmitRingKey(ctx context.Context, k RingKey, check func(recorded []RingKey) error) error
	// DeleteRingKey removes a record: ErrNotFound when there is none.
	DeleteRingKey(ctx context.Context, id string) error
	// ForgetRingKey marks a key lost at at (a zero at is now), adding a
	// record without fingerprint when there is none. A key already marked
	// lost keeps its first LostAt.
	ForgetRingKey(ctx context.Context, id string, at time.Time) error
}
