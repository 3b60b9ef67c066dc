package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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

// encodeStrings stores a list of strings (teams, scopes) as a JSON array;
// none is "[]".
func encodeStrings(ss []string) (string, error) {
	if len(ss) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeStrings reverses encodeStrings; an empty list is nil.
func decodeStrings(s string) ([]string, error) {
	var ss []string
	if err := json.Unmarshal([]byte(s), &ss); err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

func scanUser(sc scanner) (store.User, error) {
	var (
		u       store.User
		teams   string
		created int64
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &teams, &created); err != nil {
		return store.User{}, err
	}
	var err error
	if u.Teams, err = decodeStrings(teams); err != nil {
		return store.User{}, fmt.Errorf("user %s: decode teams: %w", u.ID, err)
	}
	u.CreatedAt = fromTS(created)
	return u, nil
}

// CreateUser adds a user. Emails are unique regardless of case (folded with
// strings.ToLower); a zero CreatedAt is now.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Email == "" {
		return fmt.Errorf("sqlite: create user %q: empty id or email", u.ID)
	}
	teams, err := encodeStrings(u.Teams)
	if err != nil {
		return fmt.Errorf("sqlite: create user %s: encode teams: %w", u.ID, err)
	}
	now := time.Now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.FirstName, u.LastName, u.Role, teams, ts(u.CreatedAt, now), emailKey(u.Email))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create user %s: %w", u.ID, err)
	}
	return nil
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.rd.getUser.QueryRowContext(ctx, id))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: get user %s: %w", id, notFound(err))
	}
	return u, nil
}

// ListUsers returns every user ordered by email, compared regardless of
// case.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	us, err := queryAll(ctx, s.r, scanUser, `SELECT `+userCols+` FROM users ORDER BY email_key`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return us, nil
}

func scanClient(sc scanner) (store.Client, error) {
	var (
		c       store.Client
		userID  sql.NullString
		scopes  string
		created int64
	)
	if err := sc.Scan(&c.ID, &c.Name, &c.SecretHash, &userID, &scopes, &created); err != nil {
		return store.Client{}, err
	}
	c.UserID = userID.String
	var err error
	if c.Scopes, err = decodeStrings(scopes); err != nil {
		return store.Client{}, fmt.Errorf("client %s: decode scopes: %w", c.ID, err)
	}
	c.CreatedAt = fromTS(created)
	return c, nil
}

// CreateClient adds API credentials: ErrExists when the id is taken,
// ErrNotFound when UserID names no user. A zero CreatedAt is now.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" || len(c.SecretHash) == 0 {
		return fmt.Errorf("sqlite: create client %q: empty id or secret hash", c.ID)
	}
	scopes, err := encodeStrings(c.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create client %s: encode scopes: %w", c.ID, err)
	}
	// A machine client has no user: NULL, which the foreign key lets pass.
	userID := sql.NullString{String: c.UserID, Valid: c.UserID != ""}
	now := time.Now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash, userID, scopes, ts(c.CreatedAt, now))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create client %s: %w", c.ID, err)
	}
	return nil
}

// GetClient returns credentials by client id.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.rd.getClient.QueryRowContext(ctx, id))
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlite: get client %s: %w", id, notFound(err))
	}
	return c, nil
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	cs, err := queryAll(ctx, s.r, scanClient, `SELECT `+clientCols+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	return cs, nil
}

// CreateToken stores an issued token by its hash: ErrExists when the hash
// is taken, ErrNotFound when the client is missing. A zero CreatedAt or
// ExpiresAt is now (a token that expires at once). Errors never show the
// hash.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if len(t.Hash) == 0 {
		return fmt.Errorf("sqlite: create token for client %s: empty hash", t.ClientID)
	}
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?)`,
			t.Hash, t.ClientID, ts(t.CreatedAt, now), ts(t.ExpiresAt, now))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create token for client %s: %w", t.ClientID, err)
	}
	return nil
}

// GetToken returns a token by the hash of its value, expired or not.
func (s *Store) GetToken(ctx context.Context, hash []byte) (store.Token, error) {
	var (
		t                store.Token
		created, expires int64
	)
	err := s.rd.getToken.QueryRowContext(ctx, hash).
		Scan(&t.Hash, &t.ClientID, &created, &expires)
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlite: get token: %w", notFound(err))
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return t, nil
}

// DeleteExpiredTokens removes the tokens whose ExpiresAt is strictly before
// before (a zero time is now), and returns how many it removed.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, ts(before, time.Now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired tokens: %w", err)
	}
	return int(n), nil
}

// deleteClientTokens removes the tokens of the clients that match where
// (a condition on clients), within tx, and returns how many.
func deleteClientTokens(ctx context.Context, tx *sql.Tx, where string, arg any) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE client_id IN (SELECT id FROM clients WHERE `+where+`)`, arg)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// exists reports whether a row of table has the given id, within tx.
func exists(ctx context.Context, tx *sql.Tx, table, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	return notFound(err)
}

// DeleteClient removes a client and its tokens in one transaction.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clients", id); err != nil {
			return err
		}
		if _, err := deleteClientTokens(ctx, tx, "id = ?", id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete client %s: %w", id, err)
	}
	return nil
}

// RevokeClientTokens removes every token of a client and returns how many.
func (s *Store) RevokeClientTokens(ctx context.Context, clientID string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clients", clientID); err != nil {
			return err
		}
		var err error
		n, err = deleteClientTokens(ctx, tx, "id = ?", clientID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: revoke tokens of client %s: %w", clientID, err)
	}
	return int(n), nil
}

// DeleteUser removes a user, the clients that act as them and their tokens
// in one transaction.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "users", id); err != nil {
			return err
		}
		if _, err := deleteClientTokens(ctx, tx, "user_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE user_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user %s: %w", id, err)
	}
	return nil
}
