package storetest

import (
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testWaitDeadlines checks Transition.WaitUntil and ExpiredWaits, for stores
// that implement store.WaitStore; others skip it.
func testWaitDeadlines(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.WaitStore); !ok {
		t.Skip("the store does not implement store.WaitStore")
	}
	// wait creates run id whose node run id+"_1" waits until deadline
	// (zero: none).
	wait := func(t *testing.T, s store.Store, id string, deadline time.Time, cont bool) string {
		t.Helper()
		createRun(t, s, newRun(id, "deploy", "ann", 0))
		nr := newNodeRun(id+"_1", id, "publish", 1, 1)
		must(t, "Start "+nr.Identifier, s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr}))
		must(t, "Wait "+nr.Identifier, s.Apply(ctx(t), store.Transition{RunID: id, Wait: nr.Identifier, WaitUntil: deadline, WaitContinue: cont}))
		return nr.Identifier
	}
	expired := func(t *testing.T, s store.Store, now time.Time, limit int) []store.ExpiredWait {
		t.Helper()
		ws, err := s.(store.WaitStore).ExpiredWaits(ctx(t), now, limit)
		must(t, "ExpiredWaits", err)
		return ws
	}
	ids := func(ws []store.ExpiredWait) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.NodeRunID)
		}
		return out
	}

	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"ExpiredEarliestFirst", func(t *testing.T, s store.Store) {
			late := wait(t, s, "wfr_late", at(20), true)
			early := wait(t, s, "wfr_early", at(10), false)
			wait(t, s, "wfr_none", time.Time{}, false)
			wait(t, s, "wfr_future", at(100), false)
			ws := expired(t, s, at(20), 0)
			if got := ids(ws); len(got) != 2 || got[0] != early || got[1] != late {
				t.Fatalf("ExpiredWaits(at(20)) = %v, want [%s %s]", got, early, late)
			}
			if !near(ws[0].Deadline, at(10)) || ws[0].Continue || ws[0].RunID != "wfr_early" {
				t.Errorf("first expired wait = %+v, want deadline %v, fail, run wfr_early", ws[0], at(10))
			}
			if !ws[1].Continue {
				t.Errorf("second expired wait = %+v, want Continue", ws[1])
			}
			if got := ids(expired(t, s, at(20), 1)); len(got) != 1 || got[0] != early {
				t.Errorf("ExpiredWaits limit 1 = %v, want [%s]", got, early)
			}
			if got := expired(t, s, at(9), 0); len(got) != 0 {
				t.Errorf("ExpiredWaits before every deadline = %v, want none", ids(got))
			}
		}},
		{"CompletedIsNotExpired", func(t *testing.T, s store.Store) {
			id := wait(t, s, "wfr_1", at(10), false)
			out, _ := redact.New().JSON(map[string]any{"ok": true})
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Complete: &store.NodeRunCompletion{NodeRunID: id, Result: store.ResultSuccess, Output: out, CompletedAt: at(11)}}))
			if got := expired(t, s, at(50), 0); len(got) != 0 {
				t.Errorf("ExpiredWaits after completion = %v, want none", ids(got))
			}
		}},
		{"FinishedRunIsNotExpired", func(t *testing.T, s store.Store) {
			wait(t, s, "wfr_1", at(10), false)
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(11)}}))
			if got := expired(t, s, at(50), 0); len(got) != 0 {
				t.Errorf("ExpiredWaits after the run finished = %v, want none", ids(got))
			}
		}},
		{"WaitAgainKeepsDeadline", func(t *testing.T, s store.Store) {
			id := wait(t, s, "wfr_1", at(10), true)
			must(t, "Wait again", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Wait: id}))
			ws := expired(t, s, at(10), 0)
			if len(ws) != 1 || !near(ws[0].Deadline, at(10)) || !ws[0].Continue {
				t.Errorf("ExpiredWaits after waiting again without a deadline = %+v, want the first deadline kept", ws)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}
