package store

import (
	"context"
	"time"
)

// Session is a signed-in person's session in the web UI, kept by the hash
// of its token (the token itself lives only in the browser's cookie).
type Session struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionStore is implemented by stores that keep users' passwords and the
// web UI's sessions (docs/ui.md). It is apart from Store so that a store
// can add it on its own schedule; sluice serves the UI's sign-in only on a
// store that implements it. Deleting a user deletes their password and
// sessions.
type SessionStore interface {
	// SetPassword sets (or replaces) a user's password hash, a PHC string
	// such as "$argon2id$v=19$..."; ErrNotFound when the user is missing.
	SetPassword(ctx context.Context, userID, hash string, at time.Time) error
	// GetPassword returns a user's password hash; ErrNotFound when the user
	// has none.
	GetPassword(ctx context.Context, userID string) (string, error)
	// CreateSession stores a session; ErrExists when the hash is taken,
	// ErrNotFound when the user is missing.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session by the hash of its token, expired or
	// not; ErrNotFound when missing.
	GetSession(ctx context.Context, hash []byte) (Session, error)
	// DeleteSession removes a session; deleting a missing one is no error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions removes every session of a user and returns how
	// many (a new password ends the sessions signed in with the old one).
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteExpiredSessions removes the sessions that expire at or before
	// before and returns how many.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)
}
