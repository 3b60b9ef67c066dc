package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// DefaultLeaseTTL is Options.LeaseTTL when it is 0: how long a run stays
// leased to a process that stopped renewing it. A process renews its leases
// every third of it (Engine.RunHeartbeat).
const DefaultLeaseTTL = 15 * time.Second

// leases is the engine's part of run leases (docs/decisions/023): who this
// process is, and the runs it drives now, each with the cancel of its
// driver's context, so that a lease lost to another process stops the
// driver at once.
type leases struct {
	ls    store.LeaseStore
	owner string
	ttl   time.Duration

	mu   sync.Mutex
	held map[string]*heldLease
}

type heldLease struct {
	cancel context.CancelFunc
	lost   bool
}

// NewLeaseOwner returns an identifier for this process as a lease owner:
// host, pid and 8 random hex digits, unique per process start.
func NewLeaseOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// newLeases returns the engine's leases, or nil when leasing is off (no
// owner, or a store without store.LeaseStore).
func newLeases(st store.Store, owner string, ttl time.Duration) *leases {
	ls, ok := st.(store.LeaseStore)
	if !ok || owner == "" {
		return nil
	}
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &leases{ls: ls, owner: owner, ttl: ttl, held: map[string]*heldLease{}}
}

// LeaseOwner is this engine's lease owner, "" when it does not lease runs.
func (e *Engine) LeaseOwner() string {
	if e.leases == nil {
		return ""
	}
	return e.leases.owner
}

// LeaseTTL is the length of this engine's leases (0 when it does not lease).
func (e *Engine) LeaseTTL() time.Duration {
	if e.leases == nil {
		return 0
	}
	return e.leases.ttl
}

func (e *Engine) newLease() store.Lease {
	return store.Lease{Owner: e.leases.owner, Until: e.now().Add(e.leases.ttl)}
}

// errLeaseHeld says that another process holds a live lease on the run.
var errLeaseHeld = errors.New("another process drives the run")

// leaseRun makes this process the run's lease holder for the time of one
// drive, unless leasing is off: it returns the context to drive with
// (cancelled when the lease is lost) and done, which releases the lease.
// done(true) says the run has finished: the store dropped its lease in the
// transaction that finished it (store.LeaseStore), so nothing is written.
// fresh says the lease was just taken by Start (CreateRunLeased), so that
// it need not be acquired again. The caller holds the run's lock.
func (e *Engine) leaseRun(ctx context.Context, runID string, fresh bool) (context.Context, func(finished bool) (lost bool), error) {
	l := e.leases
	if l == nil {
		return ctx, func(bool) bool { return false }, nil
	}
	if !fresh {
		ok, err := l.ls.AcquireLease(ctx, runID, e.newLease(), e.now())
		if err != nil {
			return ctx, nil, fmt.Errorf("lease run %s: %w", runID, err)
		}
		if !ok {
			return ctx, nil, errLeaseHeld
		}
	}
	dctx, cancel := context.WithCancel(ctx)
	h := &heldLease{cancel: cancel}
	l.mu.Lock()
	l.held[runID] = h
	l.mu.Unlock()
	return dctx, func(finished bool) bool {
		l.mu.Lock()
		delete(l.held, runID)
		lost := h.lost
		l.mu.Unlock()
		cancel()
		if !lost && !finished {
			// Released even when ctx is done (a shutdown), so that
			// another process takes the run at once instead of after
			// the lease's expiry.
			rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := l.ls.ReleaseLeases(rctx, l.owner, []string{runID}); err != nil {
				e.log.Warn("releasing a run's lease failed; it expires by itself", "run", runID, "error", err.Error())
			}
			stop()
		}
		return lost
	}, nil
}

// notLeased is what Execute returns for a run this process may not drive:
// the run as stored, nothing driven. A run finished meanwhile is no error.
func (e *Engine) notLeased(ctx context.Context, runID string, err error) (store.Run, error) {
	if errors.Is(err, errLeaseHeld) || errors.Is(err, store.ErrConflict) {
		// Another process drives it: what this one knew of the run (its
		// redactor) would miss what the other's nodes use.
		e.forget(runID)
		return e.store.GetRun(ctx, runID)
	}
	return store.Run{}, err
}

// Heartbeat renews, in one statement, the leases of every run this process
// drives now, and stops the drivers of the runs whose lease was taken over
// by another process meanwhile (this one stalled past the lease's length):
// their node executions are cancelled and they commit nothing more. It
// returns how many leases it renewed. A no-op when leasing is off.
func (e *Engine) Heartbeat(ctx context.Context) (int, error) {
	l := e.leases
	if l == nil {
		return 0, nil
	}
	l.mu.Lock()
	ids := make([]string, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	if len(ids) == 0 {
		return 0, nil
	}
	held, err := l.ls.RenewLeases(ctx, l.owner, ids, e.now().Add(l.ttl))
	if err != nil {
		return 0, fmt.Errorf("renew leases: %w", err)
	}
	still := make(map[string]bool, len(held))
	for _, id := range held {
		still[id] = true
	}
	for _, id := range ids {
		if still[id] {
			continue
		}
		l.mu.Lock()
		h := l.held[id]
		if h != nil {
			h.lost = true
			h.cancel()
		}
		l.mu.Unlock()
		// A run that finished (here, or by a cancel or another process)
		// lost its lease row with the commit that finished it: its driver
		// is returning, or its next commit is refused. Only a run still in
		// progress was taken over.
		if h != nil && !e.finished(ctx, id) {
			e.log.Warn("lost the lease of a run to another process; its driver here stops", "run", id)
		}
	}
	return len(held), nil
}

// finished reports whether a run is known to be finished (false when it
// cannot be read).
func (e *Engine) finished(ctx context.Context, runID string) bool {
	run, err := e.store.GetRun(ctx, runID)
	return err == nil && run.Status != store.StatusInProgress
}

// RunHeartbeat calls Heartbeat every third of the lease's length until ctx
// is done. A no-op when leasing is off.
func (e *Engine) RunHeartbeat(ctx context.Context) {
	if e.leases == nil {
		return
	}
	tick := time.NewTicker(e.leases.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := e.Heartbeat(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("renewing run leases failed; trying again at the next beat", "error", err.Error())
		}
	}
}

// ClaimRuns leases to this process at most limit IN_PROGRESS runs that no
// live process drives and that do not wait on the outside (their process
// died, or their driver gave up), and returns them: the caller drives each
// with Execute. Nil when leasing is off.
func (e *Engine) ClaimRuns(ctx context.Context, limit int) ([]string, error) {
	if e.leases == nil {
		return nil, nil
	}
	ids, err := e.leases.ls.ClaimRuns(ctx, e.newLease(), e.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", err)
	}
	return ids, nil
}

// ReleaseLeases drops every lease this process holds, for a graceful
// shutdown once its drivers stopped: the other processes take the runs over
// at their next claim instead of after the leases expire.
func (e *Engine) ReleaseLeases(ctx context.Context) error {
	if e.leases == nil {
		return nil
	}
	if err := e.leases.ls.ReleaseLeases(ctx, e.leases.owner, nil); err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	return nil
}

// createRun stores st's run, just started, with its first node runs (more
// than one only with a store.RunCreator, which also seals what Start
// registered and keeps the run's trace parent), leased to this process in
// the same transaction when the engine leases runs.
func (e *Engine) createRun(ctx context.Context, st *runState, nrs []store.NodeRun) error {
	run := st.run
	if rc, ok := e.store.(store.RunCreator); ok {
		c := store.Creation{Run: run, NodeRuns: nrs, TraceParent: st.traceParent}
		if e.leases != nil {
			l := e.newLease()
			c.Lease = &l
		}
		// What Start registered is sealed with the creation, so that a
		// run is sealed from its first commit.
		t := store.Transition{RunID: run.Identifier}
		done, err := e.attachSeal(st, &t)
		if err != nil {
			return fmt.Errorf("seal the values of run %s: %w", run.Identifier, err)
		}
		c.Seal = t.Seal
		err = rc.CreateRunWith(ctx, c)
		done(err == nil)
		return err
	}
	if e.leases == nil {
		return e.store.CreateRun(ctx, run, nrs[0], nil)
	}
	return e.leases.ls.CreateRunLeased(ctx, run, nrs[0], nil, e.newLease())
}

// executeLeased is execute under the run's lease: a run another live
// process drives is returned as stored, and a driver that lost its lease
// meanwhile stops quietly (the new holder drives the run on). The caller
// holds the run's lock.
func (e *Engine) executeLeased(ctx context.Context, runID string) (store.Run, error) {
	fresh := false
	if v, ok := e.started.Load(runID); ok && e.leases != nil {
		// Leased by Start a moment ago, in the transaction that created it.
		fresh = e.now().Sub(v.(*runState).run.CreatedAt) < e.leases.ttl/3
		if !fresh {
			// Started long ago (no slot was free): its lease may have
			// expired and another process may have driven it since, so
			// the state kept from Start is not to be trusted; read it
			// back.
			e.forget(runID)
		}
	}
	dctx, done, err := e.leaseRun(ctx, runID, fresh)
	if err != nil {
		return e.notLeased(ctx, runID, err)
	}
	run, err := e.execute(dctx, runID)
	lost := done(err == nil && run.Status != store.StatusInProgress)
	if e.leases != nil {
		// Whoever drives the run next (another process, after a
		// completion it received) may use values this process's
		// redactor never saw: the next driver here rebuilds it from the
		// store, as after a restart.
		e.forget(runID)
	}
	if lost {
		return run, nil
	}
	return run, err
}

// leaseForPoll leases a waiting run for the time of one poll of its due
// wake, so that of several processes whose wait loops list the same due
// wake, one polls the provider: the others get ErrConflict, as for a wake
// served meanwhile. release drops the lease. A no-op when leasing is off.
func (e *Engine) leaseForPoll(ctx context.Context, runID string) (release func(), err error) {
	_, done, err := e.leaseRun(ctx, runID, false)
	if errors.Is(err, errLeaseHeld) {
		return nil, fmt.Errorf("run %s: %w: %w", runID, errLeaseHeld, store.ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	return func() { done(false) }, nil
}

// ClaimLeftRuns is ClaimRuns that also takes runs whose lease has not
// expired yet: for a process that knows it is the only one on its store
// (serve on SQLite holds the data dir's lock), so that every lease left in
// the store belongs to a process that is gone and need not be waited out.
func (e *Engine) ClaimLeftRuns(ctx context.Context, limit int) ([]string, error) {
	if e.leases == nil {
		return nil, nil
	}
	// Every lease has expired by then.
	never := e.now().AddDate(100, 0, 0) // within int64 nanoseconds (SQLite)
	ids, err := e.leases.ls.ClaimRuns(ctx, e.newLease(), never, limit)
	if err != nil {
		return nil, fmt.Errorf("claim runs left by a previous process: %w", err)
	}
	return ids, nil
}
