package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

const secretCols = `name, description, key_id, ciphertext, created_by, created_at, updated_at`

func scanSecret(sc scanner) (store.Secret, error) {
	var (
		sec              store.Secret
		created, updated int64
	)
	if err := sc.Scan(&sec.Name, &sec.Description, &sec.KeyID, &sec.Ciphertext, &sec.CreatedBy, &created, &updated); err != nil {
		return store.Secret{}, err
	}
	sec.CreatedAt, sec.UpdatedAt = fromTS(created), fromTS(updated)
	return sec, nil
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
			res, err := tx.ExecContext(ctx, `UPDATE secrets SET description = ?, key_id = ?, ciphertext = ?, updated_at = ?
				WHERE name = ? AND updated_at = ?`,
				sec.Description, sec.KeyID, sec.Ciphertext, ts(sec.UpdatedAt, now), sec.Name, ifUpdatedAt.UnixNano())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
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
	sec, err := scanSecret(s.r.QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE name = ?`, name))
	if err != nil {
		return store.Secret{}, fmt.Errorf("sqlite: get secret %s: %w", name, notFound(err))
	}
	return sec, nil
}

// ListSecrets returns every secret ordered by name.
func (s *Store) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	secs, err := queryAll(ctx, s.r, scanSecret, `SELECT `+secretCols+` FROM secrets ORDER BY name`)
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
