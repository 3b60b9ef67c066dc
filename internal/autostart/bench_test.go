//go:build unix

package autostart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/autostart"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// benchStore is what the benchmark needs of a store: runs, the catalog
// and schedules, as the server's loop has them.
type benchStore interface {
	store.Store
	store.CatalogStore
	store.ScheduleStore
}

// benchEntities is how many service entities the writes cycle over: every
// timed write is an update, with a before and an after in its event.
const benchEntities = 100

// onServiceChange is an EVENT_TRIGGER workflow that matches every update
// of a service (its condition is true for each write the benchmark makes),
// with no node after the trigger: its run is the trigger's alone.
const onServiceChange = `{"identifier": "on-change", "nodes": [
	{"identifier": "trigger", "config": {"type": "EVENT_TRIGGER",
		"event": {"type": "ENTITY_UPDATED", "blueprintIdentifier": "service"},
		"condition": {"type": "JQ", "expressions": [".diff.after.properties.n != .diff.before.properties.n"], "combinator": "and"}}}],
	"connections": []}`

// benchBackends are the stores the benchmark runs on: a SQLite file in a
// temporary directory always, and PostgreSQL (a schema of its own) when
// SLUICE_TEST_DATABASE_URL names a server (make bench-postgres, or
// scripts/with-postgres.sh).
func benchBackends() []struct {
	name string
	open func(b *testing.B) benchStore
} {
	out := []struct {
		name string
		open func(b *testing.B) benchStore
	}{{"sqlite", func(b *testing.B) benchStore {
		st, err := sqlitetest.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}}}
	if os.Getenv(pgtest.EnvURL) != "" {
		out = append(out, struct {
			name string
			open func(b *testing.B) benchStore
		}{"postgres", func(b *testing.B) benchStore {
			st, err := postgres.Open(context.Background(), pgtest.URL(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}})
	}
	return out
}

// BenchmarkCatalogWrite measures catalog writes per second as the server
// makes them: one entity update through the catalog (validation, the
// entity and its outbox event in one transaction), then one step of the
// autostart loop (catalog.Service wakes it on each write), which drains
// the event. The subcases, in this order, on the same store kind:
//
//   - no-trigger: no workflow listens; the step marks the event done.
//     This is the baseline.
//   - trigger: one published EVENT_TRIGGER workflow matches every write;
//     the step evaluates its jq condition and starts one run per write
//     (committed, not driven).
//   - trigger+run: the same, and the run is driven to its end at once
//     (its only node is the trigger), as the server's Execute would.
//
// writes/s is b.N over the elapsed time; cpu-µs/op is the process's user
// and system CPU time per write (getrusage), which other load on a shared
// machine disturbs far less than the elapsed time. After the loop each
// subcase checks that it started exactly one run per write and left no
// event in the outbox.
func BenchmarkCatalogWrite(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name     string
		workflow string
		drive    bool
	}{
		{"no-trigger", "", false},
		{"trigger", onServiceChange, false},
		{"trigger+run", onServiceChange, true},
	}
	for _, be := range benchBackends() {
		for _, tc := range cases {
			b.Run(be.name+"/"+tc.name, func(b *testing.B) {
				st := be.open(b)
				cat := catalog.New(st, catalog.Options{})
				var bp catalog.Blueprint
				if err := json.Unmarshal([]byte(`{"identifier": "service", "schema": {"properties": {
					"stage": {"type": "string", "enum": ["dev", "prod"]}, "n": {"type": "number"}}, "required": ["stage"]}}`), &bp); err != nil {
					b.Fatal(err)
				}
				if _, err := cat.CreateBlueprint(ctx, bp, "bench"); err != nil {
					b.Fatal(err)
				}
				o := catalog.Origin{Actor: "usr_bench"}
				for i := range benchEntities {
					in := catalog.EntityInput{Identifier: fmt.Sprintf("svc-%d", i), Properties: map[string]any{"stage": "dev", "n": -1}}
					if _, err := cat.WriteEntity(ctx, "service", in, catalog.Create, o); err != nil {
						b.Fatal(err)
					}
				}
				if tc.workflow != "" {
					if _, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: "on-change", Definition: []byte(tc.workflow), CreatedBy: "usr_bench"}); err != nil {
						b.Fatal(err)
					}
				}
				eng := engine.New(engine.Options{Store: st, Nodes: node.NewRegistry()})
				opts := autostart.Options{Store: st, Catalog: st, Schedules: st, Engine: eng}
				if tc.drive {
					opts.Execute = func(runID string) {
						if _, err := eng.Execute(ctx, runID); err != nil {
							b.Error(err)
						}
					}
				}
				r := autostart.New(opts)
				// The creates above are drained before the clock starts.
				for more := true; more; {
					var err error
					if more, err = r.Step(ctx); err != nil {
						b.Fatal(err)
					}
				}
				_, runsBefore, err := st.ListRuns(ctx, store.RunFilter{})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				cpu0 := cpuTime(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					in := catalog.EntityInput{Identifier: fmt.Sprintf("svc-%d", i%benchEntities), Properties: map[string]any{"stage": "prod", "n": i}}
					if _, err := cat.WriteEntity(ctx, "service", in, catalog.UpsertMerge, o); err != nil {
						b.Fatal(err)
					}
					if _, err := r.Step(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				_, runsAfter, err := st.ListRuns(ctx, store.RunFilter{})
				if err != nil {
					b.Fatal(err)
				}
				want := 0
				if tc.workflow != "" {
					want = b.N
				}
				if got := runsAfter - runsBefore; got != want {
					b.Fatalf("%d writes started %d runs, want %d", b.N, got, want)
				}
				if tc.drive {
					rs, _, err := st.ListRuns(ctx, store.RunFilter{Statuses: []string{store.StatusInProgress}})
					if err != nil {
						b.Fatal(err)
					}
					if len(rs) != 0 {
						b.Fatalf("%d runs still in progress after being driven", len(rs))
					}
				}
				pending, err := st.PendingCatalogEvents(ctx, 10)
				if err != nil {
					b.Fatal(err)
				}
				if len(pending) != 0 {
					b.Fatalf("%d catalog events left in the outbox", len(pending))
				}
			})
		}
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
