// Package sqlite implements store.Store on an embedded SQLite file, with the
// pure-Go driver modernc.org/sqlite (no cgo).
//
// The file is in WAL mode. All writes go through one connection, so they are
// serialized in this process and a transaction never waits for another one
// of ours; reads use a small pool of read-only connections that WAL lets run
// alongside the writer. Every transaction that writes begins IMMEDIATE, so
// another process holding the file makes it wait (up to
// Options.BusyTimeout) rather than fail halfway.
//
// The run writes that the engine makes at every step (Apply, CreateRun,
// AppendLogs) are group-committed: concurrent callers share one transaction
// and one WAL commit, each write inside its own savepoint so that it fails
// alone, and each call returns only once the transaction holding its write
// has committed (see groupCommit). A lone caller commits at once.
//
// Durability is a setting (Options.Synchronous): NORMAL survives a crash of
// the process but may lose the last commits on power loss; FULL survives
// power loss at the price of an fsync per commit.
//
// Times are stored as INTEGER nanoseconds since the Unix epoch and returned
// in UTC with full precision.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluice-run/sluice/internal/store"
)

// Synchronous levels for Options.Synchronous.
const (
	// SyncNormal makes a commit survive a crash of the process; the last
	// commits may be lost on power loss or an OS crash.
	SyncNormal = "NORMAL"
	// SyncFull makes a commit survive power loss (one fsync per commit).
	SyncFull = "FULL"
)

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another process when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// readers is the size of the read connection pool.
const readers = 4

// Options configure Open.
type Options struct {
	// Synchronous is SyncNormal (the default when empty) or SyncFull.
	Synchronous string
	// BusyTimeout is how long to wait for a lock held by another process
	// before failing with "database is locked"; zero means
	// DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// Store is a store.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection: every write
	r    *sql.DB // read-only connections
	st   statements
	rd   hotStatements // prepared.go
	sc   stmtCache     // stmtcache.go: the other constant statements, prepared on first use
	gc   groupCommit   // Apply, CreateRun and AppendLogs commit through it
	// hooks are nil except in this package's tests.
	hooks testHooks
}

var _ store.Store = (*Store)(nil)

// statements are the writes on the hot path (Apply), prepared once on the
// writer connection.
type statements struct {
	runStatus       *sql.Stmt
	finishRun       *sql.Stmt
	completeNodeRun *sql.Stmt
	// completeNodeRunInRun is completeNodeRun that also requires the run to
	// be IN_PROGRESS (one more argument: the run's identifier).
	completeNodeRunInRun *sql.Stmt
	waitNodeRun          *sql.Stmt
	beginAttempt         *sql.Stmt
	insertNodeRun        *sql.Stmt
	insertLog            *sql.Stmt
	insertAudit          *sql.Stmt
	// Savepoints of group commit: one write of a batch at a time.
	savepoint, release, rollbackTo *sql.Stmt
}

// all returns every statement, for closing them.
func (st *statements) all() []*sql.Stmt {
	return []*sql.Stmt{st.runStatus, st.finishRun, st.completeNodeRun, st.completeNodeRunInRun, st.waitNodeRun, st.beginAttempt, st.insertNodeRun, st.insertLog, st.insertAudit,
		st.savepoint, st.release, st.rollbackTo}
}

// Open opens (creating when missing) the SQLite database at path, applies
// the migrations it lacks and returns the store. It fails when the database
// has a newer schema than this binary knows.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	level := strings.ToUpper(opts.Synchronous)
	switch level {
	case "":
		level = SyncNormal
	case SyncNormal, SyncFull:
	default:
		return nil, fmt.Errorf("sqlite: open %s: Synchronous is %q, want %q or %q", path, opts.Synchronous, SyncNormal, SyncFull)
	}
	busy := opts.BusyTimeout
	switch {
	case busy == 0:
		busy = DefaultBusyTimeout
	case busy < 0:
		return nil, fmt.Errorf("sqlite: open %s: negative BusyTimeout %v", path, busy)
	}

	s := &Store{path: path}
	s.gc.idle.L = &s.gc.mu
	var err error
	s.w, err = sql.Open("sqlite", dsn(path, level, busy, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	if err := migrate(ctx, s.w); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.r, err = sql.Open("sqlite", dsn(path, level, busy, true))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// uriEscaper escapes what SQLite's URI parser would otherwise read as syntax.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// dsn returns the driver's data source name. Pragmas are in the DSN so that
// every connection of the pool gets them, including ones opened later.
func dsn(path, level string, busy time.Duration, readOnly bool) string {
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busy.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(" + level + ")",
		"_pragma=foreign_keys(1)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		q = append(q, "_txlock=immediate")
	}
	return "file:" + uriEscaper.Replace(path) + "?" + strings.Join(q, "&")
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.st.runStatus, `SELECT status FROM runs WHERE identifier = ?`},
		{&s.st.finishRun, `UPDATE runs SET status = 'COMPLETED', result = ?, completed_at = ?, updated_at = ?
			WHERE identifier = ? AND status = 'IN_PROGRESS'`},
		// Completing clears waiting: a node run waits only while IN_PROGRESS.
		{&s.st.completeNodeRun, `UPDATE node_runs SET status = 'COMPLETED', result = ?, output = ?, links = ?, completed_at = ?, updated_at = ?, waiting = 0
			WHERE identifier = ? AND run_id = ? AND status = 'IN_PROGRESS'`},
		{&s.st.completeNodeRunInRun, `UPDATE node_runs SET status = 'COMPLETED', result = ?, output = ?, links = ?, completed_at = ?, updated_at = ?, waiting = 0
			WHERE identifier = ? AND run_id = ? AND status = 'IN_PROGRESS'
			AND (SELECT r.status FROM runs r WHERE r.identifier = ?) = 'IN_PROGRESS'`},
		{&s.st.waitNodeRun, `UPDATE node_runs SET waiting = 1, updated_at = max(updated_at, ?),
			wait_deadline = coalesce(?, wait_deadline), wait_continue = CASE WHEN ? IS NULL THEN wait_continue ELSE ? END
			WHERE identifier = ? AND run_id = ? AND status = 'IN_PROGRESS'`},
		{&s.st.beginAttempt, `UPDATE node_runs SET attempts = attempts + 1
			WHERE identifier = ? AND status = 'IN_PROGRESS' AND waiting = 0
			AND (SELECT r.status FROM runs r WHERE r.identifier = node_runs.run_id) = 'IN_PROGRESS'
			RETURNING attempts`},
		{&s.st.insertNodeRun, `INSERT INTO node_runs (` + nodeRunCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.st.insertLog, `INSERT INTO node_run_logs (node_run_id, level, message, tags, created_at) VALUES (?, ?, ?, ?, ?)`},
		{&s.st.insertAudit, `INSERT INTO audit_events (action, actor, secret, run_id, node_run_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`},
		{&s.st.savepoint, `SAVEPOINT write`},
		{&s.st.release, `RELEASE write`},
		{&s.st.rollbackTo, `ROLLBACK TO write`},
	} {
		st, err := s.w.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = st
	}
	return nil
}

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Close stops accepting writes, waits for the queued run writes to commit
// (writes that arrive meanwhile fail with ErrClosed), then closes the
// statements and both connection pools.
func (s *Store) Close() error {
	s.gc.closeGroup()
	var errs []error
	for _, st := range append(append(s.st.all(), s.rd.all()...), s.sc.all()...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

// write runs fn in one IMMEDIATE transaction on the writer connection and
// commits it, or rolls it back when fn fails. A transient failure (see
// transient) matches store.ErrUnavailable.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return transient(fmt.Errorf("begin: %w", err))
	}
	defer s.sc.prepareWanted(ctx, s.w) // after the transaction: stmtcache.go
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return transient(err)
	}
	if err := tx.Commit(); err != nil {
		return transient(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// read runs fn in one read transaction, so that what it reads is one
// snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return transient(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to undo
	return transient(fn(tx))
}

// transient makes an error of SQLite that may go away by itself match
// store.ErrUnavailable, keeping the driver's message: the database is busy
// or locked (another connection or process holds it past the busy
// timeout), the disk is full, or an I/O error, with their extended codes.
// Nothing was applied by the statement that failed, and the transaction
// around it was rolled back. Other errors, and errors that already match,
// are returned as they are.
func transient(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// mapErr turns constraint violations into the store's errors: a taken
// unique key is store.ErrExists, a missing referenced row store.ErrNotFound,
// a transient failure store.ErrUnavailable. The driver's message (which
// names the table and columns, never values) is kept for context.
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return transient(err)
}

// scanner is what scan functions read a row from: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, transient(err)
	}
	out, err := collect(rows, scan)
	return out, transient(err)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// notFound maps sql.ErrNoRows to store.ErrNotFound, and a transient failure
// to store.ErrUnavailable.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return transient(err)
}

// ts converts a time to its stored form; the zero time becomes now.
func ts(t time.Time, now time.Time) int64 {
	if t.IsZero() {
		t = now
	}
	return t.UnixNano()
}

// fromTS converts a stored time back.
func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

// nullTS is ts for optional times.
func nullTS(t *time.Time, now time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ts(*t, now), Valid: true}
}

// fromNullTS is fromTS for optional times.
func fromNullTS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromTS(n.Int64)
	return &t
}

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

// execOne runs a statement that must change a row: store.ErrNotFound when
// it changed none.
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
