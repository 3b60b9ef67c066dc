package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testCreation checks store.RunCreator, for stores that implement it;
// others skip it.
func testCreation(t *testing.T, open opener) {
	if _, ok := open(t).(store.RunCreator); !ok {
		t.Skip("the store does not implement store.RunCreator")
	}
	// creation is a run created with its trigger's node run (completed),
	// a condition evaluated at once and the first node to execute.
	creation := func(id string) store.Creation {
		trigger := newNodeRun(id+"_0", id, "trigger", 0, 0)
		trigger.Status, trigger.Result, trigger.CompletedAt = store.StatusCompleted, store.ResultSuccess, ptr(at(0))
		trigger.Output = redact.Reload([]byte(`{"env":"prod"}`))
		cond := newNodeRun(id+"_1", id, "route", 1, 0)
		cond.Status, cond.Result, cond.CompletedAt, cond.Attempts = store.StatusCompleted, store.ResultSuccess, ptr(at(0)), 1
		cond.Output = redact.Reload([]byte(`{"selectedOutlet":{"identifier":"prod"}}`))
		next := newNodeRun(id+"_2", id, "deploy", 2, 0)
		next.Attempts = 1
		return store.Creation{
			Run:      newRun(id, "deploy", "ann", 0),
			NodeRuns: []store.NodeRun{trigger, cond, next},
			Logs:     []store.Log{logLine(cond.Identifier, "took prod", 0)},
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, rc store.RunCreator)
	}{
		{"AllInOneTransaction", func(t *testing.T, s store.Store, rc store.RunCreator) {
			c := creation("wfr_a")
			must(t, "CreateRunWith", rc.CreateRunWith(ctx(t), c))
			run, err := s.GetRun(ctx(t), "wfr_a")
			must(t, "GetRun", err)
			checkRun(t, "run", run, c.Run)
			nrs, err := s.NodeRuns(ctx(t), "wfr_a")
			must(t, "NodeRuns", err)
			if len(nrs) != len(c.NodeRuns) {
				t.Fatalf("NodeRuns = %d, want %d", len(nrs), len(c.NodeRuns))
			}
			for i := range nrs {
				checkNodeRun(t, c.NodeRuns[i].NodeID, nrs[i], c.NodeRuns[i])
			}
			logs, err := s.Logs(ctx(t), "wfr_a_1")
			must(t, "Logs", err)
			checkLogs(t, "logs of the condition", logs, c.Logs)
		}},
		{"Leased", func(t *testing.T, s store.Store, _ store.RunCreator) {
			ls, ok := s.(store.LeaseStore)
			if !ok {
				t.Skip("the store does not implement store.LeaseStore")
			}
			c := creation("wfr_l")
			c.Lease = &store.Lease{Owner: "proc-a", Until: at(10)}
			must(t, "CreateRunWith", s.(store.RunCreator).CreateRunWith(ctx(t), c))
			l, err := ls.GetLease(ctx(t), "wfr_l")
			must(t, "GetLease", err)
			if l.Owner != "proc-a" || !near(l.Until, at(10)) {
				t.Errorf("lease = %+v, want proc-a until %v", l, at(10))
			}
			c = creation("wfr_e")
			c.Lease = &store.Lease{Until: at(10)}
			if err := s.(store.RunCreator).CreateRunWith(ctx(t), c); err == nil {
				t.Error("CreateRunWith with a lease without owner succeeded")
			}
			if _, err := s.GetRun(ctx(t), "wfr_e"); err == nil {
				t.Error("a refused creation stored its run")
			}
		}},
		{"RefusedWritesNothing", func(t *testing.T, s store.Store, rc store.RunCreator) {
			must(t, "CreateRunWith", rc.CreateRunWith(ctx(t), creation("wfr_a")))
			before := takeSnapshot(t, s, "wfr_a")
			// The identifier is taken.
			c := creation("wfr_a")
			c.NodeRuns[0].Identifier, c.NodeRuns[1].Identifier, c.NodeRuns[2].Identifier = "wfr_x_0", "wfr_x_1", "wfr_x_2"
			c.Logs[0].NodeRunID = "wfr_x_1"
			wantErr(t, "CreateRunWith of a taken identifier", rc.CreateRunWith(ctx(t), c), store.ErrExists)
			checkSnapshot(t, "after a refused creation", takeSnapshot(t, s, "wfr_a"), before)
			if _, err := s.GetNodeRun(ctx(t), "wfr_x_2"); err == nil {
				t.Error("a refused creation stored a node run")
			}
			// A node run of another run fails the whole creation.
			c = creation("wfr_b")
			c.NodeRuns[2].RunID = "wfr_other"
			if err := rc.CreateRunWith(ctx(t), c); err == nil {
				t.Error("CreateRunWith with a node run of another run succeeded")
			}
			if _, err := s.GetRun(ctx(t), "wfr_b"); err == nil {
				t.Error("a refused creation stored its run")
			}
			// No node run at all.
			c = creation("wfr_c")
			c.NodeRuns = nil
			if err := rc.CreateRunWith(ctx(t), c); err == nil {
				t.Error("CreateRunWith without node runs succeeded")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.run(t, s, s.(store.RunCreator))
		})
	}
}
