package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.SealStore = (*Store)(nil)

// queueSeal queues a transition's sealed values (store.SealStore): appended
// with the step, or, when the step finishes the run, every sealed row of
// the run deleted instead, in the same transaction.
func queueSeal(w *batch, t store.Transition, now time.Time) {
	if t.Finish != nil {
		w.exec("delete sealed values", `DELETE FROM run_seals WHERE run_id = $1`, t.RunID)
		return
	}
	if v := t.Seal; v != nil {
		if v.KeyID == "" || len(v.Sealed) == 0 {
			// As the SQLite store: such a row never opens, and a key id ""
			// would fail the key check at every start.
			w.exec("", sqlRefuse, "seal: empty key id or ciphertext")
			return
		}
		w.exec("insert sealed values", `INSERT INTO run_seals (run_id, origin, key_id, sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
			t.RunID, v.Origin, v.KeyID, v.Sealed, ts(v.CreatedAt, now))
	}
}

const sealCols = `id, run_id, origin, key_id, sealed, created_at`

func scanSeal(row pgx.Row) (store.SealedValues, error) {
	var v store.SealedValues
	err := row.Scan(&v.ID, &v.RunID, &v.Origin, &v.KeyID, &v.Sealed, &v.CreatedAt)
	return v, err
}

// RunSeals returns a run's sealed rows, oldest first.
func (s *Store) RunSeals(ctx context.Context, runID string) ([]store.SealedValues, error) {
	vs, err := collect(ctx, s.pool, scanSeal, `SELECT `+sealCols+` FROM run_seals WHERE run_id = $1 ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: sealed values of run %s: %w", runID, err)
	}
	return vs, nil
}

// ListSealsByKey returns up to limit rows sealed with key keyID after
// afterID, by ID.
func (s *Store) ListSealsByKey(ctx context.Context, keyID string, afterID int64, limit int) ([]store.SealedValues, error) {
	if limit <= 0 {
		limit = 100
	}
	vs, err := collect(ctx, s.pool, scanSeal, `SELECT `+sealCols+` FROM run_seals WHERE key_id = $1 AND id > $2 ORDER BY id LIMIT $3`, keyID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list the values sealed with key %s: %w", keyID, err)
	}
	return vs, nil
}

// Reseal replaces the key id and ciphertext of row v.ID if it is still
// sealed with oldKeyID.
func (s *Store) Reseal(ctx context.Context, v store.SealedValues, oldKeyID string) error {
	if v.KeyID == "" || len(v.Sealed) == 0 {
		return errors.New("postgres: reseal: empty key id or ciphertext")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE run_seals SET key_id = $1, sealed = $2 WHERE id = $3 AND key_id = $4`, v.KeyID, v.Sealed, v.ID, oldKeyID)
	if err != nil {
		return fmt.Errorf("postgres: reseal row %d: %w", v.ID, mapErr(err))
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var key string
	if err := s.pool.QueryRow(ctx, `SELECT key_id FROM run_seals WHERE id = $1`, v.ID).Scan(&key); err != nil {
		return fmt.Errorf("postgres: reseal row %d: %w", v.ID, mapErr(err))
	}
	return fmt.Errorf("postgres: reseal row %d: sealed with key %s, not %s: %w", v.ID, key, oldKeyID, store.ErrConflict)
}

// SealKeyIDs returns every key id that seals a stored row.
func (s *Store) SealKeyIDs(ctx context.Context) ([]string, error) {
	ids, err := collect(ctx, s.pool, func(row pgx.Row) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}, `SELECT DISTINCT key_id FROM run_seals ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: keys of sealed values: %w", err)
	}
	return ids, nil
}
