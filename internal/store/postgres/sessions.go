package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.SessionStore = (*Store)(nil)

// SetPassword sets or replaces a user's password hash
// (store.SessionStore); ErrNotFound when the user is missing (the foreign
// key).
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	if hash == "" {
		return fmt.Errorf("postgres: set password of %s: empty hash", userID)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO user_passwords (user_id, hash, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		userID, hash, ts(at, time.Now()))
	if err != nil {
		return fmt.Errorf("postgres: set password of %s: %w", userID, mapErr(err))
	}
	return nil
}

// GetPassword returns a user's password hash (store.SessionStore).
func (s *Store) GetPassword(ctx context.Context, userID string) (string, error) {
	var h string
	if err := s.pool.QueryRow(ctx, `SELECT hash FROM user_passwords WHERE user_id = $1`, userID).Scan(&h); err != nil {
		return "", fmt.Errorf("postgres: get password of %s: %w", userID, mapErr(err))
	}
	return h, nil
}

// CreateSession stores a session by the hash of its token
// (store.SessionStore): ErrExists when the hash is taken, ErrNotFound when
// the user is missing.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if len(ss.Hash) == 0 {
		return fmt.Errorf("postgres: create session of %s: empty hash", ss.UserID)
	}
	now := time.Now()
	_, err := s.pool.Exec(ctx, `INSERT INTO ui_sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		ss.Hash, ss.UserID, ts(ss.CreatedAt, now), ts(ss.ExpiresAt, now))
	if err != nil {
		return fmt.Errorf("postgres: create session of %s: %w", ss.UserID, mapErr(err))
	}
	return nil
}

// GetSession returns a session by the hash of its token, expired or not
// (store.SessionStore).
func (s *Store) GetSession(ctx context.Context, hash []byte) (store.Session, error) {
	var ss store.Session
	err := s.pool.QueryRow(ctx, `SELECT hash, user_id, created_at, expires_at FROM ui_sessions WHERE hash = $1`, hash).
		Scan(&ss.Hash, &ss.UserID, &ss.CreatedAt, &ss.ExpiresAt)
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: get session: %w", mapErr(err))
	}
	return ss, nil
}

// DeleteSession removes a session; a missing one is no error
// (store.SessionStore).
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", mapErr(err))
	}
	return nil
}

// DeleteUserSessions removes every session of a user (store.SessionStore).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return s.deleteSessions(ctx, `user_id = $1`, userID)
}

// DeleteExpiredSessions removes the sessions expiring at or before before
// (store.SessionStore).
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	return s.deleteSessions(ctx, `expires_at <= $1`, before)
}

func (s *Store) deleteSessions(ctx context.Context, where string, arg any) (int, error) {
	ct, err := s.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE `+where, arg)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete sessions: %w", mapErr(err))
	}
	return int(ct.RowsAffected()), nil
}
