package api

import (
	"log/slog"
	"time"

	"github.com/sluice-run/sluice/internal/autostart"
	"github.com/sluice-run/sluice/internal/store"
)

// DefaultAutostartInterval is Options.AutostartInterval when it is 0: how
// often the server looks for due timers and schedules (catalog writes of
// this process wake it at once).
const DefaultAutostartInterval = time.Second

// autostartState is the loop that starts the runs of EVENT_TRIGGER and
// SCHEDULE_TRIGGER workflows.
type autostartState struct {
	runner *autostart.Runner
	every  time.Duration
	wake   chan struct{} // a catalog write committed an event
	done   chan struct{} // closed when the loop returned
}

// initAutostart builds the runner when the server has a catalog or its
// store keeps schedules.
func (s *Server) initAutostart(every time.Duration) {
	if every < 0 {
		return
	}
	if every == 0 {
		every = DefaultAutostartInterval
	}
	o := autostart.Options{Store: s.st, Engine: s.eng, Execute: func(runID string) { s.execute(runID) }, Logger: s.log}
	if s.catalog != nil {
		o.Catalog = s.catalog.Store()
	}
	if ss, ok := s.st.(store.ScheduleStore); ok {
		o.Schedules = ss
	}
	if o.Catalog == nil && o.Schedules == nil {
		return
	}
	s.auto = autostartState{runner: autostart.New(o), every: every, wake: make(chan struct{}, 1)}
	if s.catalog != nil {
		s.catalog.SetOnEvent(s.wakeAutostart)
	}
}

// wakeAutostart asks the loop to look at the outbox now.
func (s *Server) wakeAutostart() {
	select {
	case s.auto.wake <- struct{}{}:
	default:
	}
}

// startAutostart starts the loop; called once, by Resume.
func (s *Server) startAutostart() {
	if s.auto.runner == nil {
		return
	}
	s.auto.done = make(chan struct{})
	go s.autostartLoop()
}

// autostartLoop steps the runner at once, then on every wake and tick,
// until Shutdown.
func (s *Server) autostartLoop() {
	defer close(s.auto.done)
	tick := time.NewTicker(s.auto.every)
	defer tick.Stop()
	for {
		for {
			s.bgMu.Lock()
			closing := s.closing
			s.bgMu.Unlock()
			if closing {
				return
			}
			more, err := s.auto.runner.Step(s.bgCtx)
			if err != nil && s.bgCtx.Err() == nil {
				s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "starting runs from catalog events or schedules failed; trying again later", slog.String("error", err.Error()))
			}
			if !more {
				break
			}
		}
		select {
		case <-s.sweepStop:
			return
		case <-s.auto.wake:
		case <-tick.C:
		}
	}
}
