package runevents

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestPGRelayNeverDropsRunFinished holds the sending relay's only pool
// connection, so that its sender is stuck while more node events come than
// it may keep: those past the bound are dropped, the run.finished that comes
// after them is not, and it reaches the other process once the sender can
// go on.
func TestPGRelayNeverDropsRunFinished(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	relay := func(maxConns int32) *PGRelay {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = maxConns
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		r, err := NewPGRelay(ctx, url, pool, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	a, b := relay(1), relay(4)
	const keep, nodeEvents = 3, 10
	a.mu.Lock()
	a.maxNodes = keep
	a.mu.Unlock()

	done, err := b.Subscribe("wfr_x", true)
	if err != nil {
		t.Fatal(err)
	}
	defer done.Close()
	held, err := a.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodeEvents {
		a.OnEngineEvent(engine.Event{Kind: engine.NodeStarted, RunID: "wfr_x", NodeID: "n", NodeRunID: "wfnr_" + string(rune('a'+i)), Type: "WEBHOOK"})
	}
	a.OnEngineEvent(engine.Event{Kind: engine.RunFinished, RunID: "wfr_x", Result: "SUCCESS"})
	// The sender may have taken one batch before it blocked on the held
	// connection, and a batch comes from pending, which never holds more
	// than keep node events: between keep and 2*keep were kept.
	if got := a.Dropped(); got < nodeEvents-2*keep || got > nodeEvents-keep {
		t.Errorf("Dropped() = %d, want %d to %d", got, nodeEvents-2*keep, nodeEvents-keep)
	}
	held.Release()
	select {
	case ev := <-done.C:
		if ev.Kind != KindRunFinished || ev.RunID != "wfr_x" || ev.Result != "SUCCESS" {
			t.Errorf("got %+v", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run.finished never reached the other process")
	}
	if got := a.RecheckEvery(); got != DefaultRecheck {
		t.Errorf("RecheckEvery() = %v, want %v", got, DefaultRecheck)
	}
}
