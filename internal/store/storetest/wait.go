package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// resolve returns the audit event of a run resolving a secret at at(i).
func resolve(runID, nodeRunID string, i int) store.AuditEvent {
	return store.AuditEvent{Action: "secret.resolve", Actor: "engine", Secret: "GITHUB_TOKEN", RunID: runID, NodeRunID: nodeRunID, CreatedAt: at(i)}
}

// getNodeRun returns a node run or fails the test.
func getNodeRun(t *testing.T, s store.Store, id string) store.NodeRun {
	t.Helper()
	nr, err := s.GetNodeRun(ctx(t), id)
	must(t, "GetNodeRun "+id, err)
	return nr
}

// testWait checks the transitions that are accepted with Wait and Audit;
// the rejected ones are in testRuns' ApplyRejected.
func testWait(t *testing.T, open opener) {
	t.Run("MarkThenComplete", func(t *testing.T) {
		s := open(t)
		trigger := createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		createRun(t, s, newRun("wfr_2", "deploy", "ann", 0))
		other := takeSnapshot(t, s, "wfr_2")

		// Wait alone takes the time of the write.
		evs := []store.AuditEvent{resolve("wfr_1", trigger.Identifier, 1), resolve("wfr_1", trigger.Identifier, 2)}
		logs := []store.Log{logLine(trigger.Identifier, "waiting for the callback", 1)}
		before := time.Now()
		must(t, "Apply wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Wait: trigger.Identifier, Logs: logs, Audit: evs}))
		after := time.Now()

		got := getNodeRun(t, s, trigger.Identifier)
		c := checker{t, "waiting node run"}
		c.eq("Waiting", got.Waiting, true)
		c.eq("Status", got.Status, store.StatusInProgress)
		c.eq("Result", got.Result, "")
		c.eq("CompletedAt", got.CompletedAt, (*time.Time)(nil))
		c.between("UpdatedAt", got.UpdatedAt, before, after)
		nrs, err := s.NodeRuns(ctx(t), "wfr_1")
		must(t, "NodeRuns", err)
		if len(nrs) != 1 || !nrs[0].Waiting {
			t.Errorf("NodeRuns after Wait = %+v, want the trigger waiting", nrs)
		}
		gotLogs, err := s.Logs(ctx(t), trigger.Identifier)
		must(t, "Logs", err)
		checkLogs(t, "Logs after Wait", gotLogs, logs)
		newest := slices.Clone(evs)
		slices.Reverse(newest)
		checkAudits(t, "ListAudit after Wait", audit(t, s), newest)
		checkSnapshot(t, "wfr_2 after wfr_1's Wait", takeSnapshot(t, s, "wfr_2"), other)

		// Marking it again is no error and changes nothing but UpdatedAt.
		must(t, "Apply wait again", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Wait: trigger.Identifier}))
		if got := getNodeRun(t, s, trigger.Identifier); !got.Waiting || got.Status != store.StatusInProgress {
			t.Errorf("after a second Wait: Waiting %v, Status %s; want true, IN_PROGRESS", got.Waiting, got.Status)
		}

		// The completion from outside: completing clears Waiting.
		must(t, "Apply complete", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: trigger.Identifier, Result: store.ResultSuccess, CompletedAt: after.Add(time.Second)},
		}))
		want := trigger
		want.Status, want.Result = store.StatusCompleted, store.ResultSuccess
		want.UpdatedAt, want.CompletedAt = after.Add(time.Second), ptr(after.Add(time.Second))
		checkNodeRun(t, "completed node run", getNodeRun(t, s, trigger.Identifier), want)
	})

	t.Run("StartAndWaitInOneTransition", func(t *testing.T) {
		s := open(t)
		trigger := createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		a := newNodeRun("wfr_1_1", "wfr_1", "callback", 1, 2)
		b := newNodeRun("wfr_1_2", "wfr_1", "notify", 2, 2)
		must(t, "Apply", s.Apply(ctx(t), store.Transition{
			RunID:    "wfr_1",
			Complete: &store.NodeRunCompletion{NodeRunID: trigger.Identifier, Result: store.ResultSuccess, CompletedAt: at(1)},
			Start:    &a,
			Wait:     a.Identifier,
			Logs:     []store.Log{logLine(a.Identifier, "sent; waiting", 2)},
			Audit:    []store.AuditEvent{resolve("wfr_1", a.Identifier, 2)},
		}))
		must(t, "Apply start b", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &b}))

		// Only the named node run waits; its UpdatedAt does not go back
		// to the transition's time (Complete's, before its creation).
		wantA := a
		wantA.Waiting = true
		checkNodeRun(t, "started and waiting", getNodeRun(t, s, a.Identifier), wantA)
		checkNodeRun(t, "parallel node run", getNodeRun(t, s, b.Identifier), b)
		if got := getNodeRun(t, s, trigger.Identifier); got.Waiting {
			t.Errorf("completed trigger: Waiting = true")
		}
		checkAudits(t, "ListAudit", audit(t, s), []store.AuditEvent{resolve("wfr_1", a.Identifier, 2)})
	})

	t.Run("StartWaiting", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		nr := newNodeRun("wfr_1_1", "wfr_1", "approval", 1, 1)
		nr.Waiting = true
		must(t, "Apply start", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Start: &nr}))
		checkNodeRun(t, "node run started waiting", getNodeRun(t, s, nr.Identifier), nr)
	})

	t.Run("AuditZeroTimeIsNow", func(t *testing.T) {
		s := open(t)
		createRun(t, s, newRun("wfr_1", "deploy", "ann", 0))
		ev := resolve("wfr_1", "wfr_1_0", 0)
		ev.CreatedAt = time.Time{}
		before := time.Now()
		must(t, "Apply", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Audit: []store.AuditEvent{ev}}))
		after := time.Now()
		evs := audit(t, s)
		if len(evs) != 1 {
			t.Fatalf("ListAudit = %d events, want 1", len(evs))
		}
		c := checker{t, "ListAudit[0]"}
		c.eq("Action", evs[0].Action, ev.Action)
		c.eq("RunID", evs[0].RunID, ev.RunID)
		c.eq("NodeRunID", evs[0].NodeRunID, ev.NodeRunID)
		c.between("CreatedAt", evs[0].CreatedAt, before, after)
	})
}
