package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"
)

// DefaultMaxRunning is Options.MaxRunning when it is 0.
const DefaultMaxRunning = 256

// DefaultTokenPurgeInterval is Options.TokenPurgeInterval when it is 0.
const DefaultTokenPurgeInterval = 10 * time.Minute

// Background run execution is a bounded pool: every run this server drives
// holds one of Options.MaxRunning slots for as long as its driver runs, so
// the goroutines that drive runs never outnumber the slots, however many
// runs are created, resumed, swept or completed.
//
//   - Run creation takes its slot before the run is created: when none is
//     free it answers 503 with Retry-After and creates nothing.
//   - An outside completion that finds no free slot leaves the run to the
//     sweep of stalled runs, which drives it once a slot frees (the
//     completion itself is committed).
//   - Resume, the sweep and the wait loop wait for a slot, each in its one
//     goroutine, and stop waiting at Shutdown; a run they did not get to
//     stays IN_PROGRESS in the store for the next start.

// trySlot takes a slot if one is free.
func (s *Server) trySlot() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// waitSlot takes a slot, waiting for one until Shutdown; false at Shutdown.
func (s *Server) waitSlot() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.sweepStop:
		return false
	}
}

func (s *Server) releaseSlot() { <-s.slots }

// drive runs the run's driver in the background on a slot the caller took,
// tracked for Shutdown, and gives the slot back when the driver returns.
// After Shutdown began it starts nothing: the slot is given back, the
// engine drops what it kept for the run, and the run resumes at the next
// start. With sweep set the driver is Engine.ExecuteIfIdle.
func (s *Server) drive(runID string, sweep bool) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closing {
		s.releaseSlot()
		s.eng.Abandon(runID)
		return false
	}
	s.bg.Go(func() {
		defer s.releaseSlot()
		defer s.survivePanic(runID)
		if !sweep {
			if _, err := s.eng.Execute(s.bgCtx, runID); err != nil && s.bgCtx.Err() == nil {
				s.log.LogAttrs(s.bgCtx, slog.LevelError, "run execution stopped", slog.String("run", runID), slog.String("error", err.Error()))
			}
			return
		}
		_, driven, err := s.eng.ExecuteIfIdle(s.bgCtx, runID)
		switch {
		case err != nil && s.bgCtx.Err() == nil:
			s.log.LogAttrs(s.bgCtx, slog.LevelError, "run execution stopped", slog.String("run", runID), slog.String("error", err.Error()))
		case driven:
			s.log.LogAttrs(s.bgCtx, slog.LevelInfo, "swept a stalled run", slog.String("run", runID))
		}
	})
	return true
}

// busy is the 503 of a run creation that found every slot taken.
func (s *Server) busy() *Error {
	return apiErr(http.StatusServiceUnavailable, codeUnavailable,
		"the server already drives %d runs, its limit (--max-running); nothing was created: retry in %s seconds", cap(s.slots), retryAfterSeconds)
}

// Running returns how many runs this server drives in the background now.
func (s *Server) Running() int { return len(s.slots) }

// purgeTokensLoop deletes the expired access tokens every s.purgeEvery
// until Shutdown, so that the token table does not grow with every token
// ever issued. Started by Resume.
func (s *Server) purgeTokensLoop() {
	defer close(s.purgeDone)
	tick := time.NewTicker(s.purgeEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.sweepStop:
			return
		case <-tick.C:
		}
		s.purgeTokens(s.bgCtx)
	}
}

// purgeTokens deletes the expired access tokens once.
func (s *Server) purgeTokens(ctx context.Context) {
	n, err := s.auth.DeleteExpired(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.LogAttrs(ctx, slog.LevelWarn, "purging expired access tokens failed; trying again later", slog.String("error", err.Error()))
	case n > 0:
		s.log.LogAttrs(ctx, slog.LevelInfo, fmt.Sprintf("purged %d expired access tokens", n))
	}
}

// survivePanic, deferred by a run's driver, recovers a panic of the engine
// outside any node (a node's own panic fails its node run, in the engine):
// the process keeps serving its other runs instead of dying with them, and
// the run stays as it was committed, to be driven again by the sweep or the
// next start. The log has the stack and the panic's type; its value, which
// may quote run data the API cannot redact here, only when it is a runtime
// error (whose text the runtime writes: no data).
func (s *Server) survivePanic(runID string) {
	v := recover()
	if v == nil {
		return
	}
	what := fmt.Sprintf("%T", v)
	if re, ok := v.(runtime.Error); ok {
		what = re.Error()
	}
	s.log.LogAttrs(context.Background(), slog.LevelError, "a run's driver panicked: this is a bug in sluice; the run stays as committed and is driven again later",
		slog.String("run", runID), slog.String("panic", what), slog.String("stack", string(debug.Stack())))
}
