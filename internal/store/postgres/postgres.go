// Package postgres implements store.Store on PostgreSQL with
// github.com/jackc/pgx/v5 (a pgxpool.Pool), for when one machine is not
// enough. It passes the same conformance suite (storetest) as the SQLite
// store and keeps the same rules.
//
// Open applies the embedded migrations (migrations/NNNN_*.sql) once, under
// an advisory lock, in the first schema of the connection's search_path,
// and refuses a database whose schema is newer than this binary.
//
// Round trips, not statements, are what a write costs here. The run writes
// the engine makes at every step (Apply, CreateRun, AppendLogs) are each
// one pgx.Batch: every statement of the write is sent at once and runs in
// the implicit transaction the batch's single Sync makes, so a step is one
// round trip and one commit. Preconditions (the run is IN_PROGRESS, the node
// run to complete is IN_PROGRESS) are checked by the server inside those
// statements (sluice_assert, which raises SQLSTATE SLNFD or SLCNF), so a
// failed one aborts the whole transaction without asking the client.
// Concurrent steps are committed by concurrent connections: PostgreSQL's
// WAL flush already groups their commits, so there is no group commit in
// the client as in the SQLite store.
//
// Statements are prepared once per connection and reused: pgx's default
// query mode (QueryExecModeCacheStatement) keeps a cache of prepared
// statements per connection, keyed by SQL text, and every statement of this
// package is a constant text. A connection pooler in transaction mode
// (PgBouncer) breaks that; with one, add default_query_exec_mode=exec to the
// URL.
//
// Times are timestamptz: microsecond precision, returned in UTC. A write
// stores a time truncated to the microsecond, so the conditional writes
// (UpdateSecret, ReplaceSecretFingerprints) match only a time a read of this
// store returned (a whole microsecond).
//
// Errors: a taken key is store.ErrExists, a missing referenced row
// store.ErrNotFound, a failed precondition store.ErrConflict; a lost or
// refused connection, a serialization failure or deadlock still failing
// after retries, too many connections, a full disk or an administrator's
// shutdown match store.ErrUnavailable.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/store"
)

// ErrInvalidURL is returned by Open for a database URL it cannot parse.
var ErrInvalidURL = errors.New("the database URL is not valid; it looks like postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require")

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx reads them; pool_max_conns and other pgxpool
// settings may be given in it), applies the migrations it lacks and
// returns the store. It fails when the database has a newer schema than
// this binary knows. Errors never show the URL, which may hold a password.
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		return nil, fmt.Errorf("postgres: open: empty URL: %w", ErrInvalidURL)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, masking the password as best
		// it can: say nothing of the URL's text.
		return nil, fmt.Errorf("postgres: open: %w", ErrInvalidURL)
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		// Scan every timestamptz in UTC rather than the local zone.
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", where(cfg), transient(err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where(cfg), err)
	}
	return &Store{pool: pool}, nil
}

// where names a database without its password: host:port/database.
func where(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// Close closes every connection of the pool, waiting for those in use to be
// released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the store's connection pool, for tests and benchmarks that
// compare against raw statements.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Custom SQLSTATEs raised by sluice_assert (migration 0001).
const (
	codeNotFound = "SLNFD"
	codeConflict = "SLCNF"
)

// maxRetries bounds how many times a write that failed with a
// serialization failure or a deadlock is tried again before its error is
// returned (as store.ErrUnavailable). Each failed try was rolled back.
const maxRetries = 3

// retryable reports whether err is a serialization failure or a deadlock:
// the transaction was rolled back and the same write may succeed at once.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// write runs fn in one transaction and commits it, or rolls it back when fn
// fails; a serialization failure or deadlock is tried again up to
// maxRetries times. Errors are mapped by mapErr.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxRetries {
		if err = s.tryWrite(ctx, fn); err == nil || !retryable(err) {
			break
		}
	}
	return mapErr(err)
}

func (s *Store) tryWrite(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx) // the error that matters is fn's
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// batch is a pgx.Batch whose statements each carry a label for errors.
// Sent outside a transaction, its statements run in one implicit
// transaction: all of them apply, or none.
type batch struct{ b pgx.Batch }

// exec queues a statement whose result is not read; its error is mapped by
// mapErr and labelled.
func (w *batch) exec(label, sql string, args ...any) {
	qq := w.b.Queue(sql, args...)
	qq.Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return labelled(label, err)
		}
		return nil
	}
}

// queryRow queues a statement whose one row is scanned by scan.
func (w *batch) queryRow(label, sql string, scan func(pgx.Row) error, args ...any) {
	qq := w.b.Queue(sql, args...)
	qq.Fn = func(br pgx.BatchResults) error {
		if err := scan(br.QueryRow()); err != nil {
			return labelled(label, err)
		}
		return nil
	}
}

// labelled wraps a statement's error with its label, unless the label is
// empty.
func labelled(label string, err error) error {
	if label == "" {
		return mapErr(err)
	}
	return fmt.Errorf("%s: %w", label, mapErr(err))
}

// send sends the batch in one round trip, as one implicit transaction,
// trying it again on a serialization failure or deadlock, and returns the
// first statement's error.
func (s *Store) send(ctx context.Context, w *batch) error {
	var err error
	for range maxRetries {
		if err = s.pool.SendBatch(ctx, &w.b).Close(); err == nil || !retryable(err) {
			break
		}
	}
	return mapErr(err)
}

// mapErr turns PostgreSQL's errors into the store's: a unique violation is
// store.ErrExists, a foreign-key violation or SLNFD store.ErrNotFound, SLCNF
// store.ErrConflict, and a transient failure store.ErrUnavailable. It keeps
// the server's message, which names constraints, never values (pgx leaves
// out the Detail that holds them).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrExists, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case codeNotFound:
			return fmt.Errorf("%s: %w", pe.Message, store.ErrNotFound)
		case codeConflict:
			return fmt.Errorf("%s: %w", pe.Message, store.ErrConflict)
		case codeResponded:
			return fmt.Errorf("%s: %w", pe.Message, store.ErrResponded)
		case codeDecided:
			return fmt.Errorf("%s: %w", pe.Message, store.ErrDecided)
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return transient(err)
}

// transient makes an error that may go away by itself match
// store.ErrUnavailable, keeping its message: a connection that could not be
// made or was lost (refused, reset, closed), a serialization failure or a
// deadlock (still failing after the retries), insufficient resources (disk
// full, out of memory, too many connections), an administrator's or a
// crash's shutdown, a server still starting, an I/O error. Other errors,
// the caller's context among them, are returned as they are.
func transient(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !isTransient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources: disk full, out of memory, too many connections
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin shutdown, crash shutdown, cannot connect now
			strings.HasPrefix(pe.Code, "58"): // system error: I/O
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.SafeToRetry(err)
}

// ts returns the time to store: t, or now when t is zero.
func ts(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// exactMicro reports whether t can equal a stored time: a time this store
// returned is a whole microsecond, so one with finer digits never matches
// (pgx would truncate it and compare equal to another).
func exactMicro(t time.Time) bool { return !t.IsZero() && t.Nanosecond()%1000 == 0 }

// clamp applies the default (100) and maximum (1000) page size.
func clamp(limit, offset int) (int, int, error) {
	if limit < 0 || offset < 0 {
		return 0, 0, fmt.Errorf("negative limit %d or offset %d", limit, offset)
	}
	switch {
	case limit == 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	return limit, offset, nil
}

// collect scans every row of a query with scan.
func collect[T any](ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
