package api

import (
	"context"
	"log/slog"
	"time"
)

// DefaultClaimInterval is Options.ClaimInterval when it is 0: how often a
// server that leases runs looks for runs no live process drives. A run of a
// process that died is taken over at most about the lease's length
// (engine.DefaultLeaseTTL) plus this after its last heartbeat.
const DefaultClaimInterval = 3 * time.Second

// leasing reports whether the server leases the runs it drives
// (Options.LeaseOwner on a store with store.LeaseStore).
func (s *Server) leasing() bool { return s.eng.LeaseOwner() != "" }

// resumeLeased is Resume for a server that shares its store with other
// processes: instead of driving every IN_PROGRESS run, it claims the runs
// nobody drives (left by a process that died, or whose driver gave up) now
// and every claim interval, and renews the leases of the runs it drives.
// Runs that wait on the outside are not claimed: whichever process receives
// the completion, or whose wait loop ends or polls the wait, drives on.
func (s *Server) resumeLeased() int {
	n := s.claim(s.exclusive)
	s.sweepOnce.Do(func() {
		s.startWaitLoop()
		s.startAutostart()
		if s.purgeEvery > 0 {
			s.purgeDone = make(chan struct{})
			go s.purgeTokensLoop()
		}
		s.beatDone = make(chan struct{})
		go func() {
			defer close(s.beatDone)
			s.eng.RunHeartbeat(s.bgCtx)
		}()
		s.sweepDone = make(chan struct{})
		go s.claimLoop()
	})
	return n
}

// claimLoop claims every s.claimEvery until Shutdown.
func (s *Server) claimLoop() {
	defer close(s.sweepDone)
	tick := time.NewTicker(s.claimEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.sweepStop:
			return
		case <-tick.C:
		}
		s.claim(false)
	}
}

// claim leases as many runs as there are free run slots, and drives them;
// it returns how many it claimed. left also takes the runs whose lease has
// not expired (Options.ExclusiveStore, at start).
func (s *Server) claim(left bool) int {
	free := cap(s.slots) - len(s.slots)
	if free <= 0 {
		return 0
	}
	claim := s.eng.ClaimRuns
	if left {
		claim = s.eng.ClaimLeftRuns
	}
	ids, err := claim(s.bgCtx, free)
	if err != nil {
		if s.bgCtx.Err() == nil {
			s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "claiming runs no process drives failed; trying again later", slog.String("error", err.Error()))
		}
		return 0
	}
	for _, id := range ids {
		s.log.LogAttrs(s.bgCtx, slog.LevelInfo, "took over a run no live process drove", slog.String("run", id))
		// A run without a slot stays leased until its lease expires, then
		// is claimed again (here or elsewhere).
		if !s.execute(id) {
			break
		}
	}
	return len(ids)
}

// releaseLeases drops the leases this process still holds once its drivers
// stopped, so that the other processes take its runs at their next claim.
func (s *Server) releaseLeases() {
	if !s.leasing() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.eng.ReleaseLeases(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "releasing run leases at shutdown failed; they expire by themselves", slog.String("error", err.Error()))
	}
}

// stopLeases waits for the heartbeat to stop (bgCtx is cancelled) and
// releases what is left.
func (s *Server) stopLeases() {
	if s.beatDone != nil {
		<-s.beatDone
	}
	s.releaseLeases()
}
