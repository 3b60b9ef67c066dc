package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/traceparent"
)

// testTraceParents checks store.TraceParentStore, for stores that
// implement it; others skip it. A run has no trace parent until one is
// set, keeps it whatever becomes of the run, and a zero one clears it.
func testTraceParents(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.TraceParentStore); !ok {
		t.Skip("the store does not implement store.TraceParentStore")
	}
	caller, err := traceparent.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	must(t, "parse", err)
	other, err := traceparent.Parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
	must(t, "parse", err)
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, ts store.TraceParentStore)
	}{
		{"NoneUntilSet", func(t *testing.T, s store.Store, ts store.TraceParentStore) {
			createRun(t, s, newRun("wfr_a", "deploy", "ann", 0))
			p, err := ts.RunTraceParent(ctx(t), "wfr_a")
			must(t, "RunTraceParent", err)
			if !p.IsZero() {
				t.Errorf("a new run has trace parent %v, want none", p)
			}
		}},
		{"SetKeptAndReplaced", func(t *testing.T, s store.Store, ts store.TraceParentStore) {
			createRun(t, s, newRun("wfr_a", "deploy", "ann", 0))
			createRun(t, s, newRun("wfr_b", "deploy", "ann", 1))
			must(t, "Set a", ts.SetRunTraceParent(ctx(t), "wfr_a", caller))
			must(t, "finish a", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(3)}}))
			p, err := ts.RunTraceParent(ctx(t), "wfr_a")
			must(t, "RunTraceParent a", err)
			if p != caller {
				t.Errorf("a finished run's trace parent = %v, want %v", p, caller)
			}
			if p, err := ts.RunTraceParent(ctx(t), "wfr_b"); err != nil || !p.IsZero() {
				t.Errorf("another run's trace parent = %v, %v; want none", p, err)
			}
			must(t, "replace a", ts.SetRunTraceParent(ctx(t), "wfr_a", other))
			if p, _ := ts.RunTraceParent(ctx(t), "wfr_a"); p != other {
				t.Errorf("replaced trace parent = %v, want %v (flags kept)", p, other)
			}
			must(t, "clear a", ts.SetRunTraceParent(ctx(t), "wfr_a", traceparent.Parent{}))
			if p, _ := ts.RunTraceParent(ctx(t), "wfr_a"); !p.IsZero() {
				t.Errorf("cleared trace parent = %v, want none", p)
			}
			// The run reads as it did.
			r, err := s.GetRun(ctx(t), "wfr_a")
			must(t, "GetRun", err)
			if r.Status != store.StatusCompleted || r.Result != store.ResultSuccess {
				t.Errorf("the run changed: %+v", r)
			}
		}},
		{"WithTheCreation", func(t *testing.T, s store.Store, ts store.TraceParentStore) {
			rc, ok := s.(store.RunCreator)
			if !ok {
				t.Skip("the store does not implement store.RunCreator")
			}
			for _, tc := range []struct {
				id   string
				p    traceparent.Parent
				want traceparent.Parent
			}{{"wfr_traced", caller, caller}, {"wfr_untraced", traceparent.Parent{}, traceparent.Parent{}}} {
				run := newRun(tc.id, "deploy", "ann", 0)
				first := store.NodeRun{Identifier: tc.id + "_0", RunID: tc.id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess, CreatedAt: at(0)}
				must(t, "CreateRunWith "+tc.id, rc.CreateRunWith(ctx(t), store.Creation{Run: run, NodeRuns: []store.NodeRun{first}, TraceParent: tc.p}))
				p, err := ts.RunTraceParent(ctx(t), tc.id)
				must(t, "RunTraceParent "+tc.id, err)
				if p != tc.want {
					t.Errorf("%s created with trace parent %v reads %v", tc.id, tc.p, p)
				}
			}
			// A creation refused (its identifier taken) writes no trace
			// parent either.
			dup := newRun("wfr_untraced", "deploy", "ann", 1)
			first := store.NodeRun{Identifier: "wfr_untraced_dup", RunID: "wfr_untraced", NodeID: "trigger", Status: store.StatusCompleted, CreatedAt: at(1)}
			wantErr(t, "CreateRunWith a taken identifier", rc.CreateRunWith(ctx(t), store.Creation{Run: dup, NodeRuns: []store.NodeRun{first}, TraceParent: caller}), store.ErrExists)
			if p, _ := ts.RunTraceParent(ctx(t), "wfr_untraced"); !p.IsZero() {
				t.Errorf("a refused creation wrote trace parent %v", p)
			}
		}},
		{"MissingRun", func(t *testing.T, s store.Store, ts store.TraceParentStore) {
			wantErr(t, "Set on a missing run", ts.SetRunTraceParent(ctx(t), "wfr_missing", caller), store.ErrNotFound)
			_, err := ts.RunTraceParent(ctx(t), "wfr_missing")
			wantErr(t, "RunTraceParent of a missing run", err, store.ErrNotFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.run(t, s, s.(store.TraceParentStore))
		})
	}
}
