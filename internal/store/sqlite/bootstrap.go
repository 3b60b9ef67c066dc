package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ClientBootstrapper = (*Store)(nil)

// CreateFirstClient adds c when the store holds no client, in one IMMEDIATE
// write transaction: it takes the database's write lock before it looks, so
// the check and the insert are one step for every connection and every
// process on the file (a second caller waits for the lock, up to the busy
// timeout, and then finds the first caller's client).
func (s *Store) CreateFirstClient(ctx context.Context, c store.Client) (bool, error) {
	if c.ID == "" || len(c.SecretHash) == 0 {
		return false, fmt.Errorf("sqlite: create first client %q: empty id or secret hash", c.ID)
	}
	scopes, err := encodeStrings(c.Scopes)
	if err != nil {
		return false, fmt.Errorf("sqlite: create first client %s: encode scopes: %w", c.ID, err)
	}
	userID := sql.NullString{String: c.UserID, Valid: c.UserID != ""}
	now := time.Now()
	var created bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		var found bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM clients)`).Scan(&found); err != nil {
			return fmt.Errorf("look for clients: %w", err)
		}
		if found {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash, userID, scopes, ts(c.CreatedAt, now)); err != nil {
			return mapErr(err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: create first client %s: %w", c.ID, err)
	}
	return created, nil
}
