package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

const (
	userCols   = `id, email, first_name, last_name, role, teams, created_at`
	clientCols = `id, name, secret_hash, user_id, scopes, created_at`
	tokenCols  = `hash, client_id, created_at, expires_at`
)

// emailKey is the form of an email that makes it unique and orders users:
// folded to lower case, Unicode included.
func emailKey(email string) string { return strings.ToLower(email) }

// strs is the stored form of a list of strings: never NULL.
func strs(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// nilIfEmpty returns nil for an empty list, as the SQLite store does.
func nilIfEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	if err := row.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Teams, &u.CreatedAt); err != nil {
		return store.User{}, err
	}
	u.Teams = nilIfEmpty(u.Teams)
	return u, nil
}

// CreateUser adds a user. Emails are unique regardless of case (folded with
// strings.ToLower); a zero CreatedAt is now.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Email == "" {
		return fmt.Errorf("postgres: create user %q: empty id or email", u.ID)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`, email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Email, u.FirstName, u.LastName, u.Role, strs(u.Teams), ts(u.CreatedAt, time.Now()), emailKey(u.Email))
	if err != nil {
		return fmt.Errorf("postgres: create user %s: %w", u.ID, mapErr(err))
	}
	return nil
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user %s: %w", id, mapErr(err))
	}
	return u, nil
}

// ListUsers returns every user ordered by email, compared regardless of
// case.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	us, err := collect(ctx, s.pool, scanUser, `SELECT `+userCols+` FROM users ORDER BY email_key`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return us, nil
}

func scanClient(row pgx.Row) (store.Client, error) {
	var (
		c      store.Client
		userID *string
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &userID, &c.Scopes, &c.CreatedAt); err != nil {
		return store.Client{}, err
	}
	if userID != nil {
		c.UserID = *userID
	}
	c.Scopes = nilIfEmpty(c.Scopes)
	return c, nil
}

// CreateClient adds API credentials: ErrExists when the id is taken,
// ErrNotFound when UserID names no user. A zero CreatedAt is now.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" || len(c.SecretHash) == 0 {
		return fmt.Errorf("postgres: create client %q: empty id or secret hash", c.ID)
	}
	// A machine client has no user: NULL, which the foreign key lets pass.
	var userID *string
	if c.UserID != "" {
		userID = &c.UserID
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, c.SecretHash, userID, strs(c.Scopes), ts(c.CreatedAt, time.Now()))
	if err != nil {
		return fmt.Errorf("postgres: create client %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// GetClient returns credentials by client id.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return store.Client{}, fmt.Errorf("postgres: get client %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	cs, err := collect(ctx, s.pool, scanClient, `SELECT `+clientCols+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	return cs, nil
}

// CreateToken stores an issued token by its hash: ErrExists when the hash
// is taken, ErrNotFound when the client is missing. A zero CreatedAt or
// ExpiresAt is now (a token that expires at once). Errors never show the
// hash.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if len(t.Hash) == 0 {
		return fmt.Errorf("postgres: create token for client %s: empty hash", t.ClientID)
	}
	now := time.Now()
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.ClientID, ts(t.CreatedAt, now), ts(t.ExpiresAt, now))
	if err != nil {
		return fmt.Errorf("postgres: create token for client %s: %w", t.ClientID, mapErr(err))
	}
	return nil
}

// GetToken returns a token by the hash of its value, expired or not.
func (s *Store) GetToken(ctx context.Context, hash []byte) (store.Token, error) {
	var t store.Token
	err := s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.ClientID, &t.CreatedAt, &t.ExpiresAt)
	if err != nil {
		return store.Token{}, fmt.Errorf("postgres: get token: %w", mapErr(err))
	}
	return t, nil
}

// DeleteExpiredTokens removes the tokens whose ExpiresAt is strictly before
// before (a zero time is now), and returns how many it removed.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	ct, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE expires_at < $1`, ts(before, time.Now()))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired tokens: %w", mapErr(err))
	}
	return int(ct.RowsAffected()), nil
}

// lockRow holds the row of table with the given id FOR UPDATE until the
// transaction ends; store.ErrNotFound when there is none.
func lockRow(ctx context.Context, tx pgx.Tx, table, id string) error {
	var one int
	return tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&one)
}

// DeleteClient removes a client and its tokens in one transaction.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockRow(ctx, tx, "clients", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tokens WHERE client_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete client %s: %w", id, err)
	}
	return nil
}

// RevokeClientTokens removes every token of a client and returns how many.
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		var one int
		// FOR KEY SHARE: the client stays, but may not be deleted meanwhile.
		if err := tx.QueryRow(ctx, `SELECT 1 FROM clients WHERE id = $1 FOR KEY SHARE`, clientID).Scan(&one); err != nil {
			return err
		}
		ct, err := tx.Exec(ctx, `DELETE FROM tokens WHERE client_id = $1`, clientID)
		n = ct.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: revoke tokens of client %s: %w", clientID, err)
	}
	return int(n), nil
}

// DeleteUser removes a user, the clients that act as them and their tokens
// in one transaction.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		// Locking the user first keeps a client from being created for
		// them meanwhile (its foreign key check waits, then fails).
		if err := lockRow(ctx, tx, "users", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tokens WHERE client_id IN (SELECT id FROM clients WHERE user_id = $1)`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM clients WHERE user_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user %s: %w", id, err)
	}
	return nil
}
