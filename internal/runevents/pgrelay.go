package runevents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// relayQueue bounds the events waiting to be sent by NOTIFY; past it,
// events are dropped (counted), and watchers on other processes answer at
// their deadline with the run as stored instead of at once.
const relayQueue = 4096

// PGRelay is a Source that sees the events of every process sharing one
// PostgreSQL database: the events of this process are published to its own
// Hub at once and sent to the others with NOTIFY (in batches, from one
// goroutine, so the driver of a run never waits on the network for it);
// the events other processes send are received on one LISTEN connection
// and published to the Hub. Events carry identifiers, node types and
// results only, as in a Hub: no run data goes through PostgreSQL this way.
//
// Delivery across processes is best effort: an event sent while the
// listener reconnects is missed. A watcher then still answers, at its
// deadline (a long poll) or at its next resynchronization from the store
// (a stream that reconnects), with the run as stored.
type PGRelay struct {
	*Hub
	origin string
	pool   *pgxpool.Pool
	url    string
	log    *slog.Logger

	queue   chan Event
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	dropped int
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
	r := &PGRelay{Hub: NewHub(opts), origin: hex.EncodeToString(b[:]), pool: pool, url: url, log: logger, queue: make(chan Event, relayQueue)}
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
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	select {
	case r.queue <- e:
	default:
		r.dropped++
	}
}

// Dropped returns how many events were not sent to other processes because
// the queue was full.
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

// send sends the queued events with NOTIFY, as many as are queued in one
// round trip, until ctx is done.
func (r *PGRelay) send(ctx context.Context) {
	for {
		var first Event
		select {
		case <-ctx.Done():
			return
		case first = <-r.queue:
		}
		var b pgx.Batch
		add := func(e Event) {
			p, _ := json.Marshal(wire{Origin: r.origin, Kind: e.Kind, RunID: e.RunID, NodeID: e.NodeID, NodeRunID: e.NodeRunID, Type: e.Type, Result: e.Result})
			b.Queue("SELECT pg_notify($1, $2)", Channel, string(p))
		}
		add(first)
	more:
		for b.Len() < 256 {
			select {
			case e := <-r.queue:
				add(e)
			default:
				break more
			}
		}
		if err := r.pool.SendBatch(ctx, &b).Close(); err != nil && !errors.Is(err, context.Canceled) {
			r.log.Warn("sending run events to other processes failed; their watchers answer at their deadline", "events", b.Len(), "error", err.Error())
		}
	}
}
