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
