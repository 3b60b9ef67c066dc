package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// stmtCache holds statements prepared by connection pool and SQL text, for
// the queries that hotStatements does not name (the catalog, its outbox
// and timers, schedules, the workflow list). Preparing is most of what
// these short statements cost: 40 % of a catalog write's CPU was SQLite's
// parser before this cache (docs/performance.md, issue 11). Every text
// given to it is a constant of this package, so the cache is bounded by
// the number of such texts.
//
// The writer has one connection, which a transaction holds: a statement
// of a write transaction cannot be prepared on the pool while it runs
// (that would wait for the connection forever). Such a statement runs
// unprepared the first time and is noted in want; write prepares what is
// wanted once its transaction has ended. No preparation runs under mu.
type stmtCache struct {
	mu   sync.Mutex
	m    map[stmtKey]*sql.Stmt
	want map[string]struct{} // writer statements to prepare after the transaction
}

// stmtKey names a statement: the pool it is prepared on and its text.
type stmtKey struct {
	db    *sql.DB
	query string
}

// lookup returns query prepared on db, if it is.
func (c *stmtCache) lookup(db *sql.DB, query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[stmtKey{db, query}]
	return st, ok
}

// store keeps st as query prepared on db, unless another goroutine
// prepared it meanwhile (then st is closed and theirs returned).
func (c *stmtCache) store(db *sql.DB, query string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stmtKey{db, query}
	if have, ok := c.m[k]; ok {
		_ = st.Close() // a duplicate of have
		return have
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[k] = st
	return st
}

// get returns query prepared on db, preparing it the first time. db must
// not be a pool whose every connection the caller may hold (the writer
// inside a transaction): see wantLater.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st, ok := c.lookup(db, query); ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	return c.store(db, query, st), nil
}

// wantLater notes a writer statement to prepare once the transaction that
// needed it has ended.
func (c *stmtCache) wantLater(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want == nil {
		c.want = map[string]struct{}{}
	}
	c.want[query] = struct{}{}
}

// prepareWanted prepares on db (the writer, no transaction open by the
// caller) the statements noted by wantLater. A statement that fails to
// prepare is dropped: it keeps running unprepared, and its own error is
// what its callers see.
func (c *stmtCache) prepareWanted(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	if len(c.want) == 0 {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.want))
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	for _, q := range qs {
		if st, err := db.PrepareContext(ctx, q); err == nil {
			c.store(db, q, st)
		}
	}
}

// all returns every statement prepared so far, for closing them.
func (c *stmtCache) all() []*sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*sql.Stmt, 0, len(c.m))
	for _, st := range c.m {
		out = append(out, st)
	}
	return out
}

// preparedDB runs constant statements on a pool through the store's
// stmtCache; it has the methods of *sql.DB that this package's helpers
// (queryAll) take. A statement that cannot be prepared runs unprepared, so
// that its error is the one the statement itself gives.
type preparedDB struct {
	c  *stmtCache
	db *sql.DB
}

// preparedR returns the read pool through the statement cache.
func (s *Store) preparedR() preparedDB { return preparedDB{c: &s.sc, db: s.r} }

// QueryContext is sql.DB.QueryContext with a cached statement.
func (p preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.c.get(ctx, p.db, query)
	if err != nil {
		return p.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext is sql.DB.QueryRowContext with a cached statement.
func (p preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.c.get(ctx, p.db, query)
	if err != nil {
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// preparedTx runs constant statements inside a transaction of the writer
// through the store's stmtCache (sql.Tx.StmtContext reuses the statement
// already prepared on the transaction's connection); one not prepared yet
// runs unprepared and is prepared after the transaction (Store.write).
type preparedTx struct {
	c  *stmtCache
	db *sql.DB
	tx *sql.Tx
}

// prepared returns tx, a transaction of the writer, through the statement
// cache.
func (s *Store) prepared(tx *sql.Tx) preparedTx { return preparedTx{c: &s.sc, db: s.w, tx: tx} }

// ExecContext is sql.Tx.ExecContext with a cached statement.
func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := p.c.lookup(p.db, query)
	if !ok {
		p.c.wantLater(query)
		return p.tx.ExecContext(ctx, query, args...)
	}
	return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// QueryContext is sql.Tx.QueryContext with a cached statement.
func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, ok := p.c.lookup(p.db, query)
	if !ok {
		p.c.wantLater(query)
		return p.tx.QueryContext(ctx, query, args...)
	}
	return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// QueryRowContext is sql.Tx.QueryRowContext with a cached statement.
func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, ok := p.c.lookup(p.db, query)
	if !ok {
		p.c.wantLater(query)
		return p.tx.QueryRowContext(ctx, query, args...)
	}
	return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}
