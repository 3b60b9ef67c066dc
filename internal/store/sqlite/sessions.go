package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.SessionStore = (*Store)(nil)

// SetPassword sets or replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	if hash == "" {
		return fmt.Errorf("sqlite: set password of %s: empty hash", userID)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "users", userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_passwords (user_id, hash, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
			userID, hash, ts(at, time.Now()))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set password of %s: %w", userID, err)
	}
	return nil
}

// GetPassword returns a user's password hash.
func (s *Store) GetPassword(ctx context.Context, userID string) (string, error) {
	var h string
	err := s.r.QueryRowContext(ctx, `SELECT hash FROM user_passwords WHERE user_id = ?`, userID).Scan(&h)
	if err != nil {
		return "", fmt.Errorf("sqlite: get password of %s: %w", userID, notFound(err))
	}
	return h, nil
}

// CreateSession stores a session by the hash of its token.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if len(ss.Hash) == 0 {
		return fmt.Errorf("sqlite: create session of %s: empty hash", ss.UserID)
	}
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ui_sessions (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			ss.Hash, ss.UserID, ts(ss.CreatedAt, now), ts(ss.ExpiresAt, now))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session of %s: %w", ss.UserID, err)
	}
	return nil
}

// GetSession returns a session by the hash of its token, expired or not.
func (s *Store) GetSession(ctx context.Context, hash []byte) (store.Session, error) {
	var (
		ss               store.Session
		created, expires int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT hash, user_id, created_at, expires_at FROM ui_sessions WHERE hash = ?`, hash).
		Scan(&ss.Hash, &ss.UserID, &created, &expires)
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: get session: %w", notFound(err))
	}
	ss.CreatedAt, ss.ExpiresAt = fromTS(created), fromTS(expires)
	return ss, nil
}

// DeleteSession removes a session; a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return s.deleteSessions(ctx, `user_id = ?`, userID)
}

// DeleteExpiredSessions removes the sessions expiring at or before before.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	return s.deleteSessions(ctx, `expires_at <= ?`, before.UnixNano())
}

func (s *Store) deleteSessions(ctx context.Context, where string, arg any) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE `+where, arg)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete sessions: %w", err)
	}
	return int(n), nil
}
