package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testConcurrentResults has many goroutines apply transitions to different
// runs at once, some of which fail (a finished run, a taken node-run
// identifier, a missing run), and checks that each caller gets exactly its
// own result, that nothing of a failed transition is written and that all
// of a successful one is. An implementation that shares transactions
// between callers (group commit) must keep them apart.
func testConcurrentResults(t *testing.T, open opener) {
	s := open(t)
	const (
		workers = 16
		steps   = 6
	)
	for w := range workers {
		createRun(t, s, newRun(fmt.Sprintf("wfr_%02d", w), "deploy", "ann", w))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			runID := fmt.Sprintf("wfr_%02d", w)
			cur := runID + "_0"
			for i := 1; i <= steps; i++ {
				next := newNodeRun(fmt.Sprintf("%s_%d", runID, i), runID, fmt.Sprintf("node%d", i), i, i)
				good := store.Transition{
					RunID:    runID,
					Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, CompletedAt: at(i)},
					Logs:     []store.Log{logLine(cur, fmt.Sprintf("step %d", i), i)},
					Start:    &next,
				}
				// Every step first tries a transition that must fail, then
				// the one that must succeed.
				bad := good
				bad.Logs = []store.Log{logLine(cur, "bad", i)}
				var want error
				switch (w + i) % 3 {
				case 0: // Start takes another run's trigger identifier.
					bad.Start = ptr(newNodeRun(fmt.Sprintf("wfr_%02d_0", (w+1)%workers), runID, "dup", i, i))
					want = store.ErrExists
				case 1: // The run is missing.
					bad.RunID = runID + "_missing"
					bad.Logs = nil
					want = store.ErrNotFound
				case 2: // Completes a node run that is already completed.
					if i == 1 {
						bad.Start = ptr(newNodeRun(runID+"_x", runID, "dup", 0, i)) // Seq 0 is taken
						want = store.ErrExists
						break
					}
					bad.Complete = &store.NodeRunCompletion{NodeRunID: fmt.Sprintf("%s_%d", runID, i-2), Result: store.ResultFailed, CompletedAt: at(i)}
					want = store.ErrConflict
				}
				if err := s.Apply(ctx(t), bad); !errors.Is(err, want) {
					errs <- fmt.Errorf("step %d of %s: failing transition: error = %v, want %v", i, runID, err, want)
					return
				}
				if err := s.Apply(ctx(t), good); err != nil {
					errs <- fmt.Errorf("step %d of %s: %w", i, runID, err)
					return
				}
				cur = next.Identifier
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for w := range workers {
		runID := fmt.Sprintf("wfr_%02d", w)
		nrs, err := s.NodeRuns(ctx(t), runID)
		must(t, "NodeRuns", err)
		if len(nrs) != steps+1 {
			t.Fatalf("%s: %d node runs, want %d", runID, len(nrs), steps+1)
		}
		for i, nr := range nrs {
			wantStatus, wantResult := store.StatusCompleted, store.ResultSuccess
			if i == steps {
				wantStatus, wantResult = store.StatusInProgress, ""
			}
			if nr.Seq != i || nr.Identifier != fmt.Sprintf("%s_%d", runID, i) || nr.Status != wantStatus || nr.Result != wantResult {
				t.Errorf("%s: node run %d = %s seq %d %s %s, want %s_%d seq %d %s %s", runID, i, nr.Identifier, nr.Seq, nr.Status, nr.Result, runID, i, i, wantStatus, wantResult)
			}
			logs, err := s.Logs(ctx(t), nr.Identifier)
			must(t, "Logs", err)
			if i < steps {
				checkLogs(t, "logs of "+nr.Identifier, logs, []store.Log{logLine(nr.Identifier, fmt.Sprintf("step %d", i+1), i+1)})
			} else if len(logs) != 0 {
				t.Errorf("logs of %s: %s, want none", nr.Identifier, logMessages(logs))
			}
		}
	}
}
