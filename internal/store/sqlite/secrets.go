package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

const secretCols = `name, description, key_id, ciphertext, created_by, created_at, updated_at`

// selectSecrets reads secrets with the fingerprint recorded for their key
// (NULL for a key written before key records existed).
const selectSecrets = `SELECT s.name, s.description, s.key_id, s.ciphertext, s.created_by, s.created_at, s.updated_at, k.fingerprint
	FROM secrets s LEFT JOIN secret_keys k ON k.key_id = s.key_id`

func scanSecret(sc scanner) (store.Secret, error) {
	var (
		sec              store.Secret
		created, updated int64
	)
	if err := sc.Scan(&sec.Name, &sec.Description, &sec.KeyID, &sec.Ciphertext, &sec.CreatedBy, &created, &updated, &sec.KeyFingerprint); err != nil {
		return store.Secret{}, err
	}
	sec.CreatedAt, sec.UpdatedAt = fromTS(created), fromTS(updated)
	return sec, nil
}

// recordKey makes sure the key records hold id with fingerprint fp: it adds
// the record when it is missing, does nothing when it is there with fp (or
// when fp is nil and the record is there), and fails with
// store.ErrConflict when the record holds another fingerprint.
func recordKey(ctx context.Context, tx *sql.Tx, id string, fp []byte, created int64) error {
	var have []byte
	err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM secret_keys WHERE key_id = ?`, id).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if len(fp) == 0 {
			return fmt.Errorf("key %s is not recorded and no fingerprint was given", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO secret_keys (key_id, fingerprint, created_at) VALUES (?, ?, ?)`, id, fp, created); err != nil {
			return fmt.Errorf("record key %s: %w", id, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read the record of key %s: %w", id, err)
	case len(fp) > 0 && subtle.ConstantTimeCompare(have, fp) != 1:
		return fmt.Errorf("key %s is recorded with another fingerprint: %w", id, store.ErrConflict)
	}
	return nil
}

// insertAudit appends audit events in the order given; a zero CreatedAt is
// now.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, evs []store.AuditEvent, now time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, s.st.insertAudit)
	for i, ev := range evs {
		if _, err := st.ExecContext(ctx, ev.Action, ev.Actor, ev.Secret, ev.RunID, ev.NodeRunID, ts(ev.CreatedAt, now)); err != nil {
			return fmt.Errorf("audit event %d (%s of %s): %w", i, ev.Action, ev.Secret, err)
		}
	}
	return nil
}

// rowsAffected returns store.ErrNotFound when res changed no row.
func rowsAffected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// CreateSecret stores a new secret and its audit event in one transaction.
// Zero times are now; a zero UpdatedAt is CreatedAt.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret, ev store.AuditEvent) error {
	if sec.Name == "" {
		return errors.New("sqlite: create secret: empty name")
	}
	now := time.Now()
	created := ts(sec.CreatedAt, now)
	updated := created
	if !sec.UpdatedAt.IsZero() {
		updated = sec.UpdatedAt.UnixNano()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := recordKey(ctx, tx, sec.KeyID, sec.KeyFingerprint, updated); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sec.Name, sec.Description, sec.KeyID, sec.Ciphertext, sec.CreatedBy, created, updated)
		if err != nil {
			return mapErr(err)
		}
		return s.insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create secret %s: %w", sec.Name, err)
	}
	return nil
}

// UpdateSecret replaces a secret's description, key id, ciphertext and
// updated_at, and records its audit event, in one transaction, if the
// stored updated_at still equals ifUpdatedAt (compared in nanoseconds, as
// stored). When it does not, it returns store.ErrConflict and writes
// nothing; when the secret is missing, store.ErrNotFound. A zero UpdatedAt
// is now; a zero ifUpdatedAt never matches.
func (s *Store) UpdateSecret(ctx context.Context, sec store.Secret, ifUpdatedAt time.Time, ev store.AuditEvent) error {
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if !ifUpdatedAt.IsZero() {
			updated := ts(sec.UpdatedAt, now)
			res, err := tx.ExecContext(ctx, `UPDATE secrets SET description = ?, key_id = ?, ciphertext = ?, updated_at = ?
				WHERE name = ? AND updated_at = ?`,
				sec.Description, sec.KeyID, sec.Ciphertext, updated, sec.Name, ifUpdatedAt.UnixNano())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				// The transaction rolls the update back if the key
				// cannot be recorded.
				if err := recordKey(ctx, tx, sec.KeyID, sec.KeyFingerprint, updated); err != nil {
					return err
				}
				return s.insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
			}
		}
		// Nothing matched: tell a missing secret from a changed one.
		var current int64
		err := tx.QueryRowContext(ctx, `SELECT updated_at FROM secrets WHERE name = ?`, sec.Name).Scan(&current)
		if err != nil {
			return notFound(err)
		}
		return fmt.Errorf("changed since it was read (updated at %s, read at %s): %w",
			fromTS(current).Format(time.RFC3339Nano), ifUpdatedAt.UTC().Format(time.RFC3339Nano), store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update secret %s: %w", sec.Name, err)
	}
	return nil
}

// DeleteSecret removes a secret and records its audit event in one
// transaction.
func (s *Store) DeleteSecret(ctx context.Context, name string, ev store.AuditEvent) error {
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, []store.AuditEvent{ev}, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete secret %s: %w", name, err)
	}
	return nil
}

// GetSecret returns one secret with its ciphertext.
func (s *Store) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	sec, err := scanSecret(s.rd.getSecret.QueryRowContext(ctx, name))
	if err != nil {
		return store.Secret{}, fmt.Errorf("sqlite: get secret %s: %w", name, notFound(err))
	}
	return sec, nil
}

// ListSecrets returns every secret ordered by name.
func (s *Store) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	secs, err := queryAll(ctx, s.r, scanSecret, selectSecrets+` ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secrets: %w", err)
	}
	return secs, nil
}

// AddAudit appends audit events in one transaction; zero times are now.
func (s *Store) AddAudit(ctx context.Context, evs []store.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.write(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, evs, time.Now()) }); err != nil {
		return fmt.Errorf("sqlite: add audit events: %w", err)
	}
	return nil
}

// ListAudit returns audit events newest first (by ID, the order they were
// recorded in).
func (s *Store) ListAudit(ctx context.Context, limit, offset int) ([]store.AuditEvent, error) {
	limit, offset, err := clamp(limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	evs, err := queryAll(ctx, s.r, scanAudit, `SELECT id, action, actor, secret, run_id, node_run_id, created_at
		FROM audit_events ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	return evs, nil
}

func scanAudit(sc scanner) (store.AuditEvent, error) {
	var (
		ev      store.AuditEvent
		created int64
	)
	if err := sc.Scan(&ev.ID, &ev.Action, &ev.Actor, &ev.Secret, &ev.RunID, &ev.NodeRunID, &created); err != nil {
		return store.AuditEvent{}, err
	}
	ev.CreatedAt = fromTS(created)
	return ev, nil
}

// ListSecretKeys returns the key records ordered by id.
func (s *Store) ListSecretKeys(ctx context.Context) ([]store.SecretKey, error) {
	keys, err := queryAll(ctx, s.r, scanSecretKey, `SELECT key_id, fingerprint, created_at FROM secret_keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list key records: %w", err)
	}
	return keys, nil
}

func scanSecretKey(sc scanner) (store.SecretKey, error) {
	var (
		k       store.SecretKey
		created int64
	)
	if err := sc.Scan(&k.ID, &k.Fingerprint, &created); err != nil {
		return store.SecretKey{}, err
	}
	k.CreatedAt = fromTS(created)
	return k, nil
}

// AddSecretKey records a key; the same id and fingerprint again is a no-op,
// another fingerprint store.ErrConflict.
func (s *Store) AddSecretKey(ctx context.Context, k store.SecretKey) error {
	if k.ID == "" || len(k.Fingerprint) == 0 {
		return errors.New("sqlite: record key: empty id or fingerprint")
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return recordKey(ctx, tx, k.ID, k.Fingerprint, ts(k.CreatedAt, time.Now()))
	})
	if err != nil {
		return fmt.Errorf("sqlite: record key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteSecretKey removes a key record that no secret uses.
func (s *Store) DeleteSecretKey(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM secrets WHERE key_id = ?`, id).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return fmt.Errorf("%d secret(s) are still written with it: %w", used, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM secret_keys WHERE key_id = ?`, id)
		if err != nil {
			return err
		}
		return rowsAffected(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete the record of key %s: %w", id, err)
	}
	return nil
}
