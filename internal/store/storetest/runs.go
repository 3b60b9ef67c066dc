package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// newRun returns an IN_PROGRESS run created at at(i).
func newRun(id, workflowID, createdBy string, i int) store.Run {
	return store.Run{
		Identifier: id, WorkflowID: workflowID, WorkflowVersion: 1,
		Status: store.StatusInProgress, CreatedBy: createdBy, TriggerNode: "trigger",
		CreatedAt: at(i), UpdatedAt: at(i),
	}
}

// newNodeRun returns an IN_PROGRESS node run created at at(i).
func newNodeRun(id, runID, nodeID string, seq, i int) store.NodeRun {
	return store.NodeRun{
		Identifier: id, RunID: runID, NodeID: nodeID, Seq: seq,
		Status: store.StatusInProgress, CreatedAt: at(i), UpdatedAt: at(i),
	}
}

func logLine(nodeRunID, msg string, i int) store.Log {
	return store.Log{NodeRunID: nodeRunID, Level: "INFO", Message: redact.TrustedText(msg), CreatedAt: at(i)}
}

// createRun creates a run with its trigger node run (id+"_0") and no logs.
func createRun(t *testing.T, s store.Store, r store.Run) store.NodeRun {
	t.Helper()
	first := newNodeRun(r.Identifier+"_0", r.Identifier, "trigger", 0, 0)
	first.CreatedAt, first.UpdatedAt = r.CreatedAt, r.CreatedAt
	must(t, "CreateRun "+r.Identifier, s.CreateRun(ctx(t), r, first, nil))
	return first
}

// snapshot is everything a store holds about one run, for checking that a
// rejected transition changed nothing.
type snapshot struct {
	run      store.Run
	nodeRuns []store.NodeRun
	logs     map[string][]store.Log
}

func takeSnapshot(t *testing.T, s store.Store, runID string) snapshot {
	t.Helper()
	r, err := s.GetRun(ctx(t), runID)
	must(t, "GetRun", err)
	nrs, err := s.NodeRuns(ctx(t), runID)
	must(t, "NodeRuns", err)
	logs := map[string][]store.Log{}
	for _, nr := range nrs {
		ls, err := s.Logs(ctx(t), nr.Identifier)
		must(t, "Logs", err)
		logs[nr.Identifier] = ls
	}
	return snapshot{r, nrs, logs}
}

func checkSnapshot(t *testing.T, what string, got, want snapshot) {
	t.Helper()
	checkRun(t, what+": run", got.run, want.run)
	if len(got.nodeRuns) != len(want.nodeRuns) {
		t.Fatalf("%s: %d node runs, want %d", what, len(got.nodeRuns), len(want.nodeRuns))
	}
	for i := range want.nodeRuns {
		checkNodeRun(t, fmt.Sprintf("%s: node run %d", what, i), got.nodeRuns[i], want.nodeRuns[i])
		id := want.nodeRuns[i].Identifier
		checkLogs(t, what+": logs of "+id, got.logs[id], want.logs[id])
	}
}

func testRuns(t *testing.T, open opener) {
	t.Run("CreateRunGet", func(t *testing.T) {
		s := open(t)
		r := newRun("wfr_1", "deploy", "ann", 0)
		first := newNodeRun("wfnr_1", "wfr_1", "trigger", 0, 0)
		logs := []store.Log{
			{NodeRunID: "wfnr_1", Level: "INFO", Message: redact.TrustedText("triggered"), Tags: map[redact.Text]redact.Text{redact.TrustedText("by"): redact.TrustedText("ann")}, CreatedAt: at(0)},
			logLine("wfnr_1", "inputs accepted", 1),
		}
		must(t, "CreateRun", s.CreateRun(ctx(t), r, first, logs))

		got, err := s.GetRun(ctx(t), "wfr_1")
		must(t, "GetRun", err)
		checkRun(t, "GetRun", got, r)
		nr, err := s.GetNodeRun(ctx(t), "wfnr_1")
		must(t, "GetNodeRun", err)
		checkNodeRun(t, "GetNodeRun", nr, first)
		if !nr.Output.IsZero() {
			t.Errorf("Output of an IN_PROGRESS node run = %q, want zero", nr.Output.Bytes())
		}
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		if len(nrs) != 1 {
			t.Fatalf("NodeRuns = %d, want 1", len(nrs))
		}
		checkNodeRun(t, "NodeRuns[0]", nrs[0], first)
		gotLogs, err := s.Logs(ctx(t), "wfnr_1")
		must(t, "Logs", err)
		checkLogs(t, "Logs", gotLogs, logs)

		_, err = s.GetRun(ctx(t), "wfr_missing")
		wantErr(t, "GetRun(missing)", err, store.ErrNotFound)
		_, err = s.GetNodeRun(ctx(t), "wfnr_missing")
		wantErr(t, "GetNodeRun(missing)", err, store.ErrNotFound)
	})

	t.Run("CreateRunDuplicate", func(t *testing.T) {
		s := open(t)
		r := newRun("wfr_1", "deploy", "ann", 0)
		must(t, "CreateRun", s.CreateRun(ctx(t), r, newNodeRun("wfnr_1", "wfr_1", "trigger", 0, 0), []store.Log{logLine("wfnr_1", "one", 0)}))
		before := takeSnapshot(t, s, "wfr_1")

		// Same run identifier: nothing of the second call is written.
		dup := newRun("wfr_1", "other", "bob", 5)
		err := s.CreateRun(ctx(t), dup, newNodeRun("wfnr_2", "wfr_1", "trigger", 0, 5), []store.Log{logLine("wfnr_2", "two", 5)})
		wantErr(t, "CreateRun(duplicate run)", err, store.ErrExists)
		_, err = s.GetNodeRun(ctx(t), "wfnr_2")
		wantErr(t, "GetNodeRun of the rejected trigger", err, store.ErrNotFound)
		checkSnapshot(t, "after duplicate run", takeSnapshot(t, s, "wfr_1"), before)

		// New run, taken node run identifier: the run is not written.
		err = s.CreateRun(ctx(t), newRun("wfr_2", "deploy", "ann", 6), newNodeRun("wfnr_1", "wfr_2", "trigger", 0, 6), nil)
		wantErr(t, "CreateRun(duplicate node run)", err, store.ErrExists)
		_, err = s.GetRun(ctx(t), "wfr_2")
		wantErr(t, "GetRun of the rejected run", err, store.ErrNotFound)
	})

	t.Run("ApplyCompleteLogsStartFinish", func(t *testing.T) {
		s := open(t)
		r := newRun("wfr_1", "deploy", "ann", 0)
		trigger := createRun(t, s, r)

		// One transition: complete the trigger, log, start the next node.
		next := newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)
		logs := []store.Log{logLine(trigger.Identifier, "done", 1), logLine(next.Identifier, "starting", 2)}
		out := redact.Reload([]byte(`{"a":1,"nested":{"b":[true,null,"x"]}}`))
		links := []redact.Text{redact.TrustedText("https://example.test/1"), redact.TrustedText("https://example.test/2")}
		must(t, "Apply", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: trigger.Identifier, Result: store.ResultSuccess, Output: out, Links: links, CompletedAt: at(1)},
			Logs:     logs,
			Start:    &next,
		}))
		wantTrigger := trigger
		wantTrigger.Status, wantTrigger.Result = store.StatusCompleted, store.ResultSuccess
		wantTrigger.Output, wantTrigger.Links = out, links
		wantTrigger.UpdatedAt, wantTrigger.CompletedAt = at(1), ptr(at(1))
		got, err := s.GetNodeRun(ctx(t), trigger.Identifier)
		must(t, "GetNodeRun trigger", err)
		checkNodeRun(t, "completed trigger", got, wantTrigger)
		got, err = s.GetNodeRun(ctx(t), next.Identifier)
		must(t, "GetNodeRun next", err)
		checkNodeRun(t, "started node run", got, next)
		gotLogs, err := s.Logs(ctx(t), trigger.Identifier)
		must(t, "Logs trigger", err)
		checkLogs(t, "Logs trigger", gotLogs, logs[:1])
		gotLogs, err = s.Logs(ctx(t), next.Identifier)
		must(t, "Logs next", err)
		checkLogs(t, "Logs next", gotLogs, logs[1:])
		run, err := s.GetRun(ctx(t), "wfr_1")
		must(t, "GetRun", err)
		if run.Status != store.StatusInProgress || run.Result != "" || run.CompletedAt != nil {
			t.Errorf("run after a node transition: status %q result %q completedAt %v, want IN_PROGRESS", run.Status, run.Result, run.CompletedAt)
		}

		// Completing with a zero output (a failed node) keeps it zero.
		must(t, "Apply finish", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: next.Identifier, Result: store.ResultFailed, CompletedAt: at(3)},
			Finish:   &store.RunCompletion{Result: store.ResultFailed, CompletedAt: at(3)},
		}))
		wantNext := next
		wantNext.Status, wantNext.Result = store.StatusCompleted, store.ResultFailed
		wantNext.UpdatedAt, wantNext.CompletedAt = at(3), ptr(at(3))
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		if len(nrs) != 2 {
			t.Fatalf("NodeRuns = %d, want 2", len(nrs))
		}
		checkNodeRun(t, "NodeRuns[0]", nrs[0], wantTrigger)
		checkNodeRun(t, "NodeRuns[1]", nrs[1], wantNext)
		wantRun := r
		wantRun.Status, wantRun.Result = store.StatusCompleted, store.ResultFailed
		wantRun.UpdatedAt, wantRun.CompletedAt = at(3), ptr(at(3))
		run, err = s.GetRun(ctx(t), "wfr_1")
		must(t, "GetRun", err)
		checkRun(t, "finished run", run, wantRun)
	})

	t.Run("ApplyPassedNodeRuns", func(t *testing.T) {
		// The engine's folded step: complete a node run, insert the
		// flow-control node runs it evaluated at once, start the next, and
		// then the same with the run's end.
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		passed := func(id, node string, seq, i int, out string) store.NodeRun {
			nr := newNodeRun(id, "wfr_1", node, seq, i)
			nr.Status, nr.Result, nr.Attempts = store.StatusCompleted, store.ResultSuccess, 1
			nr.Output, nr.CompletedAt = redact.Reload([]byte(out)), ptr(at(i))
			return nr
		}
		cond1 := passed("wfr_1_1", "check", 1, 1, `{"selectedOutlet":{"identifier":"yes"}}`)
		cond2 := passed("wfr_1_2", "check2", 2, 1, `{"selectedOutlet":null}`)
		next := newNodeRun("wfr_1_3", "wfr_1", "deploy", 3, 1)
		next.Attempts = 1
		logs := []store.Log{logLine("wfr_1_0", "trigger done", 1), logLine(cond1.Identifier, "took yes", 1), logLine(cond2.Identifier, "took none", 1)}
		must(t, "Apply", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(1)},
			Passed:   []store.NodeRun{cond1, cond2},
			Start:    &next,
			Logs:     logs,
		}))
		cond3 := passed("wfr_1_4", "check3", 4, 2, `{"selectedOutlet":null}`)
		must(t, "Apply finish", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: next.Identifier, Result: store.ResultSuccess, CompletedAt: at(2)},
			Passed:   []store.NodeRun{cond3},
			Finish:   &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)},
		}))
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		if len(nrs) != 5 {
			t.Fatalf("NodeRuns = %d, want 5", len(nrs))
		}
		wantNext := next
		wantNext.Status, wantNext.Result, wantNext.UpdatedAt, wantNext.CompletedAt = store.StatusCompleted, store.ResultSuccess, at(2), ptr(at(2))
		for i, want := range []store.NodeRun{cond1, cond2, wantNext, cond3} {
			checkNodeRun(t, fmt.Sprintf("NodeRuns[%d]", i+1), nrs[i+1], want)
		}
		for _, l := range logs[1:] {
			got, err := s.Logs(ctx(t), l.NodeRunID)
			must(t, "Logs "+l.NodeRunID, err)
			checkLogs(t, "Logs of "+l.NodeRunID, got, []store.Log{l})
		}
		run, err := s.GetRun(ctx(t), "wfr_1")
		must(t, "GetRun", err)
		if run.Status != store.StatusCompleted {
			t.Errorf("run status = %s, want COMPLETED", run.Status)
		}
	})

	t.Run("ApplyRejected", func(t *testing.T) {
		// Each case sets up a run, then applies a transition that must be
		// rejected; none of it may be written.
		cases := []struct {
			name  string
			setup func(t *testing.T, s store.Store)
			tr    store.Transition
			err   error
		}{
			{
				name: "complete a completed node run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultFailed, Output: redact.Reload([]byte(`{"x":2}`)), CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrConflict,
			},
			{
				// A folded step whose completion lost to a cancel: none of
				// the node runs it evaluated may be written.
				name: "complete, pass and start in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Passed: []store.NodeRun{{Identifier: "wfr_1_1", RunID: "wfr_1", NodeID: "check", Seq: 1, Status: store.StatusCompleted,
						Result: store.ResultSuccess, Output: redact.Reload([]byte(`{"selectedOutlet":null}`)), CreatedAt: at(2), UpdatedAt: at(2), CompletedAt: ptr(at(2))}},
					Logs:  []store.Log{logLine("wfr_1_1", "must not be written", 2)},
					Start: ptr(newNodeRun("wfr_1_2", "wfr_1", "build", 2, 2)),
				},
				err: store.ErrConflict,
			},
			{
				name: "finish a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
					Finish:   &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)},
				},
				err: store.ErrConflict,
			},
			{
				// The engine's usual step (Complete + Start, no Finish) on a
				// run that was finished while its node run stayed IN_PROGRESS.
				name: "complete and start in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrConflict,
			},
			{
				name:  "complete in a missing run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_missing",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
				},
				err: store.ErrNotFound,
			},
			{
				// A cancel won the race: the driver's next step must not land.
				name: "start a node run in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Logs:  []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start: ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrConflict,
			},
			{
				// The rule holds for a transition that neither completes
				// nor finishes anything.
				name: "only logs in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Logs:  []store.Log{logLine("wfr_1_0", "must not be written", 2)},
				},
				err: store.ErrConflict,
			},
			{
				name: "only start in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultFailed, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Start: ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrConflict,
			},
			{
				name: "only audit in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Audit: []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrConflict,
			},
			{
				// The trigger is still IN_PROGRESS: the run's status is what
				// rejects it.
				name: "wait in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Wait:  "wfr_1_0",
					Logs:  []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Audit: []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrConflict,
			},
			{
				name: "wait on a completed node run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID: "wfr_1",
					Start: ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
					Wait:  "wfr_1_0",
					Logs:  []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Audit: []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrConflict,
			},
			{
				name:  "wait on the node run the transition completes",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Wait:     "wfr_1_0",
					Audit:    []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrConflict,
			},
			{
				name:  "wait on a missing node run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Start:    ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
					Wait:     "wfnr_missing",
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Audit:    []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrNotFound,
			},
			{
				name:  "wait on another run's node run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID: "wfr_1",
					Wait:  "wfr_2_0",
					Audit: []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrNotFound,
			},
			{
				// A waiting node run is completed from outside while the
				// run was cancelled: the completion must not land, and the
				// node run stays waiting.
				name: "complete a waiting node run in a finished run",
				setup: func(t *testing.T, s store.Store) {
					must(t, "Apply wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Wait: "wfr_1_0"}))
					must(t, "Apply cancel", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(1)}}))
				},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
				},
				err: store.ErrConflict,
			},
			{
				name:  "start a node run whose Seq is taken",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_x", "wfr_1", "build", 0, 2)),
				},
				err: store.ErrExists,
			},
			{
				name:  "start a node run whose identifier is taken",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_0", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrExists,
			},
			{
				// Everything else in the transition is valid; the taken Seq
				// alone must undo the wait and the audit events too.
				name:  "wait and audit with a start whose Seq is taken",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID: "wfr_1",
					Start: ptr(newNodeRun("wfr_1_x", "wfr_1", "build", 0, 2)),
					Wait:  "wfr_1_0",
					Logs:  []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Audit: []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2), resolve("wfr_1", "wfr_1_0", 3)},
				},
				err: store.ErrExists,
			},
			{
				name:  "complete a missing node run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfnr_missing", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Start:    ptr(newNodeRun("wfr_1_1", "wfr_1", "build", 1, 2)),
				},
				err: store.ErrNotFound,
			},
			{
				name:  "complete another run's node run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_2_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2)},
				},
				err: store.ErrNotFound,
			},
			{
				name:  "log to a missing node run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:    "wfr_1",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_1_0", Result: store.ResultSuccess, CompletedAt: at(2)},
					Logs:     []store.Log{logLine("wfr_1_0", "must not be written", 2), logLine("wfnr_missing", "nowhere", 2)},
					Audit:    []store.AuditEvent{resolve("wfr_1", "wfr_1_0", 2)},
				},
				err: store.ErrNotFound,
			},
			{
				name:  "missing run",
				setup: func(t *testing.T, s store.Store) {},
				tr: store.Transition{
					RunID:  "wfr_missing",
					Logs:   []store.Log{logLine("wfr_1_0", "must not be written", 2)},
					Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)},
				},
				err: store.ErrNotFound,
			},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
				createRun(t, s, newRun("wfr_2", "deploy", "ann", 0))
				tc.setup(t, s)
				before1, before2 := takeSnapshot(t, s, "wfr_1"), takeSnapshot(t, s, "wfr_2")
				auditBefore := audit(t, s)
				wantErr(t, "Apply", s.Apply(ctx(t), tc.tr), tc.err)
				checkSnapshot(t, "wfr_1 after the rejected transition", takeSnapshot(t, s, "wfr_1"), before1)
				checkSnapshot(t, "wfr_2 after the rejected transition", takeSnapshot(t, s, "wfr_2"), before2)
				checkAudits(t, "ListAudit after the rejected transition", audit(t, s), auditBefore)
				if st := tc.tr.Start; st != nil && st.Identifier != "wfr_1_0" {
					_, err := s.GetNodeRun(ctx(t), st.Identifier)
					wantErr(t, "GetNodeRun of the rejected start", err, store.ErrNotFound)
				}
			})
		}
	})

	t.Run("NodeRunsOrderedBySeq", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		// Parallel branches may start in any order; NodeRuns orders by Seq.
		for _, seq := range []int{3, 1, 2} {
			nr := newNodeRun(fmt.Sprintf("wfnr_%d", seq), "wfr_1", fmt.Sprintf("node%d", seq), seq, seq)
			must(t, "Apply start", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &nr}))
		}
		createRun(t, s, newRun("wfr_2", "deploy", "ann", 0)) // not listed with wfr_1's
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		var seqs []int
		for _, nr := range nrs {
			seqs = append(seqs, nr.Seq)
			if nr.RunID != "wfr_1" {
				t.Errorf("NodeRuns(wfr_1) returned %s of run %s", nr.Identifier, nr.RunID)
			}
		}
		checker{t, "NodeRuns"}.eq("Seq order", seqs, []int{0, 1, 2, 3})
	})

	t.Run("LogsInWrittenOrder", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		createRun(t, s, newRun("wfr_2", "deploy", "ann", 0))
		// Written order wins over CreatedAt, and equal times keep their order.
		var want []store.Log
		batches := [][]int{{5, 5, 5}, {2}, {9, 1}}
		for b, times := range batches {
			var batch []store.Log
			for j, i := range times {
				batch = append(batch, logLine("wfr_1_0", fmt.Sprintf("line %d.%d", b, j), i))
			}
			if b%2 == 0 {
				must(t, "AppendLogs", s.AppendLogs(ctx(t), batch))
			} else {
				must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Logs: batch}))
			}
			must(t, "AppendLogs other", s.AppendLogs(ctx(t), []store.Log{logLine("wfr_2_0", "other", 0)}))
			want = append(want, batch...)
		}
		got, err := s.Logs(ctx(t), "wfr_1_0")
		must(t, "Logs", err)
		checkLogs(t, "Logs", got, want)
	})

	t.Run("AppendLogsMissingNodeRun", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		err := s.AppendLogs(ctx(t), []store.Log{logLine("wfr_1_0", "must not be written", 1), logLine("wfnr_missing", "nowhere", 1)})
		wantErr(t, "AppendLogs", err, store.ErrNotFound)
		got, err := s.Logs(ctx(t), "wfr_1_0")
		must(t, "Logs", err)
		checkLogs(t, "Logs after a rejected AppendLogs", got, nil)
	})

	t.Run("ZeroTimesMeanNow", func(t *testing.T) {
		s := open(t)
		before := time.Now()
		r := store.Run{Identifier: "wfr_1", WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger"}
		first := store.NodeRun{Identifier: "wfnr_1", RunID: "wfr_1", NodeID: "trigger", Status: store.StatusInProgress}
		must(t, "CreateRun", s.CreateRun(ctx(t), r, first, []store.Log{{NodeRunID: "wfnr_1", Level: "INFO", Message: redact.TrustedText("hi")}}))
		must(t, "Apply", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: "wfnr_1", Result: store.ResultSuccess},
			Finish:   &store.RunCompletion{Result: store.ResultSuccess},
		}))
		after := time.Now()
		run, err := s.GetRun(ctx(t), "wfr_1")
		must(t, "GetRun", err)
		c := checker{t, "GetRun"}
		c.between("CreatedAt", run.CreatedAt, before, after)
		c.between("UpdatedAt", run.UpdatedAt, before, after)
		if run.CompletedAt == nil {
			t.Fatal("GetRun: CompletedAt is nil after Finish")
		}
		c.between("CompletedAt", *run.CompletedAt, before, after)
		nr, err := s.GetNodeRun(ctx(t), "wfnr_1")
		must(t, "GetNodeRun", err)
		c = checker{t, "GetNodeRun"}
		c.between("CreatedAt", nr.CreatedAt, before, after)
		if nr.CompletedAt == nil {
			t.Fatal("GetNodeRun: CompletedAt is nil after Complete")
		}
		c.between("CompletedAt", *nr.CompletedAt, before, after)
		logs, err := s.Logs(ctx(t), "wfnr_1")
		must(t, "Logs", err)
		if len(logs) != 1 {
			t.Fatalf("Logs = %d, want 1", len(logs))
		}
		checker{t, "Logs[0]"}.between("CreatedAt", logs[0].CreatedAt, before, after)
	})
}
