package api

// Waiting for a run whose end may be missed: with a source fed by other
// processes (runevents.PGRelay), a run.finished can be lost (the listener
// reconnecting, a failed NOTIFY), so a watcher of a run this process does
// not drive also re-reads the run's status every so often, and a missed
// end costs at most that long instead of the whole wait (decision 033).

import (
	"context"
	"time"

	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/store"
)

// rechecker is a runevents.Source that may miss a run's end and says how
// often its watchers should read the run's status instead
// (runevents.PGRelay).
type rechecker interface {
	RecheckEvery() time.Duration
}

// recheckEvery returns how often a watcher re-reads the status of a run
// this process does not drive; 0 when the source misses nothing (the
// in-process hub).
func (s *Server) recheckEvery() time.Duration {
	if rc, ok := s.events.(rechecker); ok {
		return max(rc.RecheckEvery(), 0)
	}
	return 0
}

// recheckTicker returns a ticker's channel every recheckEvery and the
// function that stops it; a nil channel (never ready) when the source
// misses nothing.
func (s *Server) recheckTicker() (<-chan time.Time, func()) {
	every := s.recheckEvery()
	if every == 0 {
		return nil, func() {}
	}
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// finishedInStore reports whether a recheck finds the run COMPLETED in the
// store. A run this process drives is not read: its end is published here.
// A failed read reports false: the watcher keeps waiting, and reads the run
// again at its next recheck or its deadline.
func (s *Server) finishedInStore(ctx context.Context, runID string) bool {
	if s.hub.Driving(runID) {
		return false
	}
	run, err := s.st.GetRun(ctx, runID)
	if err != nil || run.Status != store.StatusCompleted {
		return false
	}
	s.metrics.rechecked.Inc()
	return true
}

// awaitStored is awaitRun (no Idle) for a run that another process may
// drive: it also returns when a recheck finds the run COMPLETED in the
// store.
func (s *Server) awaitStored(ctx context.Context, sub *runevents.Subscription, runID string, d time.Duration) error {
	recheck, stop := s.recheckTicker()
	defer stop()
	_, err := s.awaitRun(ctx, sub, d, nil, recheck, runID)
	return err
}
