package api

import (
	"errors"
	"log/slog"

	"github.com/sluice-run/sluice/internal/engine"
)

// maxWakesPerCheck bounds the polls one check makes; the rest are made by
// the next checks, which follow at once.
const maxWakesPerCheck = 50

// wakeWaits polls, in the wait loop, the waiting node runs whose wake time
// has come (an INTEGRATION_ACTION following its provider's run), and drives
// on in the background the runs whose node completed. It reports whether
// the batch was full. On a store that keeps no wake times it logs once and
// does nothing from then on.
func (s *Server) wakeWaits() (more bool) {
	s.bgMu.Lock()
	closing, off := s.closing, s.wakesOff
	s.bgMu.Unlock()
	if closing || off {
		return false
	}
	runs, err := s.eng.WakeDue(s.bgCtx, maxWakesPerCheck)
	if errors.Is(err, engine.ErrWakesNotSupported) {
		s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "the store does not keep wake times; INTEGRATION_ACTION nodes that report their workflow's status fail")
		s.bgMu.Lock()
		s.wakesOff = true
		s.bgMu.Unlock()
		return false
	}
	if err != nil && s.bgCtx.Err() == nil {
		s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "polling waiting nodes failed; trying again later", slog.String("error", err.Error()))
	}
	for _, id := range runs {
		s.execute(id)
	}
	return len(runs) == maxWakesPerCheck && err == nil
}
