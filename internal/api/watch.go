package api

// Waiting for a run: GET /v1/workflows/runs/{wfr}?wait=30s (a long poll)
// and GET /v1/workflows/runs/{wfr}/events (Server-Sent Events). Both take
// the engine's progress events from a runevents.Source (in one process the
// Hub that OnEvent feeds) and read what they answer from the store, which
// holds only redacted run data; the events themselves carry identifiers and
// results, never outputs, logs or error text.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// MaxWait bounds the wait parameter of GET /v1/workflows/runs/{wfr}.
const MaxWait = 60 * time.Second

// sseHeartbeat is how often an idle event stream gets a comment line, so
// that proxies and clients see the connection alive.
const sseHeartbeat = 15 * time.Second

// eventsRoute is the event stream's route. It is matched before the mux
// (eventsPath), which refuses it next to GET
// /v1/workflows/{identifier}/nodes/{node}: both would match
// /v1/workflows/runs/nodes/events (a workflow cannot be called "runs": GET
// /v1/workflows/runs lists runs).
const eventsRoute = "GET /v1/workflows/runs/{wfr}/events"

// eventsPath reports whether r asks for a run's event stream, and which run.
func eventsPath(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/workflows/runs/")
	if !ok {
		return "", false
	}
	wfr, ok := strings.CutSuffix(rest, "/events")
	if !ok || wfr == "" || strings.Contains(wfr, "/") {
		return "", false
	}
	return wfr, true
}

// getRunParams are the query parameters GET /v1/workflows/runs/{wfr} takes.
var getRunParams = []string{"wait", "include"}

// parseWait reads the wait parameter: a Go duration ("30s", "1m", "500ms")
// or a whole number of seconds ("30"), from 0 to MaxWait. Absent is 0 (no
// wait).
func parseWait(q url.Values) (time.Duration, error) {
	vs := q["wait"]
	switch len(vs) {
	case 0:
		return 0, nil
	case 1:
	default:
		return 0, invalidField("wait", "give it once")
	}
	v := vs[0]
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil {
			return 0, invalidField("wait", "must be a duration such as 30s or a number of seconds, at most %s", MaxWait)
		}
		if n < 0 || n > int64(MaxWait/time.Second) {
			return 0, invalidField("wait", "must be between 0s and %s", MaxWait)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > MaxWait {
		return 0, invalidField("wait", "must be between 0s and %s", MaxWait)
	}
	return d, nil
}

// parseInclude reads the include parameter: "logs" or nothing.
func parseInclude(q url.Values) (logs bool, err error) {
	vals := queryList(q, "include")
	if err := oneOf("include", vals, "logs"); err != nil {
		return false, err
	}
	return len(vals) > 0, nil
}

// getRun answers a run with its node runs and outputs; their logs only with
// ?include=logs (nodeRunLogs is then empty, not missing). With ?wait= it
// answers as soon as the run is COMPLETED, or at the end of the wait with
// the run as it stands.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, getRunParams...); err != nil {
		return err
	}
	wait, err := parseWait(q)
	if err != nil {
		return err
	}
	logs, err := parseInclude(q)
	if err != nil {
		return err
	}
	runID := r.PathValue("wfr")
	// A long poll subscribes before it reads the run, so that a run that
	// finishes in between is seen by the read or by the subscription.
	var sub *runevents.Subscription
	if wait > 0 {
		if sub, err = s.events.Subscribe(runID, true); errors.Is(err, runevents.ErrFull) {
			return tooManyWatchers()
		} else if err != nil {
			return fmt.Errorf("watch run %s: %w", runID, err)
		}
		defer sub.Close()
	}
	if sub != nil && sub.Live && authz.CanViewAllRuns(a) {
		// This process drives the run: it exists and is IN_PROGRESS, and its
		// end or its drive's end will be published here. A caller who may
		// view every run waits without reading it first (one read of the
		// run fewer per waited run, 5 % of sluice's CPU under the load
		// harness, docs/performance.md "Fifth look").
		if s.liveWaited != nil {
			s.liveWaited()
		}
		deadline := time.Now().Add(wait)
		idle, err := s.awaitRun(r.Context(), sub, wait, sub.Idle, nil, "")
		if err != nil {
			return err
		}
		if !idle {
			v, err := s.loadRun(r.Context(), runID, logs)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, ok("workflowRun", v))
			return nil
		}
		// The drive ended without the run's end (it waits on the outside,
		// or another path finished it): wait the rest as any caller does.
		wait = max(time.Until(deadline), 0)
	}
	run, err := s.viewableRun(r.Context(), a, runID)
	if err != nil {
		return err
	}
	var v view.Run
	if wait > 0 && run.Status != store.StatusCompleted {
		if err := s.awaitStored(r.Context(), sub, runID, wait); err != nil {
			return err
		}
		v, err = s.loadRun(r.Context(), runID, logs)
	} else {
		// Nothing waited: the run just read is the one to show.
		v, err = view.LoadFrom(r.Context(), s.st, run, view.LoadOptions{Logs: logs, Definition: s.eng.Definition})
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ok("workflowRun", v))
	return nil
}

// tooManyWatchers is the 503 of a wait when the event source is full.
func tooManyWatchers() *Error {
	return apiErr(http.StatusServiceUnavailable, codeUnavailable, "too many requests are waiting for runs; retry in %s seconds", retryAfterSeconds)
}

// awaitRun returns once sub sees the run finish, d has passed, the server
// stops, (idle, true) idle is closed (the close of the subscription's Idle,
// or nil not to watch it), or a tick of recheck (nil: none) finds run runID
// COMPLETED in the store (watchrecheck.go). It holds no goroutine beyond
// the request's: one subscription with a one-event buffer (which cannot
// lag: it only takes run.finished, once).
func (s *Server) awaitRun(ctx context.Context, sub *runevents.Subscription, d time.Duration, idle <-chan struct{}, recheck <-chan time.Time, runID string) (bool, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-sub.C: // run.finished
		case <-sub.Lag:
		case <-timer.C:
		case <-s.hub.Done():
		case <-s.events.Done():
		case <-idle:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-recheck:
			if !s.finishedInStore(ctx, runID) {
				continue
			}
		}
		return false, nil
	}
}

// sseEvent is the data of one Server-Sent Event.
type sseEvent struct {
	Kind       string        `json:"kind"`
	Run        string        `json:"runIdentifier"`
	NodeRun    string        `json:"nodeRunIdentifier,omitempty"`
	Node       *view.NodeRef `json:"node,omitempty"`
	Result     *string       `json:"result"`
	identifier string
}

func newSSEEvent(e runevents.Event) sseEvent {
	out := sseEvent{Kind: e.Kind, Run: e.RunID, NodeRun: e.NodeRunID}
	if e.Result != "" {
		r := e.Result
		out.Result = &r
	}
	if e.NodeID != "" {
		out.Node = &view.NodeRef{Identifier: e.NodeID}
	}
	// Identifiers are stable: the same transition has the same id on every
	// connection, so that a client that reconnects drops what it has seen.
	if e.Kind == runevents.KindRunFinished {
		out.identifier = e.RunID + "/" + e.Kind
	} else {
		out.identifier = e.NodeRunID + "/" + e.Kind
	}
	return out
}

// snapshot returns the events that the run's stored state implies, in
// node-run order, and whether the run is COMPLETED.
func (s *Server) snapshot(ctx context.Context, runID string) ([]runevents.Event, bool, error) {
	run, err := s.st.GetRun(ctx, runID)
	if err != nil {
		return nil, false, fmt.Errorf("get run %s: %w", runID, err)
	}
	nrs, err := s.st.NodeRuns(ctx, runID)
	if err != nil {
		return nil, false, fmt.Errorf("node runs of %s: %w", runID, err)
	}
	var out []runevents.Event
	for _, nr := range nrs {
		base := runevents.Event{RunID: runID, NodeID: nr.NodeID, NodeRunID: nr.Identifier}
		if nr.Seq != 0 { // the trigger only ever finishes
			e := base
			e.Kind = runevents.KindNodeStarted
			out = append(out, e)
		}
		switch {
		case nr.Status == store.StatusCompleted:
			e := base
			e.Kind, e.Result = runevents.KindNodeFinished, nr.Result
			out = append(out, e)
		case nr.Waiting:
			e := base
			e.Kind = runevents.KindNodeWaiting
			out = append(out, e)
		}
	}
	done := run.Status == store.StatusCompleted
	if done {
		out = append(out, runevents.Event{Kind: runevents.KindRunFinished, RunID: runID, Result: run.Result})
	}
	return out, done, nil
}

// runEvents streams a run's progress as Server-Sent Events: first what the
// store holds (so a client that connects late, or reconnects, catches up),
// then each event as the engine reports it, until run.finished. A client
// too slow to read is skipped ahead: when its buffer of events overflows
// the stream continues from the store's state, sending the transitions it
// has not sent yet (a node's waiting, once completed, is then not sent).
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	runID := r.PathValue("wfr")
	if _, err := s.viewableRun(r.Context(), a, runID); err != nil {
		return err
	}
	sub, err := s.events.Subscribe(runID, false)
	if errors.Is(err, runevents.ErrFull) {
		return tooManyWatchers()
	}
	if err != nil {
		return fmt.Errorf("watch run %s: %w", runID, err)
	}
	defer func() { sub.Close() }()
	evs, done, err := s.snapshot(r.Context(), runID)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := map[string]bool{}
	send := func(evs []runevents.Event) (bool, error) {
		finished := false
		for _, e := range evs {
			se := newSSEEvent(e)
			if sent[se.identifier] {
				continue
			}
			sent[se.identifier] = true
			data, err := json.Marshal(se)
			if err != nil {
				return false, err
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", se.identifier, se.Kind, data); err != nil {
				return false, err
			}
			finished = finished || e.Kind == runevents.KindRunFinished
		}
		return finished, rc.Flush()
	}
	if _, err := send(evs); err != nil || done {
		return nil // a write error: the client went away
	}
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	recheck, stopRecheck := s.recheckTicker()
	defer stopRecheck()
	for {
		select {
		case e := <-sub.C:
			if finished, err := send([]runevents.Event{e}); err != nil || finished {
				return nil
			}
		case <-sub.Lag:
			sub.Close()
			next, err := s.events.Subscribe(runID, false)
			if err != nil {
				return nil // the stream already began: end it; the client reconnects
			}
			sub = next
			evs, done, err := s.snapshot(r.Context(), runID)
			if err != nil {
				return nil
			}
			if _, err := send(evs); err != nil || done {
				return nil
			}
		case <-recheck:
			// Another process may drive the run and its run.finished be
			// missed: once the store says COMPLETED, send what the stream
			// lacks from it.
			if !s.finishedInStore(r.Context(), runID) {
				continue
			}
			evs, _, err := s.snapshot(r.Context(), runID)
			if err != nil {
				return nil
			}
			_, _ = send(evs)
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-s.hub.Done():
			return nil
		case <-s.events.Done():
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}
