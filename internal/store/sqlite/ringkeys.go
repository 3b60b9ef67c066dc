package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.RingKeyStore = (*Store)(nil)

const ringKeyCols = `key_id, fingerprint, first_seen, lost_at`

func scanRingKey(sc scanner) (store.RingKey, error) {
	var (
		k     store.RingKey
		first int64
		lost  sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.Fingerprint, &first, &lost); err != nil {
		return store.RingKey{}, err
	}
	k.FirstSeen = fromTS(first)
	if lost.Valid {
		k.LostAt = fromTS(lost.Int64)
	}
	return k, nil
}

// ListRingKeys returns the records of the keys processes started with.
func (s *Store) ListRingKeys(ctx context.Context) ([]store.RingKey, error) {
	keys, err := queryAll(ctx, s.r, scanRingKey, `SELECT `+ringKeyCols+` FROM ring_keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list ring key records: %w", err)
	}
	return keys, nil
}

// AdmitRingKey checks and records in one IMMEDIATE write transaction: the
// database's write lock is taken before the records are read, so a second
// process waits (up to the busy timeout) and then sees the first one's key.
func (s *Store) AdmitRingKey(ctx context.Context, k store.RingKey, check func([]store.RingKey) error) error {
	if k.ID == "" || len(k.Fingerprint) == 0 {
		return errors.New("sqlite: record ring key: empty id or fingerprint")
	}
	var checkErr error
	err := s.write(ctx, func(tx *sql.Tx) error {
		recs, err := queryAll(ctx, tx, scanRingKey, `SELECT `+ringKeyCols+` FROM ring_keys ORDER BY key_id`)
		if err != nil {
			return fmt.Errorf("list records: %w", err)
		}
		if checkErr = check(recs); checkErr != nil {
			return checkErr
		}
		for _, r := range recs {
			if r.ID != k.ID {
				continue
			}
			if len(r.Fingerprint) > 0 && !bytes.Equal(r.Fingerprint, k.Fingerprint) {
				return fmt.Errorf("key %s is recorded with another fingerprint: %w", k.ID, store.ErrConflict)
			}
			if len(r.Fingerprint) > 0 && r.LostAt.IsZero() {
				return nil
			}
			_, err := tx.ExecContext(ctx, `UPDATE ring_keys SET fingerprint = ?, lost_at = NULL WHERE key_id = ?`, k.Fingerprint, k.ID)
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO ring_keys (`+ringKeyCols+`) VALUES (?, ?, ?, NULL)`,
			k.ID, k.Fingerprint, ts(k.FirstSeen, time.Now()))
		return err
	})
	if checkErr != nil {
		return checkErr
	}
	if err != nil {
		return fmt.Errorf("sqlite: record ring key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteRingKey removes a key's record.
func (s *Store) DeleteRingKey(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ring_keys WHERE key_id = ?`, id)
		if err != nil {
			return err
		}
		return rowsAffected(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete the ring record of key %s: %w", id, err)
	}
	return nil
}

// ForgetRingKey marks a key lost, recording it without fingerprint when
// it has no record.
func (s *Store) ForgetRingKey(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return errors.New("sqlite: forget ring key: empty id")
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ring_keys (`+ringKeyCols+`) VALUES (?, x'', ?, ?)
			ON CONFLICT (key_id) DO UPDATE SET lost_at = coalesce(ring_keys.lost_at, excluded.lost_at)`,
			id, ts(at, time.Now()), ts(at, time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: mark key %s lost: %w", id, err)
	}
	return nil
}
