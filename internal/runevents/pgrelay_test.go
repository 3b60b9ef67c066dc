package runevents_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestPGRelayAcrossProcesses plays two processes, each with its relay, on
// one PostgreSQL database: what one process's engine reports reaches the
// watchers of the other through NOTIFY, and its own watchers once, at once.
func TestPGRelayAcrossProcesses(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	relay := func() *runevents.PGRelay {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		r, err := runevents.NewPGRelay(ctx, url, pool, nil, runevents.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	a, b := relay(), relay()

	remoteAll, err := b.Subscribe("wfr_1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer remoteAll.Close()
	remoteDone, err := b.Subscribe("wfr_1", true)
	if err != nil {
		t.Fatal(err)
	}
	defer remoteDone.Close()
	local, err := a.Subscribe("wfr_1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	other, err := b.Subscribe("wfr_2", false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	a.OnEngineEvent(engine.Event{Kind: engine.NodeStarted, RunID: "wfr_1", NodeID: "call", NodeRunID: "wfnr_1", Type: "WEBHOOK"})
	a.OnEngineEvent(engine.Event{Kind: engine.RunFinished, RunID: "wfr_1", Result: "SUCCESS"})

	next := func(what string, s *runevents.Subscription) runevents.Event {
		t.Helper()
		select {
		case ev := <-s.C:
			return ev
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no event", what)
		}
		return runevents.Event{}
	}
	for _, tc := range []struct {
		name string
		sub  *runevents.Subscription
		want []runevents.Event
	}{
		{"another process, every event", remoteAll, []runevents.Event{
			{Kind: runevents.KindNodeStarted, RunID: "wfr_1", NodeID: "call", NodeRunID: "wfnr_1", Type: "WEBHOOK"},
			{Kind: runevents.KindRunFinished, RunID: "wfr_1", Result: "SUCCESS"}}},
		{"another process, run.finished only", remoteDone, []runevents.Event{
			{Kind: runevents.KindRunFinished, RunID: "wfr_1", Result: "SUCCESS"}}},
		{"this process", local, []runevents.Event{
			{Kind: runevents.KindNodeStarted, RunID: "wfr_1", NodeID: "call", NodeRunID: "wfnr_1", Type: "WEBHOOK"},
			{Kind: runevents.KindRunFinished, RunID: "wfr_1", Result: "SUCCESS"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				if got := next(tc.name, tc.sub); got != want {
					t.Errorf("event %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	// A marker sent after the events above: once it arrived at b, nothing
	// more for wfr_1 (a's own echo, a duplicate) can be on its way.
	a.OnEngineEvent(engine.Event{Kind: engine.RunFinished, RunID: "wfr_2", Result: "FAILED"})
	if got := next("marker", other); got.RunID != "wfr_2" {
		t.Fatalf("marker = %+v", got)
	}
	for _, s := range []*runevents.Subscription{remoteAll, local} {
		select {
		case ev := <-s.C:
			t.Errorf("an event delivered twice: %+v", ev)
		default:
		}
	}
	if a.Dropped() != 0 {
		t.Errorf("dropped %d events", a.Dropped())
	}

	// Close ends Done, and events after it are ignored.
	a.Close()
	select {
	case <-a.Done():
	default:
		t.Error("Done is open after Close")
	}
	a.OnEngineEvent(engine.Event{Kind: engine.RunFinished, RunID: "wfr_3"})
}
