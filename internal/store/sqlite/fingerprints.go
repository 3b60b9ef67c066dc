package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// ReplaceSecretFingerprints replaces the fingerprints of a secret while its
// updated_at still equals ifUpdatedAt (compared in nanoseconds, as stored).
func (s *Store) ReplaceSecretFingerprints(ctx context.Context, name string, ifUpdatedAt time.Time, fps []store.SecretFingerprint) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var current int64
		if err := tx.QueryRowContext(ctx, `SELECT updated_at FROM secrets WHERE name = ?`, name).Scan(&current); err != nil {
			return notFound(err)
		}
		if ifUpdatedAt.IsZero() || current != ifUpdatedAt.UnixNano() {
			return fmt.Errorf("the secret changed since it was read: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM secret_fingerprints WHERE secret = ?`, name); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO secret_fingerprints (secret, key_id, secret_updated_at, length, anchor, sum) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, fp := range fps {
			if _, err := st.ExecContext(ctx, name, fp.KeyID, current, fp.Length, int64(fp.Anchor), fp.Sum); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: replace fingerprints of secret %s: %w", name, err)
	}
	return nil
}

// ListSecretFingerprints returns the fingerprints made from each secret's
// current version.
func (s *Store) ListSecretFingerprints(ctx context.Context) ([]store.SecretFingerprint, error) {
	fps, err := queryAll(ctx, s.r, func(sc scanner) (store.SecretFingerprint, error) {
		var (
			fp      store.SecretFingerprint
			updated int64
			anchor  int64
		)
		if err := sc.Scan(&fp.Secret, &fp.KeyID, &updated, &fp.Length, &anchor, &fp.Sum); err != nil {
			return store.SecretFingerprint{}, err
		}
		fp.SecretUpdatedAt, fp.Anchor = fromTS(updated), uint64(anchor)
		return fp, nil
	}, `SELECT f.secret, f.key_id, f.secret_updated_at, f.length, f.anchor, f.sum
		FROM secret_fingerprints f JOIN secrets s ON s.name = f.secret AND s.updated_at = f.secret_updated_at
		ORDER BY f.secret, f.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secret fingerprints: %w", err)
	}
	return fps, nil
}

// SecretsStamp combines the number of secrets, a sum of their updated_at
// (modulo 2^32, so it cannot overflow), the number of fingerprints and the
// highest fingerprint id: every write to either table changes one of them.
func (s *Store) SecretsStamp(ctx context.Context) (string, error) {
	var n, sum, fn, maxID int64
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(updated_at % 4294967296), 0) FROM secrets`).Scan(&n, &sum); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(id), 0) FROM secret_fingerprints`).Scan(&fn, &maxID)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: secrets stamp: %w", err)
	}
	return fmt.Sprintf("%d/%d/%d/%d", n, sum, fn, maxID), nil
}
