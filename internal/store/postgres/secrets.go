package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

const secretCols = `name, description, key_id, ciphertext, created_by, created_at, updated_at`

// selectSecrets reads secrets with the fingerprint recorded for their key.
const selectSecrets = `SELECT s.name, s.description, s.key_id, s.ciphertext, s.created_by, s.created_at, s.updated_at, k.fingerprint
	FROM secrets s LEFT JOIN secret_keys k ON k.key_id = s.key_id`

func scanSecret(row pgx.Row) (store.Secret, error) {
	var sec store.Secret
	if err := row.Scan(&sec.Name, &sec.Description, &sec.KeyID, &sec.Ciphertext, &sec.CreatedBy, &sec.CreatedAt, &sec.UpdatedAt, &sec.KeyFingerprint); err != nil {
		return store.Secret{}, err
	}
	return sec, nil
}

// recordKey makes sure the key records hold id with fingerprint fp: it adds
// the record when it is missing, does nothing when it is there with fp (or
// when fp is nil and the record is there), and fails with
// store.ErrConflict when the record holds another fingerprint. It holds
// the record FOR SHARE until the transaction ends, so that it cannot be
// removed meanwhile (the secrets' foreign key would refuse it anyway).
func recordKey(ctx context.Context, tx pgx.Tx, id string, fp []byte, created time.Time) error {
	if len(fp) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO secret_keys (key_id, fingerprint, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (key_id) DO NOTHING`, id, fp, created); err != nil {
			return fmt.Errorf("record key %s: %w", id, err)
		}
	}
	var have []byte
	err := tx.QueryRow(ctx, `SELECT fingerprint FROM secret_keys WHERE key_id = $1 FOR SHARE`, id).Scan(&have)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("key %s is not recorded and no fingerprint was given", id)
	case err != nil:
		return fmt.Errorf("read the record of key %s: %w", id, err)
	case len(fp) > 0 && subtle.ConstantTimeCompare(have, fp) != 1:
		return fmt.Errorf("key %s is recorded with another fingerprint: %w", id, store.ErrConflict)
	}
	return nil
}

// insertAudit appends audit events in the order given; a zero CreatedAt is
// now.
func insertAudit(ctx context.Context, tx pgx.Tx, evs []store.AuditEvent, now time.Time) error {
	for i, ev := range evs {
		if _, err := tx.Exec(ctx, sqlInsertAudit, ev.Action, ev.Actor, ev.Secret, ev.RunID, ev.NodeRunID, ts(ev.CreatedAt, now)); err != nil {
			return fmt.Errorf("audit event %d (%s of %s): %w", i, ev.Action, ev.Secret, err)
		}
	}
	return nil
}

// CreateSecret stores a new secret and its audit event in one transaction.
// Zero times are now; a zero UpdatedAt is CreatedAt.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret, ev store.AuditEvent) error {
	if sec.Name == "" {
		return errors.New("postgres: create secret: empty name")
	}
	now := time.Now()
	created := ts(sec.CreatedAt, now)
	updated := created
	if !sec.UpdatedAt.IsZero() {
		updated = sec.UpdatedAt
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := recordKey(ctx, tx, sec.KeyID, sec.KeyFingerprint, updated); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sec.Name, sec.Description, sec.KeyID, sec.Ciphertext, sec.CreatedBy, created, updated); err != nil {
			return err
		}
		return insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: create secret %s: %w", sec.Name, err)
	}
	return nil
}

// UpdateSecret replaces a secret's description, key id, ciphertext and
// updated_at, and records its audit event, in one transaction, if the
// stored updated_at still equals ifUpdatedAt (to the microsecond, as
// stored; a time with finer digits never matches). When it does not, it
// returns store.ErrConflict and writes nothing; when the secret is missing,
// store.ErrNotFound. A zero UpdatedAt is now.
func (s *Store) UpdateSecret(ctx context.Context, sec store.Secret, ifUpdatedAt time.Time, ev store.AuditEvent) error {
	now := time.Now()
	err := s.write(ctx, func(tx pgx.Tx) error {
		// The row is held until the end, so that the comparison and the
		// update are one: a concurrent update waits, then conflicts.
		var current time.Time
		if err := tx.QueryRow(ctx, `SELECT updated_at FROM secrets WHERE name = $1 FOR UPDATE`, sec.Name).Scan(&current); err != nil {
			return err
		}
		if !exactMicro(ifUpdatedAt) || !current.Equal(ifUpdatedAt) {
			return fmt.Errorf("changed since it was read (updated at %s, read at %s): %w",
				current.Format(time.RFC3339Nano), ifUpdatedAt.UTC().Format(time.RFC3339Nano), store.ErrConflict)
		}
		// The key is recorded before the row names it (the foreign key).
		updated := ts(sec.UpdatedAt, now)
		if err := recordKey(ctx, tx, sec.KeyID, sec.KeyFingerprint, updated); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE secrets SET description = $1, key_id = $2, ciphertext = $3, updated_at = $4 WHERE name = $5`,
			sec.Description, sec.KeyID, sec.Ciphertext, updated, sec.Name); err != nil {
			return err
		}
		return insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: update secret %s: %w", sec.Name, err)
	}
	return nil
}

// DeleteSecret removes a secret (and its fingerprints) and records its
// audit event in one transaction.
func (s *Store) DeleteSecret(ctx context.Context, name string, ev store.AuditEvent) error {
	now := time.Now()
	err := s.write(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `DELETE FROM secrets WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete secret %s: %w", name, err)
	}
	return nil
}

// GetSecret returns one secret with its ciphertext.
func (s *Store) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	sec, err := scanSecret(s.pool.QueryRow(ctx, selectSecrets+` WHERE s.name = $1`, name))
	if err != nil {
		return store.Secret{}, fmt.Errorf("postgres: get secret %s: %w", name, mapErr(err))
	}
	return sec, nil
}

// ListSecrets returns every secret ordered by name.
func (s *Store) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	secs, err := collect(ctx, s.pool, scanSecret, selectSecrets+` ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list secrets: %w", err)
	}
	return secs, nil
}

// AddAudit appends audit events in one round trip and one transaction;
// zero times are now.
func (s *Store) AddAudit(ctx context.Context, evs []store.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	var w batch
	queueAudit(&w, evs, time.Now())
	if err := s.send(ctx, &w); err != nil {
		return fmt.Errorf("postgres: add audit events: %w", err)
	}
	return nil
}

// ListAudit returns audit events newest first (by ID, the order they were
// recorded in).
func (s *Store) ListAudit(ctx context.Context, limit, offset int) ([]store.AuditEvent, error) {
	limit, offset, err := clamp(limit, offset)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", err)
	}
	evs, err := collect(ctx, s.pool, scanAudit, `SELECT id, action, actor, secret, run_id, node_run_id, created_at
		FROM audit_events ORDER BY id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", err)
	}
	return evs, nil
}

func scanAudit(row pgx.Row) (store.AuditEvent, error) {
	var ev store.AuditEvent
	if err := row.Scan(&ev.ID, &ev.Action, &ev.Actor, &ev.Secret, &ev.RunID, &ev.NodeRunID, &ev.CreatedAt); err != nil {
		return store.AuditEvent{}, err
	}
	return ev, nil
}

// ListSecretKeys returns the key records ordered by id.
func (s *Store) ListSecretKeys(ctx context.Context) ([]store.SecretKey, error) {
	keys, err := collect(ctx, s.pool, func(row pgx.Row) (store.SecretKey, error) {
		var k store.SecretKey
		err := row.Scan(&k.ID, &k.Fingerprint, &k.CreatedAt)
		return k, err
	}, `SELECT key_id, fingerprint, created_at FROM secret_keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list key records: %w", err)
	}
	return keys, nil
}

// AddSecretKey records a key; the same id and fingerprint again is a no-op,
// another fingerprint store.ErrConflict.
func (s *Store) AddSecretKey(ctx context.Context, k store.SecretKey) error {
	if k.ID == "" || len(k.Fingerprint) == 0 {
		return errors.New("postgres: record key: empty id or fingerprint")
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		return recordKey(ctx, tx, k.ID, k.Fingerprint, ts(k.CreatedAt, time.Now()))
	})
	if err != nil {
		return fmt.Errorf("postgres: record key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteSecretKey removes a key record that no secret uses. The secrets'
// foreign key makes the check and the removal one: a secret written with
// the key meanwhile makes the removal fail.
func (s *Store) DeleteSecretKey(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var used int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM secrets WHERE key_id = $1`, id).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return fmt.Errorf("%d secret(s) are still written with it: %w", used, store.ErrConflict)
		}
		ct, err := tx.Exec(ctx, `DELETE FROM secret_keys WHERE key_id = $1`, id)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("a secret is still written with it: %w", store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: delete the record of key %s: %w", id, err)
	}
	return nil
}

// ReplaceSecretFingerprints replaces the fingerprints of a secret while its
// updated_at still equals ifUpdatedAt (to the microsecond, as stored). The
// secret's row is held FOR UPDATE meanwhile.
func (s *Store) ReplaceSecretFingerprints(ctx context.Context, name string, ifUpdatedAt time.Time, fps []store.SecretFingerprint) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var current time.Time
		if err := tx.QueryRow(ctx, `SELECT updated_at FROM secrets WHERE name = $1 FOR UPDATE`, name).Scan(&current); err != nil {
			return err
		}
		if !exactMicro(ifUpdatedAt) || !current.Equal(ifUpdatedAt) {
			return fmt.Errorf("the secret changed since it was read: %w", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM secret_fingerprints WHERE secret = $1`, name); err != nil {
			return err
		}
		rows := make([][]any, len(fps))
		for i, fp := range fps {
			rows[i] = []any{name, fp.KeyID, current, fp.Length, int64(fp.Anchor), fp.Sum}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"secret_fingerprints"},
			[]string{"secret", "key_id", "secret_updated_at", "length", "anchor", "sum"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: replace fingerprints of secret %s: %w", name, err)
	}
	return nil
}

// ListSecretFingerprints returns the fingerprints made from each secret's
// current version.
func (s *Store) ListSecretFingerprints(ctx context.Context) ([]store.SecretFingerprint, error) {
	fps, err := collect(ctx, s.pool, func(row pgx.Row) (store.SecretFingerprint, error) {
		var (
			fp     store.SecretFingerprint
			anchor int64
		)
		if err := row.Scan(&fp.Secret, &fp.KeyID, &fp.SecretUpdatedAt, &fp.Length, &anchor, &fp.Sum); err != nil {
			return store.SecretFingerprint{}, err
		}
		fp.Anchor = uint64(anchor)
		return fp, nil
	}, `SELECT f.secret, f.key_id, f.secret_updated_at, f.length, f.anchor, f.sum
		FROM secret_fingerprints f JOIN secrets s ON s.name = f.secret AND s.updated_at = f.secret_updated_at
		ORDER BY f.secret, f.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list secret fingerprints: %w", err)
	}
	return fps, nil
}

// SecretsStamp combines the number of secrets, a sum of their updated_at
// (microseconds modulo 2^32), the number of fingerprints and the highest
// fingerprint id, read in one statement: every write to either table
// changes one of them.
func (s *Store) SecretsStamp(ctx context.Context) (string, error) {
	var n, sum, fn, maxID int64
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM secrets),
		(SELECT coalesce(sum(((extract(epoch FROM updated_at) * 1000000)::bigint) % 4294967296), 0)::bigint FROM secrets),
		(SELECT count(*) FROM secret_fingerprints),
		(SELECT coalesce(max(id), 0) FROM secret_fingerprints)`).Scan(&n, &sum, &fn, &maxID)
	if err != nil {
		return "", fmt.Errorf("postgres: secrets stamp: %w", mapErr(err))
	}
	return fmt.Sprintf("%d/%d/%d/%d", n, sum, fn, maxID), nil
}
