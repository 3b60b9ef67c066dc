package runevents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/engine"
)

// Channel is the PostgreSQL NOTIFY channel run events travel on.
const Channel = "sluice_run_events"

// relayQueue bounds the node events waiting to be sent by NOTIFY; past it,
// node events are dropped (counted, and logged at most every
// dropLogEvery). A run.finished is never dropped: it is what a long poll
// on another process waits for, and a run finishes once, so the events
// kept past the bound are no more than the runs that finished while the
// sender was behind.
const relayQueue = 4096

// relayBatch bounds the notifications sent in one round trip.
const relayBatch = 256

// dropLogEvery is how often, at most, dropped node events are logged.
const dropLogEvery = 10 * time.Second

// DefaultRecheck is Options.Recheck's default: how often a watcher of a
// run that another process may drive re-reads its status, so that a missed
// run.finished costs at most about this long instead of the wait.
const DefaultRecheck = time.Second

// PGRelay is a Source that sees the events of every process sharing one
// PostgreSQL database: the events of this process are published to its own
// Hub at once and sent to the others with NOTIFY (in batches, from one
// goroutine, so the driver of a run never waits on the network for it);
// the events other processes send are received on one LISTEN connection
// and published to the Hub. Events carry identifiers, node types and
// results only, as in a Hub: no run data goes through PostgreSQL this way.
//
// Delivery across processes is best effort: an event sent while the
// listener reconnects, or whose NOTIFY fails, is missed, and node events
// are dropped when relayQueue of them wait to be sent. Watchers therefore
// do not rely on it alone: RecheckEvery tells them to re-read the status
// of a run this process does not drive every so often (internal/api,
// decision 033), so a missed run.finished costs at most that long.
type PGRelay struct {
	*Hub
	origin  string
	pool    *pgxpool.Pool
	url     string
	log     *slog.Logger
	recheck time.Duration

	// wake tells the sender that pending has events (one token at most).
	wake chan struct{}
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu sync.Mutex
	// pending holds the events to send, in the order they happened; nodes
	// counts the node events among them, at most maxNodes.
	pending  []Event
	nodes    int
	maxNodes int
	closed   bool
	dropped  int
	// droppedLogged is dropped when it was last logged, at loggedAt.
	droppedLogged int
	loggedAt      time.Time
}

// NewPGRelay starts relaying: LISTEN on a connection of its own to url
// (reconnected with backoff when lost) and NOTIFY through pool. Close stops
// it. It returns once the first LISTEN is in place, so that no event sent
// after it returns is missed.
func NewPGRelay(ctx context.Context, url string, pool *pgxpool.Pool, logger *slog.Logger, opts Options) (*PGRelay, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	r := &PGRelay{Hub: NewHub(opts), origin: hex.EncodeToString(b[:]), pool: pool, url: url, log: logger, recheck: opts.Recheck,
		wake: make(chan struct{}, 1), maxNodes: relayQueue}
	if r.recheck <= 0 {
		r.recheck = DefaultRecheck
	}
	conn, err := r.listen(ctx)
	if err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.wg.Go(func() { r.receive(rctx, conn) })
	r.wg.Go(func() { r.send(rctx) })
	return r, nil
}

// wire is an event as it travels in a notification's payload.
type wire struct {
	Origin    string `json:"o"`
	Kind      string `json:"k"`
	RunID     string `json:"r"`
	NodeID    string `json:"n,omitempty"`
	NodeRunID string `json:"nr,omitempty"`
	Type      string `json:"t,omitempty"`
	Result    string `json:"res,omitempty"`
}

// OnEngineEvent publishes an event of this process to its watchers and
// queues it for the other processes, without blocking; for the engine's
// OnEvent hook (api.Options.OnEvent).
func (r *PGRelay) OnEngineEvent(ev engine.Event) {
	if r.Hub.Track(ev) {
		return
	}
	e, ok := FromEngine(ev)
	if !ok {
		return
	}
	r.Hub.Publish(e)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if e.Kind != KindRunFinished {
		if r.nodes >= r.maxNodes {
			r.dropped++
			r.logDropped()
			r.mu.Unlock()
			return
		}
		r.nodes++
	}
	r.pending = append(r.pending, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// logDropped logs the node events dropped since it last did, at most every
// dropLogEvery; r.mu must be held.
func (r *PGRelay) logDropped() {
	if now := time.Now(); now.Sub(r.loggedAt) >= dropLogEvery {
		r.log.Warn("dropped node events that other processes' event streams would have shown: the relay is behind (run.finished events are never dropped)",
			"dropped", r.dropped-r.droppedLogged, "droppedTotal", r.dropped)
		r.droppedLogged, r.loggedAt = r.dropped, now
	}
}

// RecheckEvery returns how often a watcher of a run that this process does
// not drive should re-read its status (Options.Recheck): events from other
// processes may be missed.
func (r *PGRelay) RecheckEvery() time.Duration { return r.recheck }

// Dropped returns how many node events were not sent to other processes
// because relayQueue of them were waiting (run.finished never is).
func (r *PGRelay) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close stops relaying and closes Done. It is safe to call more than once.
func (r *PGRelay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	r.Hub.Close()
	r.stop()
	r.wg.Wait()
}

func (r *PGRelay) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return nil, fmt.Errorf("runevents: connect to listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("runevents: LISTEN: %w", err)
	}
	return conn, nil
}

// receive publishes the notifications of other processes until ctx is
// done, reconnecting with backoff (up to 5 s) when the connection is lost.
func (r *PGRelay) receive(ctx context.Context, conn *pgx.Conn) {
	wait := 100 * time.Millisecond
	for {
		for conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			c, err := r.listen(ctx)
			if err != nil {
				wait = min(2*wait, 5*time.Second)
				continue
			}
			conn, wait = c, 100*time.Millisecond
			r.log.Info("listening for the run events of other processes again")
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			_ = conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("lost the connection that listens for the run events of other processes; reconnecting", "error", err.Error())
			continue
		}
		var w wire
		if json.Unmarshal([]byte(n.Payload), &w) != nil || w.Origin == r.origin || w.RunID == "" {
			continue
		}
		r.Hub.Publish(Event{Kind: w.Kind, RunID: w.RunID, NodeID: w.NodeID, NodeRunID: w.NodeRunID, Type: w.Type, Result: w.Result})
	}
}

// send sends the pending events with NOTIFY, up to relayBatch in one round
// trip, in the order they happened, until ctx is done.
func (r *PGRelay) send(ctx context.Context) {
	var batch []Event
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		for {
			batch = r.take(batch[:0])
			if len(batch) == 0 {
				break
			}
			var b pgx.Batch
			for _, e := range batch {
				p, _ := json.Marshal(wire{Origin: r.origin, Kind: e.Kind, RunID: e.RunID, NodeID: e.NodeID, NodeRunID: e.NodeRunID, Type: e.Type, Result: e.Result})
				b.Queue("SELECT pg_notify($1, $2)", Channel, string(p))
			}
			if err := r.pool.SendBatch(ctx, &b).Close(); err != nil {
				if ctx.Err() != nil {
					return
				}
				r.log.Warn("sending run events to other processes failed; their watchers see these runs at their next re-read", "events", b.Len(), "error", err.Error())
			}
		}
	}
}

// take moves up to relayBatch pending events into batch.
func (r *PGRelay) take(batch []Event) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(r.pending), relayBatch)
	batch = append(batch, r.pending[:n]...)
	for _, e := range batch {
		if e.Kind != KindRunFinished {
			r.nodes--
		}
	}
	r.pending = append(r.pending[:0], r.pending[n:]...)
	return batch
}
