package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testAttempts checks BeginAttempt and the Attempts a started node run is
// stored with.
func testAttempts(t *testing.T, open opener) {
	t.Run("StartCountsAndBeginAttemptIncrements", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		a := newNodeRun("wfr_1_1", "wfr_1", "call", 1, 1)
		a.Attempts = 1
		must(t, "Apply start", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &a}))
		if got := getNodeRun(t, s, a.Identifier).Attempts; got != 1 {
			t.Fatalf("a node run started with Attempts 1 reads back %d", got)
		}
		for want := 2; want <= 4; want++ {
			n, err := s.BeginAttempt(ctx(t), a.Identifier)
			must(t, "BeginAttempt", err)
			if n != want {
				t.Errorf("BeginAttempt = %d, want %d", n, want)
			}
		}
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		if len(nrs) != 2 || nrs[1].Attempts != 4 || nrs[0].Attempts != 0 {
			t.Errorf("NodeRuns attempts = %+v, want the trigger 0 and the started node run 4", nrs)
		}
	})

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s store.Store, nr store.NodeRun) // nr is IN_PROGRESS in run wfr_1
		id    string                                              // "" means nr's
		want  error
	}{
		{name: "Missing", id: "wfnr_missing", want: store.ErrNotFound},
		{name: "Waiting", want: store.ErrConflict, setup: func(t *testing.T, s store.Store, nr store.NodeRun) {
			must(t, "Apply wait", s.Apply(ctx(t), store.Transition{RunID: nr.RunID, Wait: nr.Identifier}))
		}},
		{name: "Completed", want: store.ErrConflict, setup: func(t *testing.T, s store.Store, nr store.NodeRun) {
			must(t, "Apply complete", s.Apply(ctx(t), store.Transition{RunID: nr.RunID,
				Complete: &store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultSuccess, CompletedAt: at(3)}}))
		}},
		{name: "RunFinished", want: store.ErrConflict, setup: func(t *testing.T, s store.Store, nr store.NodeRun) {
			must(t, "Apply finish", s.Apply(ctx(t), store.Transition{RunID: nr.RunID,
				Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(3)}}))
		}},
	} {
		t.Run("Refused"+tc.name, func(t *testing.T) {
			s := open(t)
			createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
			nr := newNodeRun("wfr_1_1", "wfr_1", "call", 1, 1)
			nr.Attempts = 1
			must(t, "Apply start", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &nr}))
			if tc.setup != nil {
				tc.setup(t, s, nr)
			}
			id := tc.id
			if id == "" {
				id = nr.Identifier
			}
			n, err := s.BeginAttempt(ctx(t), id)
			wantErr(t, "BeginAttempt", err, tc.want)
			if n != 0 {
				t.Errorf("a refused BeginAttempt returned %d, want 0", n)
			}
			if got := getNodeRun(t, s, nr.Identifier).Attempts; got != 1 {
				t.Errorf("after a refused BeginAttempt the node run has %d attempts, want 1 (nothing counted)", got)
			}
		})
	}

	t.Run("Concurrent", func(t *testing.T) {
		// Concurrent increments are each counted once and each see their
		// own count (group commit must not share or lose one).
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		nr := newNodeRun("wfr_1_1", "wfr_1", "call", 1, 1)
		must(t, "Apply start", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &nr}))
		const n = 16
		got := make([]int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = s.BeginAttempt(ctx(t), nr.Identifier) })
		}
		wg.Wait()
		for _, err := range errs {
			must(t, "BeginAttempt", err)
		}
		slices.Sort(got)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("concurrent BeginAttempt counts = %v, want 1..%d each once", got, n)
			}
		}
	})
}
