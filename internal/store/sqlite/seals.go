package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.SealStore = (*Store)(nil)

// sealStep writes a transition's sealed values (store.SealStore): appended
// with the step, or, when the step finishes the run, every sealed row of
// the run deleted instead. It runs inside Apply's transaction.
func (s *Store) sealStep(ctx context.Context, tx *sql.Tx, t store.Transition, now time.Time) error {
	if t.Finish != nil {
		if _, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM run_seals WHERE run_id = ?`, t.RunID); err != nil {
			return fmt.Errorf("delete sealed values: %w", err)
		}
		return nil
	}
	v := t.Seal
	if v == nil {
		return nil
	}
	if v.KeyID == "" || len(v.Sealed) == 0 {
		return errors.New("seal: empty key id or ciphertext")
	}
	_, err := s.prepared(tx).ExecContext(ctx, `INSERT INTO run_seals (run_id, origin, key_id, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.RunID, v.Origin, v.KeyID, v.Sealed, ts(v.CreatedAt, now))
	if err != nil {
		return fmt.Errorf("insert sealed values: %w", mapErr(err))
	}
	return nil
}

const sealCols = `id, run_id, origin, key_id, sealed, created_at`

func scanSeal(sc scanner) (store.SealedValues, error) {
	var (
		v  store.SealedValues
		at int64
	)
	if err := sc.Scan(&v.ID, &v.RunID, &v.Origin, &v.KeyID, &v.Sealed, &at); err != nil {
		return store.SealedValues{}, err
	}
	v.CreatedAt = fromTS(at)
	return v, nil
}

// RunSeals returns a run's sealed rows, oldest first.
func (s *Store) RunSeals(ctx context.Context, runID string) ([]store.SealedValues, error) {
	vs, err := queryAll(ctx, s.r, scanSeal, `SELECT `+sealCols+` FROM run_seals WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sealed values of run %s: %w", runID, err)
	}
	return vs, nil
}

// ListSealsByKey returns up to limit rows sealed with key keyID after
// afterID, by ID.
func (s *Store) ListSealsByKey(ctx context.Context, keyID string, afterID int64, limit int) ([]store.SealedValues, error) {
	if limit <= 0 {
		limit = 100
	}
	vs, err := queryAll(ctx, s.r, scanSeal, `SELECT `+sealCols+` FROM run_seals WHERE key_id = ? AND id > ? ORDER BY id LIMIT ?`, keyID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list the values sealed with key %s: %w", keyID, err)
	}
	return vs, nil
}

// Reseal replaces the key id and ciphertext of row v.ID if it is still
// sealed with oldKeyID.
func (s *Store) Reseal(ctx context.Context, v store.SealedValues, oldKeyID string) error {
	if v.KeyID == "" || len(v.Sealed) == 0 {
		return errors.New("sqlite: reseal: empty key id or ciphertext")
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE run_seals SET key_id = ?, sealed = ? WHERE id = ? AND key_id = ?`, v.KeyID, v.Sealed, v.ID, oldKeyID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		var key string
		if err := tx.QueryRowContext(ctx, `SELECT key_id FROM run_seals WHERE id = ?`, v.ID).Scan(&key); err != nil {
			return notFound(err)
		}
		return fmt.Errorf("sealed with key %s, not %s: %w", key, oldKeyID, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlite: reseal row %d: %w", v.ID, err)
	}
	return nil
}

// SealKeyIDs returns every key id that seals a stored row.
func (s *Store) SealKeyIDs(ctx context.Context) ([]string, error) {
	ids, err := queryAll(ctx, s.r, func(sc scanner) (string, error) {
		var id string
		err := sc.Scan(&id)
		return id, err
	}, `SELECT DISTINCT key_id FROM run_seals ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: keys of sealed values: %w", err)
	}
	return ids, nil
}
