package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/store"
)

// TestRunPoolFullAnswers503: with every run slot taken, run creation answers
// 503 with Retry-After and creates nothing; once the slot frees, it works.
func TestRunPoolFullAnswers503(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(o *Options) { o.MaxRunning = 1 })
	release := make(chan struct{})
	slow := newSlowReceiver(t, release)
	e.createWorkflow(workflowDef("deploy", true, slow.URL+"/sync", nil, nil))
	first := e.start("deploy", e.admin)
	<-slow.arrived // the first run's driver holds the one slot
	full := e.do("POST", "/v1/workflows/deploy/runs", e.admin, map[string]any{"inputs": map[string]any{"env": "prod"}}).expect(t, http.StatusServiceUnavailable)
	if full.header.Get("Retry-After") == "" || full.body["error"] != codeUnavailable || !strings.Contains(full.raw, "nothing was created") {
		t.Errorf("503 = %v %s", full.header, full.raw)
	}
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Identifier != first {
		t.Errorf("runs stored = %d, want only the first", len(runs))
	}
	close(release)
	e.completed(first)
	waitFor(t, "the slot to free", func() bool { return e.srv.Running() == 0 })
	e.completed(e.start("deploy", e.admin))
}

// TestLongLoopKeepsCountsFlat issues tokens, saves versions and runs
// workflows 300 times, and measures what the process holds: the number of
// goroutines, the engine's caches and maps, and the expired tokens, which
// the periodic purge deletes. Counts are measured, not times.
func TestLongLoopKeepsCountsFlat(t *testing.T) {
	var logs syncBuffer
	const maxDefs = 8
	e := newEnvWith(t, func(o *Options) {
		o.MaxRunning = 4
		o.MaxDefinitions = maxDefs
		o.TokenPurgeInterval = time.Millisecond
		o.SweepInterval = -1
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if _, err := e.srv.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	def := workflowDef("loop", true, e.rcv.URL+"/sync", nil, nil)
	e.createWorkflow(def)
	var tokens []string
	baseline := 0
	const rounds = 300
	for i := range rounds {
		tok := e.token(e.adminCred)
		tokens = append(tokens, tok)
		def["title"] = fmt.Sprintf("round %d", i)
		e.do("PUT", "/v1/workflows/loop", tok, def).expect(t, http.StatusOK)
		e.completed(e.start("loop", tok))
		if i == 20 {
			baseline = settledGoroutines(t, e)
		}
	}
	end := settledGoroutines(t, e)
	// Goroutines of HTTP keep-alive (the test client's and the webhook
	// executor's) come and go; a leak of one per run, token or save would
	// add 280 or more.
	if end > baseline+50 {
		t.Errorf("goroutines: %d after 20 rounds, %d after %d", baseline, end, rounds)
	}
	if s := e.srv.Engine().Stats(); s.Definitions > maxDefs || s.Redactors != 0 || s.Started != 0 || s.Locks != 0 {
		t.Errorf("engine after %d rounds: %+v, want at most %d definitions and nothing else", rounds, s, maxDefs)
	}
	// Every token expires; the purge deletes them without a restart.
	e.clk.advance(2 * e.auth.TokenTTL())
	waitFor(t, "the purge of expired tokens", func() bool {
		for _, tok := range tokens {
			if _, err := e.st.GetToken(context.Background(), auth.Hash(tok)); !errors.Is(err, store.ErrNotFound) {
				return false
			}
		}
		return true
	})
	if !strings.Contains(logs.String(), "purged") {
		t.Errorf("the purge left no log line: %s", logs.String())
	}
}

// settledGoroutines waits until no run is driven and returns the number of
// goroutines then.
func settledGoroutines(t *testing.T, e *env) int {
	t.Helper()
	waitFor(t, "every driver to return", func() bool { return e.srv.Running() == 0 })
	e.client.http.CloseIdleConnections()
	// Connections closing and timers firing end their goroutines a moment
	// later (much later under the race detector on a busy machine): take
	// the lowest count seen over a short while.
	low := runtime.NumGoroutine()
	for range 50 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		low = min(low, runtime.NumGoroutine())
	}
	return low
}

// waitFor waits until cond holds; the deadline is a hang guard, not a
// timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
