package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.ClientBootstrapper = (*Store)(nil)

// bootstrapLockKey is the key of the transaction-level advisory lock that
// CreateFirstClient holds while it looks for clients and inserts the first
// one, so that processes starting at once on one empty database take turns:
// the second waits for the first to commit, then sees its client. ("sluiceb"
// in ASCII; migrateLockKey is "sluice".) Advisory locks belong to the
// database, not to a schema: stores in other schemas of the same database
// share the key, which only makes their bootstraps wait for one another for
// the length of one short transaction.
const bootstrapLockKey int64 = 0x736c7569636562

// CreateFirstClient adds c when the store holds no client, in one
// transaction under pg_advisory_xact_lock(bootstrapLockKey). The lock is
// taken by its own statement before the check: at READ COMMITTED each
// statement sees what was committed when it began, so the check sees the
// client of whoever held the lock before. A lock rather than SERIALIZABLE:
// callers queue instead of failing and retrying, and the lock goes with the
// transaction however it ends (a lost connection included).
func (s *Store) CreateFirstClient(ctx context.Context, c store.Client) (bool, error) {
	if c.ID == "" || len(c.SecretHash) == 0 {
		return false, fmt.Errorf("postgres: create first client %q: empty id or secret hash", c.ID)
	}
	var userID *string
	if c.UserID != "" {
		userID = &c.UserID
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: create first client %s: begin: %w", c.ID, mapErr(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bootstrapLockKey); err != nil {
		return false, fmt.Errorf("postgres: create first client %s: take the bootstrap lock: %w", c.ID, mapErr(err))
	}
	var found bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients)`).Scan(&found); err != nil {
		return false, fmt.Errorf("postgres: create first client %s: look for clients: %w", c.ID, mapErr(err))
	}
	if found {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, c.SecretHash, userID, strs(c.Scopes), ts(c.CreatedAt, time.Now())); err != nil {
		return false, fmt.Errorf("postgres: create first client %s: %w", c.ID, mapErr(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: create first client %s: commit: %w", c.ID, mapErr(err))
	}
	return true, nil
}
