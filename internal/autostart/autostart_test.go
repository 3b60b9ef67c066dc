package autostart_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/autostart"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// clock is a controllable clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// process is one sluice process over the store file: an engine and a
// runner (runs are started, not executed).
func process(t *testing.T, st *sqlite.Store, clk *clock) *autostart.Runner {
	eng := engine.New(engine.Options{Store: st, Now: clk.now})
	return autostart.New(autostart.Options{Store: st, Catalog: st, Schedules: st, Engine: eng, Now: clk.now})
}

func saveWorkflow(t *testing.T, st store.Store, def string) {
	t.Helper()
	if _, err := st.CreateWorkflow(context.Background(), store.Workflow{Identifier: "wf", Definition: []byte(def), CreatedBy: "ann"}); err != nil {
		t.Fatal(err)
	}
}

func runCount(t *testing.T, st store.Store) int {
	t.Helper()
	_, n, err := st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScheduleFiresOncePerTickAcrossRestartsAndProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sluice.db")
	st := openStore(t, path)
	saveWorkflow(t, st, `{"identifier":"wf","nodes":[{"identifier":"tick","config":{"type":"SCHEDULE_TRIGGER","cron":"*/5 * * * *"}}],"connections":[]}`)
	clk := &clock{}
	clk.set(time.Date(2026, 3, 1, 10, 2, 0, 0, time.UTC))
	a := process(t, st, clk)
	fire := func(r *autostart.Runner) int {
		t.Helper()
		n, err := r.FireSchedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := fire(a); n != 0 {
		t.Fatalf("a new schedule fired at once: %d", n)
	}
	clk.set(time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC))
	// Two processes over the same store see the same tick: one run.
	b := process(t, openStore(t, path), clk)
	fire(a)
	fire(b)
	fire(a)
	if n := runCount(t, st); n != 1 {
		t.Fatalf("%d runs after the 10:05 tick, want 1", n)
	}
	// Restart: a new process over a reopened store. The 10:10 tick was
	// missed while down; at 10:13 it is less than one period old: fires once.
	st.Close()
	st = openStore(t, path)
	defer st.Close()
	clk.set(time.Date(2026, 3, 1, 10, 13, 0, 0, time.UTC))
	c := process(t, st, clk)
	fire(c)
	fire(c)
	if n := runCount(t, st); n != 2 {
		t.Fatalf("%d runs after the restart, want 2", n)
	}
	// Down for an hour: the missed ticks are older than one period except
	// the last, which fires; none of the others does.
	clk.set(time.Date(2026, 3, 1, 11, 16, 0, 0, time.UTC))
	fire(c)
	if n := runCount(t, st); n != 3 {
		t.Fatalf("%d runs after an hour down, want 3 (only the 11:15 tick)", n)
	}
	clk.set(time.Date(2026, 3, 1, 11, 21, 0, 0, time.UTC))
	fire(c)
	rs, _, _ := st.ListRuns(ctx, store.RunFilter{})
	if len(rs) != 4 || rs[0].CreatedBy != autostart.Actor {
		t.Fatalf("runs = %+v", rs)
	}
	// 11:25 and 11:30 were missed while down; only 11:35, less than one
	// period old at 11:36, fires.
	clk.set(time.Date(2026, 3, 1, 11, 36, 0, 0, time.UTC))
	fire(c)
	if n := runCount(t, st); n != 5 {
		t.Fatalf("%d runs, want 5", n)
	}
}

func TestUnpublishedScheduleDoesNotFire(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	saveWorkflow(t, st, `{"identifier":"wf","nodes":[{"identifier":"tick","config":{"type":"SCHEDULE_TRIGGER","cron":"* * * * *","published":false}}],"connections":[]}`)
	clk := &clock{}
	clk.set(time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC))
	r := process(t, st, clk)
	for range 3 {
		if _, err := r.FireSchedules(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Minute)
	}
	if n := runCount(t, st); n != 0 {
		t.Fatalf("an unpublished schedule started %d runs", n)
	}
}

func TestTimerExpired(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "sluice.db"))
	defer st.Close()
	clk := &clock{}
	clk.set(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	cat := catalog.New(st, catalog.Options{Now: clk.now})
	if _, err := cat.CreateBlueprint(ctx, catalog.Blueprint{Identifier: "env", Schema: catalog.Schema{Properties: map[string]map[string]any{
		"ttl": {"type": "string", "format": "timer"}}}}, "ann"); err != nil {
		t.Fatal(err)
	}
	saveWorkflow(t, st, `{"identifier":"wf","nodes":[{"identifier":"expired","config":{"type":"EVENT_TRIGGER","event":{"type":"TIMER_EXPIRED","blueprintIdentifier":"env","propertyIdentifier":"ttl"}}}],"connections":[]}`)
	title := "Dev"
	if _, err := cat.WriteEntity(ctx, "env", catalog.EntityInput{Identifier: "dev", Title: &title, Properties: map[string]any{"ttl": "2026-03-01T12:00:00Z"}}, catalog.Create, catalog.Origin{Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	r := process(t, st, clk)
	step := func() {
		t.Helper()
		for {
			more, err := r.Step(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !more {
				return
			}
		}
	}
	step()
	if n := runCount(t, st); n != 0 {
		t.Fatalf("%d runs before the timer expired (the CREATE event matches no trigger)", n)
	}
	clk.set(time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC))
	step()
	step()
	rs, _, err := st.ListRuns(ctx, store.RunFilter{})
	if err != nil || len(rs) != 1 {
		t.Fatalf("runs after expiry = %v, %v; want 1", rs, err)
	}
	nrs, _ := st.NodeRuns(ctx, rs[0].Identifier)
	if got := string(nrs[0].Output.Bytes()); !strings.Contains(got, `"action":"TIMER_EXPIRED"`) || !strings.Contains(got, `"identifier":"dev"`) {
		t.Errorf("trigger output = %s", got)
	}
}
