package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testRetention checks store.Retainer, for stores that implement it;
// others skip it. Deletion takes only COMPLETED runs completed before the
// cutoff, oldest first, at most limit per call, with their node runs, logs
// and inputs; never a run in progress, a newer run, or audit events.
func testRetention(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.Retainer); !ok {
		t.Skip("the store does not implement store.Retainer")
	}
	red := redact.New()

	// finished creates run id at at(created) with a second node run and
	// a log line on each, and completes it at at(completed) (completed < 0:
	// left IN_PROGRESS).
	finished := func(t *testing.T, s store.Store, id string, created, completed int) {
		t.Helper()
		r := newRun(id, "deploy", "ann", created)
		first := createRun(t, s, r)
		nr := newNodeRun(id+"_1", id, "approval", 1, created)
		must(t, "Start "+id, s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr, Wait: nr.Identifier,
			Logs: []store.Log{logLine(first.Identifier, "trigger of "+id, created), logLine(nr.Identifier, "waiting in "+id, created)}}))
		if is, ok := s.(store.InputStore); ok {
			prompt, err := red.JSON(map[string]any{"description": "ship " + id + "?"})
			must(t, "prompt", err)
			must(t, "OpenInput "+id, is.OpenInput(ctx(t), store.InputRequest{NodeRunID: nr.Identifier, RunID: id, Prompt: prompt, CreatedAt: at(created)}))
			inputs, err := red.JSON(map[string]any{})
			must(t, "inputs", err)
			_, err = is.Respond(ctx(t), store.InputResponse{NodeRunID: nr.Identifier, ResponderID: "usr_ann", Email: "ann@example.com",
				FirstName: "Ann", LastName: "Doe", Button: "approve", Inputs: inputs, RespondedAt: at(created)},
				[]store.InputOutlet{{Button: "approve", Need: 2}})
			must(t, "Respond "+id, err)
		}
		if completed >= 0 {
			must(t, "Finish "+id, s.Apply(ctx(t), store.Transition{RunID: id, Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(completed)}}))
		}
	}
	gone := func(t *testing.T, s store.Store, id string) {
		t.Helper()
		_, err := s.GetRun(ctx(t), id)
		wantErr(t, "GetRun "+id+" (deleted)", err, store.ErrNotFound)
		nrs, err := s.NodeRuns(ctx(t), id)
		must(t, "NodeRuns "+id, err)
		if len(nrs) != 0 {
			t.Errorf("NodeRuns %s: %d node runs left after the run was deleted", id, len(nrs))
		}
		for _, nr := range []string{id + "_0", id + "_1"} {
			_, err := s.GetNodeRun(ctx(t), nr)
			wantErr(t, "GetNodeRun "+nr+" (deleted)", err, store.ErrNotFound)
			ls, err := s.Logs(ctx(t), nr)
			must(t, "Logs "+nr, err)
			if len(ls) != 0 {
				t.Errorf("Logs %s: %d lines left after the run was deleted", nr, len(ls))
			}
		}
		if is, ok := s.(store.InputStore); ok {
			_, err := is.GetInput(ctx(t), id+"_1")
			wantErr(t, "GetInput "+id+"_1 (deleted)", err, store.ErrNotFound)
		}
	}

	t.Run("Runs", func(t *testing.T) {
		s := open(t)
		rt := s.(store.Retainer)
		// Cutoff at(50). Old: wfr_old0..4, completed at 10..14, created
		// 0..4. Kept: one in progress since at(-100), one completed after
		// the cutoff, one created before it but completed after.
		var old []string
		for i := range 5 {
			id := fmt.Sprintf("wfr_old%d", i)
			finished(t, s, id, i, 10+i)
			old = append(old, id)
		}
		finished(t, s, "wfr_running", -100, -1)
		finished(t, s, "wfr_new", 60, 70)
		finished(t, s, "wfr_long", 5, 55)
		must(t, "AddAudit", s.AddAudit(ctx(t), []store.AuditEvent{{Action: "secret.resolve", Actor: "ann", Secret: "TOKEN", RunID: "wfr_old0", NodeRunID: "wfr_old0_1", CreatedAt: at(1)}}))
		kept := map[string]snapshot{}
		for _, id := range []string{"wfr_running", "wfr_new", "wfr_long"} {
			kept[id] = takeSnapshot(t, s, id)
		}

		// Batches of 2: 2, 2, 1, then nothing; oldest first.
		var counts []int
		for range 5 {
			n, err := rt.DeleteRunsBefore(ctx(t), at(50), 2)
			must(t, "DeleteRunsBefore", err)
			counts = append(counts, n)
			if len(counts) == 1 {
				gone(t, s, old[0])
				gone(t, s, old[1])
				if _, err := s.GetRun(ctx(t), old[2]); err != nil {
					t.Errorf("the first batch of 2 deleted %s too (oldest first): %v", old[2], err)
				}
			}
		}
		if want := []int{2, 2, 1, 0, 0}; !slices.Equal(counts, want) {
			t.Errorf("DeleteRunsBefore batches deleted %v, want %v", counts, want)
		}
		for _, id := range old {
			gone(t, s, id)
		}
		for id, want := range kept {
			checkSnapshot(t, id+" (kept)", takeSnapshot(t, s, id), want)
		}
		ip, err := s.ListInProgressRuns(ctx(t))
		must(t, "ListInProgressRuns", err)
		if len(ip) != 1 || ip[0].Identifier != "wfr_running" {
			t.Errorf("ListInProgressRuns = %v, want [wfr_running]", runIDs(ip))
		}
		if evs := audit(t, s); len(evs) != 1 || evs[0].RunID != "wfr_old0" {
			t.Errorf("audit events after deleting runs = %+v, want the one of wfr_old0 kept", evs)
		}
		// The default limit applies to 0.
		n, err := rt.DeleteRunsBefore(ctx(t), at(1000), 0)
		must(t, "DeleteRunsBefore (limit 0)", err)
		if n != 2 {
			t.Errorf("DeleteRunsBefore(at(1000), 0) = %d, want 2 (wfr_new, wfr_long)", n)
		}
		if _, err := s.GetRun(ctx(t), "wfr_running"); err != nil {
			t.Errorf("the run in progress was deleted: %v", err)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		s := open(t)
		rt := s.(store.Retainer)
		var evs []store.AuditEvent
		for i := range 10 {
			evs = append(evs, event("secret.resolve", fmt.Sprintf("S%d", i), i))
		}
		must(t, "AddAudit", s.AddAudit(ctx(t), evs))
		var counts []int
		for range 4 {
			n, err := rt.DeleteAuditBefore(ctx(t), at(5), 3)
			must(t, "DeleteAuditBefore", err)
			counts = append(counts, n)
		}
		if want := []int{3, 2, 0, 0}; !slices.Equal(counts, want) {
			t.Errorf("DeleteAuditBefore batches deleted %v, want %v", counts, want)
		}
		var left []string
		for _, ev := range audit(t, s) {
			left = append(left, ev.Secret)
		}
		if want := []string{"S9", "S8", "S7", "S6", "S5"}; !slices.Equal(left, want) {
			t.Errorf("audit events left = %v, want %v", left, want)
		}
	})
}
