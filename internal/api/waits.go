package api

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
)

// DefaultWaitCheckInterval is Options.WaitCheckInterval when it is 0: a
// wait ends at most about this long after its deadline.
const DefaultWaitCheckInterval = time.Second

// maxExpiredPerCheck bounds the waits one check ends; the rest are ended by
// the next checks, which follow at once.
const maxExpiredPerCheck = 100

// startWaitLoop starts the one loop that ends the waits past their deadline
// (a KAFKA node nobody completed, an async WEBHOOK with timeoutSeconds).
// The deadlines live in the store, so a wait whose deadline passed while no
// server ran ends at the first check after the next start. Called once, by
// Resume.
func (s *Server) startWaitLoop() {
	if s.waitEvery < 0 {
		return
	}
	s.waitDone = make(chan struct{})
	go s.waitLoop()
}

// waitLoop checks for expired waits at once, then every s.waitEvery, until
// Shutdown.
func (s *Server) waitLoop() {
	defer close(s.waitDone)
	tick := time.NewTicker(s.waitEvery)
	defer tick.Stop()
	for {
		for {
			more, unsupported := s.expireWaits()
			if unsupported {
				return
			}
			if !more {
				break
			}
		}
		s.deliverDecisions()
		for s.wakeWaits() {
		}
		select {
		case <-s.sweepStop:
			return
		case <-tick.C:
		}
	}
}

// expireWaits ends one batch of expired waits and drives their runs on in
// the background. It reports whether the batch was full, and whether the
// store keeps no deadlines at all (then the loop stops).
func (s *Server) expireWaits() (more, unsupported bool) {
	s.bgMu.Lock()
	closing := s.closing
	s.bgMu.Unlock()
	if closing {
		return false, false
	}
	runs, err := s.eng.ExpireDue(s.bgCtx, maxExpiredPerCheck)
	if errors.Is(err, engine.ErrWaitsNotSupported) {
		s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "the store does not keep wait deadlines; timeoutSeconds of waiting nodes is not applied")
		return false, true
	}
	if err != nil && s.bgCtx.Err() == nil {
		s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "ending expired waits failed; trying again later", slog.String("error", err.Error()))
	}
	for _, id := range runs {
		s.log.LogAttrs(s.bgCtx, slog.LevelInfo, "a waiting node reached its deadline", slog.String("run", id))
		if !s.executeWait(id) {
			return false, false
		}
	}
	return len(runs) == maxExpiredPerCheck && err == nil, false
}
