package store

import (
	"context"
	"time"
)

// SealedValues is one sealed row of what a run's redactor knows: the secret
// values a step of the run resolved and the values its templates derived
// from them, encrypted by the secret service (internal/secret, SealRun) with
// the master key ring and bound to the run's identifier. The store never
// sees a value in clear; only the engine reads the rows back, through the
// secret service (docs/decisions/022-sealed-run-values.md).
type SealedValues struct {
	// ID orders a run's rows; the store assigns it (ignored on write).
	ID    int64
	RunID string
	// Origin marks the row written with the run's first step: a run that
	// has one has sealed every value since it started, so its redactor can
	// be rebuilt exactly from its rows. A run without one started before
	// sealing existed (or its first step never committed).
	Origin bool
	// KeyID is the key ring key that sealed the row, as Secret.KeyID.
	KeyID string
	// Sealed is the nonce and the AES-256-GCM ciphertext.
	Sealed    []byte
	CreatedAt time.Time
}

// SealStore is implemented by stores that keep runs' sealed values
// (Transition.Seal). It is apart from Store so that a store can add it on
// its own schedule; the engine seals, and drops the redactors of waiting
// runs, only on a store that implements it.
type SealStore interface {
	// RunSeals returns a run's sealed rows, oldest first (none for a
	// finished run: Transition.Finish deletes them).
	RunSeals(ctx context.Context, runID string) ([]SealedValues, error)
	// ListSealsByKey returns up to limit rows (limit <= 0 means 100)
	// sealed with key keyID whose ID is greater than afterID, by ID: for
	// key rotation and the key check. IDs are not in commit order on every
	// store (a PostgreSQL sequence hands them out before the commit), so a
	// caller that must see every row under a key pages again from 0 until
	// a pass finds nothing left to do, rather than trusting one pass.
	ListSealsByKey(ctx context.Context, keyID string, afterID int64, limit int) ([]SealedValues, error)
	// Reseal replaces the key id and ciphertext of row v.ID, which must
	// still be sealed with oldKeyID: ErrNotFound when the row is gone (its
	// run finished), ErrConflict when another rotation rewrote it.
	Reseal(ctx context.Context, v SealedValues, oldKeyID string) error
	// SealKeyIDs returns, sorted, every key id that seals a stored row.
	SealKeyIDs(ctx context.Context) ([]string, error)
}
