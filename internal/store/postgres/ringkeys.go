package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.RingKeyStore = (*Store)(nil)

// ringLockKey is the key of the transaction-level advisory lock that
// AdmitRingKey holds while it checks the records and adds one, so that
// processes starting at once take turns ("sluicek" in ASCII; see
// bootstrapLockKey for why a lock and what sharing it across schemas
// costs).
const ringLockKey int64 = 0x736c756963656b

const ringKeyCols = `key_id, fingerprint, first_seen, lost_at`

func scanRingKey(row pgx.Row) (store.RingKey, error) {
	var (
		k    store.RingKey
		lost *time.Time
	)
	if err := row.Scan(&k.ID, &k.Fingerprint, &k.FirstSeen, &lost); err != nil {
		return store.RingKey{}, err
	}
	k.FirstSeen = k.FirstSeen.UTC()
	if lost != nil {
		k.LostAt = lost.UTC()
	}
	return k, nil
}

// ListRingKeys returns the records of the keys processes started with.
func (s *Store) ListRingKeys(ctx context.Context) ([]store.RingKey, error) {
	keys, err := collect(ctx, s.pool, scanRingKey, `SELECT `+ringKeyCols+` FROM ring_keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list ring key records: %w", err)
	}
	return keys, nil
}

// AdmitRingKey checks and records in one transaction under
// pg_advisory_xact_lock(ringLockKey), taken by its own statement before the
// records are read: at READ COMMITTED the read then sees the record of
// whoever held the lock before.
func (s *Store) AdmitRingKey(ctx context.Context, k store.RingKey, check func([]store.RingKey) error) error {
	if k.ID == "" || len(k.Fingerprint) == 0 {
		return errors.New("postgres: record ring key: empty id or fingerprint")
	}
	var checkErr error
	err := s.write(ctx, func(tx pgx.Tx) error {
		checkErr = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ringLockKey); err != nil {
			return fmt.Errorf("take the ring lock: %w", err)
		}
		recs, err := collect(ctx, tx, scanRingKey, `SELECT `+ringKeyCols+` FROM ring_keys ORDER BY key_id`)
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
			_, err := tx.Exec(ctx, `UPDATE ring_keys SET fingerprint = $1, lost_at = NULL WHERE key_id = $2`, k.Fingerprint, k.ID)
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO ring_keys (`+ringKeyCols+`) VALUES ($1, $2, $3, NULL)`,
			k.ID, k.Fingerprint, ts(k.FirstSeen, time.Now()))
		return err
	})
	if checkErr != nil {
		return checkErr
	}
	if err != nil {
		return fmt.Errorf("postgres: record ring key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteRingKey removes a key's record.
func (s *Store) DeleteRingKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ring_keys WHERE key_id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete the ring record of key %s: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete the ring record of key %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// ForgetRingKey marks a key lost, recording it without fingerprint when
// it has no record.
func (s *Store) ForgetRingKey(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return errors.New("postgres: forget ring key: empty id")
	}
	now := ts(at, time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO ring_keys (`+ringKeyCols+`) VALUES ($1, '\x'::bytea, $2, $2)
		ON CONFLICT (key_id) DO UPDATE SET lost_at = coalesce(ring_keys.lost_at, excluded.lost_at)`, id, now)
	if err != nil {
		return fmt.Errorf("postgres: mark key %s lost: %w", id, mapErr(err))
	}
	return nil
}
