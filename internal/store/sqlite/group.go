package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed is returned by a write that reaches a Store after Close began.
var ErrClosed = errors.New("sqlite: store is closed")

// maxBatch bounds how many writes one group commit holds, so that one
// transaction (and the wait of the writes at its end) stays short.
const maxBatch = 64

// groupCommit lets the run writes of concurrent callers (Apply, CreateRun,
// AppendLogs) share one SQLite transaction and one WAL commit.
//
// It is the classic leader/follower scheme rather than a committer
// goroutine: a caller that finds no commit in progress becomes the leader
// and commits its own write at once, on its own goroutine, so a lone caller
// pays nothing over a plain transaction (no hand-off to another goroutine and
// back, no timer), and there is no goroutine to start or stop with the
// store. Callers that arrive while a leader commits wait in the queue; when
// the leader is done it hands leadership to the first of them, which takes
// everything queued by then (up to maxBatch) into the next transaction. The
// leader returns as soon as its own batch has committed, so no caller keeps
// serving others under sustained load.
//
// Each write of a batch runs inside its own SAVEPOINT, so a write that fails
// (ErrConflict, ErrNotFound, anything) is rolled back alone and only its
// caller gets the error. A batch of one needs no savepoint: a failure rolls
// back the whole transaction, as before group commit.
type groupCommit struct {
	mu      sync.Mutex
	idle    sync.Cond  // signaled when leading becomes false; L is &mu
	queue   []*pending // writes waiting for the next leader, oldest first
	leading bool       // a leader is committing; while false, queue is empty
	closed  bool       // Close began: no new write is accepted

	// batches and writes count commits and the writes they held, for
	// benchmarks (writes/commit).
	batches, writes int64
}

// pending is one caller's write waiting in, or taken from, the queue.
type pending struct {
	ctx context.Context // the caller's: checked before the write is applied
	fn  writeFunc
	// taken is set (under groupCommit.mu) once a leader removed the write
	// from the queue, as part of its batch or as the next leader: from then
	// on the caller must wait for the outcome even if its ctx is done.
	taken bool
	// done receives one message: the write's result, or the order to lead.
	done chan outcome
	// err and applied are the leader's record while it commits the batch.
	err     error
	applied bool
}

// outcome is what a waiting caller receives.
type outcome struct {
	lead bool // the caller is the next leader
	err  error
}

// writeFunc applies one write in tx. It must use the ctx it is given (the
// batch's, never cancelled), not its caller's: SQLite rolls back the whole
// transaction when a statement in it is interrupted, which would fail the
// other writes of the batch.
type writeFunc func(ctx context.Context, tx *sql.Tx) error

// group commits fn in a transaction shared with concurrent callers' writes.
// It returns when that transaction has committed (nil), or with fn's own
// error (nothing of fn is applied), the error of the transaction's begin or
// commit (nothing of the batch is applied), ctx's error while fn waited in
// the queue (nothing applied), or ErrClosed.
func (s *Store) group(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pending{ctx: ctx, fn: fn}
	g := &s.gc
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	if !g.leading {
		g.leading = true
		p.taken = true
		g.mu.Unlock()
		return s.lead(p)
	}
	p.done = make(chan outcome, 1)
	g.queue = append(g.queue, p)
	queued := len(g.queue)
	g.mu.Unlock()
	if h := s.hooks.enqueued; h != nil {
		h(queued)
	}

	var o outcome
	select {
	case o = <-p.done:
	case <-ctx.Done():
		g.mu.Lock()
		if !p.taken {
			g.remove(p)
			g.mu.Unlock()
			return fmt.Errorf("waiting to commit: %w", ctx.Err())
		}
		g.mu.Unlock()
		// A leader has the write: its outcome is coming and must be told.
		o = <-p.done
	}
	if o.lead {
		return s.lead(p)
	}
	return o.err
}

// remove takes p out of the queue; g.mu must be held.
func (g *groupCommit) remove(p *pending) {
	for i, q := range g.queue {
		if q == p {
			rest := i + copy(g.queue[i:], g.queue[i+1:])
			g.queue[rest] = nil
			g.queue = g.queue[:rest]
			return
		}
	}
}

// lead commits first and what is queued behind it (up to maxBatch in all),
// hands leadership on (or gives it up), tells the followers their results
// and returns first's.
func (s *Store) lead(first *pending) error {
	g := &s.gc
	g.mu.Lock()
	n := min(len(g.queue), maxBatch-1)
	batch := make([]*pending, 0, n+1)
	batch = append(batch, first)
	for _, p := range g.queue[:n] {
		p.taken = true
		batch = append(batch, p)
	}
	rest := copy(g.queue, g.queue[n:])
	clear(g.queue[rest:])
	g.queue = g.queue[:rest]
	g.mu.Unlock()

	s.commit(batch)
	// Statements its writes ran unprepared are prepared now, while this
	// leader still holds the writer and no transaction is open (stmtcache.go).
	s.sc.prepareWanted(context.Background(), s.w)
	// A batch that failed as a whole because the database was busy or
	// full fails every write of it with store.ErrUnavailable: each caller
	// may retry, and none sees a generic error.
	for _, p := range batch {
		p.err = transient(p.err)
	}

	g.mu.Lock()
	g.batches++
	g.writes += int64(len(batch))
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.taken = true
		rest := copy(g.queue, g.queue[1:])
		g.queue[rest] = nil
		g.queue = g.queue[:rest]
		next.done <- outcome{lead: true} // buffered: never blocks
	} else {
		g.leading = false
		g.idle.Broadcast()
	}
	g.mu.Unlock()
	// Hand leadership on before waking the followers, so the next commit
	// starts while they return.
	for _, p := range batch[1:] {
		p.done <- outcome{err: p.err}
	}
	return first.err
}

// commit applies the writes of batch in one transaction, each inside its own
// savepoint when there are several, commits it and sets each write's err.
func (s *Store) commit(batch []*pending) {
	// The batch's context: no caller's cancellation may interrupt a
	// statement of a transaction that holds other callers' writes.
	ctx := context.Background()
	fail := func(err error) {
		for _, p := range batch {
			if p.err == nil {
				p.err = err
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	applied := 0
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = fmt.Errorf("waiting to commit: %w", err)
			continue
		}
		if len(batch) == 1 {
			if p.err = p.fn(ctx, tx); p.err != nil {
				_ = tx.Rollback() // the error that matters is fn's
				return
			}
			p.applied, applied = true, 1
			continue
		}
		if err := s.savepoint(ctx, tx, p); err != nil {
			// The transaction is broken (SQLite may have rolled it back):
			// nothing of the batch can be trusted to commit.
			_ = tx.Rollback()
			fail(err)
			return
		}
		if p.applied {
			applied++
		}
	}
	if applied == 0 {
		_ = tx.Rollback() // nothing to keep
		return
	}
	if h := s.hooks.beforeCommit; h != nil {
		if err := h(ctx, tx, len(batch)); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("commit: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// The driver rolls a failed COMMIT back: every write of the batch
		// is lost, including those that succeeded on their own.
		err = fmt.Errorf("commit: %w", err)
		for _, p := range batch {
			if p.applied {
				p.applied, p.err = false, err
			}
		}
	}
}

// savepoint applies p's write inside a savepoint, releasing it when the
// write succeeds and rolling back to it when it fails (p.err is then the
// write's error). It returns an error only when the transaction itself can
// no longer be used.
func (s *Store) savepoint(ctx context.Context, tx *sql.Tx, p *pending) error {
	if _, err := tx.StmtContext(ctx, s.st.savepoint).ExecContext(ctx); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if p.err = p.fn(ctx, tx); p.err == nil {
		if _, err := tx.StmtContext(ctx, s.st.release).ExecContext(ctx); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		p.applied = true
		return nil
	}
	if _, err := tx.StmtContext(ctx, s.st.rollbackTo).ExecContext(ctx); err != nil {
		return fmt.Errorf("roll back to savepoint: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.st.release).ExecContext(ctx); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// closeGroup stops accepting writes and waits until the queued ones have
// been committed (the leaders drain the queue by handing leadership on).
func (g *groupCommit) closeGroup() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
}

// testHooks are seams for this package's tests; all nil in production.
type testHooks struct {
	// beforeCommit runs in a batch's transaction just before COMMIT, with
	// the number of writes in the batch; an error fails the batch.
	beforeCommit func(ctx context.Context, tx *sql.Tx, size int) error
	// enqueued runs after a write joined the queue, with the queue's
	// length then.
	enqueued func(queued int)
}
