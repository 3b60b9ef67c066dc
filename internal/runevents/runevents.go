// Package runevents fans the engine's progress events out to the API
// requests that wait for a run (GET /v1/workflows/runs/{id}?wait=, and the
// Server-Sent Events stream /v1/workflows/runs/{id}/events).
//
// A Hub holds, per run, the subscriptions of the requests watching it. The
// engine's OnEvent hook calls Publish synchronously on the goroutine that
// drives the run; Publish only looks the run up and does non-blocking sends
// into each subscription's fixed-size buffer, so it never waits for a
// client and starts no goroutine. Memory is bounded: at most MaxSubscribers
// subscriptions (Subscribe fails with ErrFull past it) of Buffer events each.
// A subscriber that does not keep up (its buffer is full when an event
// arrives) is marked lagged and gets no more events; its request then reads
// the run's state from the store again, which is always complete (see
// Subscription.Lagged).
//
// Events carry only identifiers, node types and results: nothing a run
// holds (outputs, logs, error text) travels through a Hub.
//
// A Hub also knows which runs this process's engine is driving right now
// (engine.RunDriving and RunIdle, which never leave the process): a
// subscription made while its run is driven here is Live, and its Idle
// closes when that drive ends. Its watcher then needs nothing read to wait:
// the run exists, is IN_PROGRESS, and either its end or its drive's end will
// be published here.
//
// One process only: a Hub sees the events of the runs this process drives.
// Source is the seam for events from other processes: PGRelay (PostgreSQL
// LISTEN/NOTIFY) feeds its Hub with them, and the API depends only on
// Source.
package runevents

import (
	"errors"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
)

// Kinds of events, as the SSE stream names them.
const (
	KindNodeStarted  = "node.started"
	KindNodeFinished = "node.finished"
	KindNodeWaiting  = "node.waiting"
	KindRunFinished  = "run.finished"
)

// Event is a run's progress as watchers see it.
type Event struct {
	Kind      string // one of the Kind constants
	RunID     string
	NodeID    string
	NodeRunID string
	Type      string // the node's type
	Result    string // SUCCESS, FAILED or CANCELLED for node.finished and run.finished
}

// FromEngine converts an engine event, and reports false for kinds watchers
// do not see.
func FromEngine(ev engine.Event) (Event, bool) {
	out := Event{RunID: ev.RunID, NodeID: ev.NodeID, NodeRunID: ev.NodeRunID, Type: ev.Type, Result: ev.Result}
	switch ev.Kind {
	case engine.NodeStarted:
		out.Kind = KindNodeStarted
	case engine.NodeFinished:
		out.Kind = KindNodeFinished
	case engine.NodeWaiting:
		out.Kind = KindNodeWaiting
	case engine.RunFinished:
		out.Kind = KindRunFinished
	default:
		return Event{}, false
	}
	return out, true
}

// Source is where watchers get a run's events from. Hub is the in-process
// Source; one fed by PostgreSQL LISTEN/NOTIFY would make completions seen
// by every process.
type Source interface {
	// Subscribe starts watching a run: every event, or only run.finished
	// when onlyFinished (a long poll needs no more, and its buffer is then
	// one event). Close the subscription when done.
	Subscribe(runID string, onlyFinished bool) (*Subscription, error)
	// Done is closed when the source stops (the server shuts down): every
	// watcher then answers with what the store holds.
	Done() <-chan struct{}
}

// ErrFull is returned by Subscribe when MaxSubscribers are taken.
var ErrFull = errors.New("runevents: too many watchers")

// Defaults of Options.
const (
	DefaultBuffer         = 64
	DefaultMaxSubscribers = 10000
)

// Options configure a Hub.
type Options struct {
	// Buffer is how many events a subscription holds unread before it is
	// marked lagged; 0 means DefaultBuffer.
	Buffer int
	// MaxSubscribers bounds the subscriptions open at once; 0 means
	// DefaultMaxSubscribers.
	MaxSubscribers int
	// Recheck is, for a PGRelay, how often a watcher of a run that this
	// process does not drive re-reads its status (PGRelay.RecheckEvery); 0
	// means DefaultRecheck. A Hub alone ignores it: it sees every event of
	// its process.
	Recheck time.Duration
}

// Hub is the in-process Source, fed by Publish. It is safe for concurrent
// use.
type Hub struct {
	buffer, max int

	mu     sync.Mutex
	runs   map[string]map[*Subscription]struct{}
	count  int
	closed bool
	done   chan struct{}
	// live counts the drives of each run under way in this process.
	live map[string]int
	// finished holds the runs whose run.finished was published most
	// recently (a ring of recentFinished, with its index): a drive that
	// begins after another path finished its run (a cancel between the
	// drive's read and its start) does not make the run live again.
	finished     [recentFinished]string
	finishedNext int
	finishedSet  map[string]struct{}
}

// recentFinished bounds the runs a Hub remembers as finished.
const recentFinished = 4096

var _ Source = (*Hub)(nil)

// NewHub returns an empty Hub.
func NewHub(opts Options) *Hub {
	h := &Hub{buffer: opts.Buffer, max: opts.MaxSubscribers, runs: map[string]map[*Subscription]struct{}{}, done: make(chan struct{}),
		live: map[string]int{}, finishedSet: map[string]struct{}{}}
	if h.buffer <= 0 {
		h.buffer = DefaultBuffer
	}
	if h.max <= 0 {
		h.max = DefaultMaxSubscribers
	}
	return h
}

// Subscription receives one run's events in C until it lags or is closed.
type Subscription struct {
	// C delivers the run's events in the order they were published. It is
	// never closed; select on it with Hub.Done and the request's context.
	C <-chan Event
	c chan Event
	// Lag is closed when the subscription lagged (see Lagged): select on
	// it to learn that no more events will come.
	Lag <-chan struct{}
	lag chan struct{}
	// Live reports that this process's engine was driving the run when the
	// subscription was made: the run exists and was IN_PROGRESS, and its
	// run.finished or the close of Idle will come.
	Live bool
	// Idle is closed when a drive of the run in this process ends (the
	// run finished, waits on the outside, or another path won it).
	Idle <-chan struct{}
	idle chan struct{}

	idleClosed   bool // under hub.mu
	hub          *Hub
	runID        string
	onlyFinished bool
	lagged       bool // under hub.mu
	closed       bool // under hub.mu
}

// Subscribe implements Source.
func (h *Hub) Subscribe(runID string, onlyFinished bool) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count >= h.max {
		return nil, ErrFull
	}
	size := h.buffer
	if onlyFinished {
		size = 1
	}
	c := make(chan Event, size)
	lag := make(chan struct{})
	idle := make(chan struct{})
	s := &Subscription{C: c, c: c, Lag: lag, lag: lag, Idle: idle, idle: idle, Live: h.live[runID] > 0,
		hub: h, runID: runID, onlyFinished: onlyFinished}
	subs := h.runs[runID]
	if subs == nil {
		subs = map[*Subscription]struct{}{}
		h.runs[runID] = subs
	}
	subs[s] = struct{}{}
	h.count++
	return s, nil
}

// Done implements Source.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Close closes Done. Subscriptions stay usable (and must still be closed).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Driving reports whether this process's engine is driving the run now
// (between its engine.RunDriving and RunIdle).
func (h *Hub) Driving(runID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live[runID] > 0
}

// Watchers returns how many subscriptions are open.
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Publish hands ev to the run's subscribers without blocking. A subscriber
// whose buffer is full is marked lagged and dropped from the run.
func (h *Hub) Publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Kind == KindRunFinished {
		h.noteFinished(ev.RunID)
	}
	subs := h.runs[ev.RunID]
	for s := range subs {
		if s.onlyFinished && ev.Kind != KindRunFinished {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.lagged = true
			close(s.lag)
			delete(subs, s)
		}
	}
	if len(subs) == 0 && subs != nil {
		delete(h.runs, ev.RunID)
	}
}

// OnEngineEvent is Publish for an engine event, for the engine's OnEvent
// hook.
func (h *Hub) OnEngineEvent(ev engine.Event) {
	if h.Track(ev) {
		return
	}
	if e, ok := FromEngine(ev); ok {
		h.Publish(e)
	}
}

// Track records engine.RunDriving and RunIdle, which say which runs this
// process drives, and reports whether ev was one of them (it then goes no
// further: no watcher sees it and no other process hears of it).
func (h *Hub) Track(ev engine.Event) bool {
	switch ev.Kind {
	case engine.RunDriving:
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, done := h.finishedSet[ev.RunID]; !done {
			h.live[ev.RunID]++
		}
		return true
	case engine.RunIdle:
		h.mu.Lock()
		defer h.mu.Unlock()
		if n := h.live[ev.RunID] - 1; n > 0 {
			h.live[ev.RunID] = n
		} else {
			delete(h.live, ev.RunID)
		}
		for s := range h.runs[ev.RunID] {
			if !s.idleClosed {
				s.idleClosed = true
				close(s.idle)
			}
		}
		return true
	}
	return false
}

// noteFinished ends the run's liveness and remembers it as finished;
// h.mu must be held.
func (h *Hub) noteFinished(runID string) {
	delete(h.live, runID)
	if _, ok := h.finishedSet[runID]; ok {
		return
	}
	if old := h.finished[h.finishedNext]; old != "" {
		delete(h.finishedSet, old)
	}
	h.finished[h.finishedNext] = runID
	h.finishedSet[runID] = struct{}{}
	h.finishedNext = (h.finishedNext + 1) % recentFinished
}

// Lagged reports whether the subscription missed events because its buffer
// was full; it then receives nothing more.
func (s *Subscription) Lagged() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.lagged
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	h.count--
	subs := h.runs[s.runID]
	delete(subs, s)
	if subs != nil && len(subs) == 0 {
		delete(h.runs, s.runID)
	}
}
