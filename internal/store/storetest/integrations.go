package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testWakes checks Transition.WakeAt, WaitState and WaitFor with DueWakes,
// for stores that implement store.WakeStore; others skip it.
func testWakes(t *testing.T, open opener) {
	if _, ok := open(t).(store.WakeStore); !ok {
		t.Skip("the store does not implement store.WakeStore")
	}
	state := func(v any) redact.JSON {
		j, err := redact.New().JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	wait := func(t *testing.T, s store.Store, id string, tr store.Transition) string {
		t.Helper()
		createRun(t, s, newRun(id, "deploy", "ann", 0))
		nr := newNodeRun(id+"_1", id, "dispatch", 1, 1)
		must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr}))
		tr.RunID, tr.Wait = id, nr.Identifier
		must(t, "Wait", s.Apply(ctx(t), tr))
		return nr.Identifier
	}
	due := func(t *testing.T, s store.Store, now time.Time) []store.DueWake {
		t.Helper()
		ws, err := s.(store.WakeStore).DueWakes(ctx(t), now, 0)
		must(t, "DueWakes", err)
		return ws
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"DueEarliestFirstWithState", func(t *testing.T, s store.Store) {
			late := wait(t, s, "wfr_late", store.Transition{WakeAt: at(20), WaitState: state(map[string]any{"runId": 2})})
			early := wait(t, s, "wfr_early", store.Transition{WakeAt: at(10), WaitState: state(map[string]any{"runId": 1})})
			wait(t, s, "wfr_none", store.Transition{})
			ws := due(t, s, at(20))
			if len(ws) != 2 || ws[0].NodeRunID != early || ws[1].NodeRunID != late {
				t.Fatalf("DueWakes = %+v, want %s then %s", ws, early, late)
			}
			if string(ws[0].State.Bytes()) != `{"runId":1}` || !near(ws[0].WakeAt, at(10)) || ws[0].RunID != "wfr_early" {
				t.Errorf("first wake = %+v (state %s)", ws[0], ws[0].State.Bytes())
			}
			if got := due(t, s, at(9)); len(got) != 0 {
				t.Errorf("DueWakes before every wake = %+v, want none", got)
			}
		}},
		{"RewaitMovesWakeKeepsState", func(t *testing.T, s store.Store) {
			id := wait(t, s, "wfr_1", store.Transition{WakeAt: at(10), WaitState: state(map[string]any{"runId": 7})})
			must(t, "Wait again", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Wait: id, WakeAt: at(30)}))
			if got := due(t, s, at(20)); len(got) != 0 {
				t.Fatalf("DueWakes after the wake moved = %+v, want none", got)
			}
			ws := due(t, s, at(30))
			if len(ws) != 1 || string(ws[0].State.Bytes()) != `{"runId":7}` {
				t.Fatalf("DueWakes = %+v, want the node run with its state kept", ws)
			}
		}},
		{"CompletedOrFinishedIsNotDue", func(t *testing.T, s store.Store) {
			id := wait(t, s, "wfr_1", store.Transition{WakeAt: at(10)})
			wait(t, s, "wfr_2", store.Transition{WakeAt: at(10)})
			out := state(map[string]any{"ok": true})
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Complete: &store.NodeRunCompletion{NodeRunID: id, Result: store.ResultSuccess, Output: out, CompletedAt: at(11)}}))
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_2", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(11)}}))
			if got := due(t, s, at(50)); len(got) != 0 {
				t.Errorf("DueWakes = %+v, want none", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// testIntegrations checks installations and claims, for stores that
// implement store.IntegrationStore; others skip it.
func testIntegrations(t *testing.T, open opener) {
	if _, ok := open(t).(store.IntegrationStore); !ok {
		t.Skip("the store does not implement store.IntegrationStore")
	}
	// handoff creates run id whose node run id+"_1" waits for installation.
	handoff := func(t *testing.T, s store.Store, id, installation string, i int) string {
		t.Helper()
		createRun(t, s, newRun(id, "deploy", "ann", i))
		nr := newNodeRun(id+"_1", id, "agent", 1, i)
		must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr}))
		must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: id, Wait: nr.Identifier, WaitFor: store.WaitForIntegration(installation)}))
		return nr.Identifier
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, is store.IntegrationStore)
	}{
		{"Installations", func(t *testing.T, s store.Store, is store.IntegrationStore) {
			gh := store.Installation{ID: "gh", Provider: "github-ocean", BaseURL: "https://ghe.example.com/api/v3", TokenSecret: "GH_TOKEN", CreatedBy: "ann", CreatedAt: at(1)}
			must(t, "Create gh", is.CreateInstallation(ctx(t), gh))
			must(t, "Create agents", is.CreateInstallation(ctx(t), store.Installation{ID: "agents", Provider: "ai-agents", External: true}))
			wantErr(t, "Create gh again", is.CreateInstallation(ctx(t), gh), store.ErrExists)
			got, err := is.GetInstallation(ctx(t), "gh")
			must(t, "Get", err)
			if got.Provider != gh.Provider || got.BaseURL != gh.BaseURL || got.TokenSecret != "GH_TOKEN" || got.External || got.CreatedBy != "ann" || !near(got.CreatedAt, at(1)) {
				t.Errorf("Get = %+v, want %+v", got, gh)
			}
			list, err := is.ListInstallations(ctx(t))
			must(t, "List", err)
			if len(list) != 2 || list[0].ID != "agents" || !list[0].External || list[1].ID != "gh" {
				t.Errorf("List = %+v, want agents then gh", list)
			}
			must(t, "Delete", is.DeleteInstallation(ctx(t), "gh"))
			wantErr(t, "Delete again", is.DeleteInstallation(ctx(t), "gh"), store.ErrNotFound)
			_, err = is.GetInstallation(ctx(t), "gh")
			wantErr(t, "Get deleted", err, store.ErrNotFound)
		}},
		{"ClaimExpireReclaimAck", func(t *testing.T, s store.Store, is store.IntegrationStore) {
			a := handoff(t, s, "wfr_a", "agents", 1)
			b := handoff(t, s, "wfr_b", "agents", 2)
			handoff(t, s, "wfr_other", "other", 3)
			cs, err := is.ClaimNodeRuns(ctx(t), "agents", "c1", at(10), at(20), 1)
			must(t, "Claim 1", err)
			if len(cs) != 1 || cs[0].NodeRunID != a || cs[0].ClaimedBy != "c1" || !near(cs[0].ClaimedUntil, at(20)) || cs[0].Claims != 1 || cs[0].InstallationID != "agents" {
				t.Fatalf("first claim = %+v, want %s by c1 until at(20)", cs, a)
			}
			cs, err = is.ClaimNodeRuns(ctx(t), "agents", "c2", at(11), at(21), 10)
			must(t, "Claim 2", err)
			if len(cs) != 1 || cs[0].NodeRunID != b {
				t.Fatalf("second claim = %+v, want only %s", cs, b)
			}
			// a's claim ends at(20): it is offered again, to c2.
			cs, err = is.ClaimNodeRuns(ctx(t), "agents", "c2", at(20), at(30), 10)
			must(t, "Reclaim", err)
			if len(cs) != 1 || cs[0].NodeRunID != a || cs[0].Claims != 2 {
				t.Fatalf("reclaim = %+v, want %s claimed a second time", cs, a)
			}
			_, err = is.AckNodeRun(ctx(t), a, "c1", at(21))
			wantErr(t, "Ack by the claimer whose claim expired", err, store.ErrNotClaimed)
			c, err := is.AckNodeRun(ctx(t), a, "c2", at(22))
			must(t, "Ack", err)
			if c.AckedAt == nil || !near(*c.AckedAt, at(22)) {
				t.Errorf("Ack = %+v, want AckedAt at(22)", c)
			}
			_, err = is.AckNodeRun(ctx(t), a, "c2", at(23))
			wantErr(t, "Ack again", err, store.ErrAlreadyAcked)
			_, err = is.AckNodeRun(ctx(t), "wfnr_never", "c2", at(23))
			wantErr(t, "Ack unclaimed", err, store.ErrNotFound)
			// Acknowledged: never offered again, even after its claim ended.
			cs, err = is.ClaimNodeRuns(ctx(t), "agents", "c3", at(100), at(110), 10)
			must(t, "Claim after ack", err)
			if len(cs) != 1 || cs[0].NodeRunID != b {
				t.Fatalf("claim after ack = %+v, want only %s", cs, b)
			}
			got, err := is.GetClaim(ctx(t), a)
			must(t, "GetClaim", err)
			if got.AckedAt == nil || got.ClaimedBy != "c2" {
				t.Errorf("GetClaim = %+v", got)
			}
			_, err = is.ClaimNodeRuns(ctx(t), "agents", "c3", at(100), at(110), 0)
			if err == nil {
				t.Errorf("Claim with limit 0: no error")
			}
		}},
		{"CompletedIsNotClaimed", func(t *testing.T, s store.Store, is store.IntegrationStore) {
			a := handoff(t, s, "wfr_a", "agents", 1)
			out, _ := redact.New().JSON(map[string]any{"ok": true})
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Complete: &store.NodeRunCompletion{NodeRunID: a, Result: store.ResultSuccess, Output: out}}))
			cs, err := is.ClaimNodeRuns(ctx(t), "agents", "c1", at(10), at(20), 10)
			must(t, "Claim", err)
			if len(cs) != 0 {
				t.Errorf("Claim = %+v, want none", cs)
			}
		}},
		{"ConcurrentClaimersNeverShare", func(t *testing.T, s store.Store, is store.IntegrationStore) {
			const n = 20
			for i := range n {
				handoff(t, s, "wfr_"+string(rune('a'+i)), "agents", i)
			}
			var (
				mu   sync.Mutex
				seen = map[string]string{}
				wg   sync.WaitGroup
				errs []error
			)
			for c := range 4 {
				claimer := "c" + string(rune('0'+c))
				wg.Go(func() {
					for range n {
						cs, err := is.ClaimNodeRuns(ctx(t), "agents", claimer, at(10), at(1000), 3)
						mu.Lock()
						if err != nil && !errors.Is(err, store.ErrUnavailable) {
							errs = append(errs, err)
						}
						for _, c := range cs {
							if prev, dup := seen[c.NodeRunID]; dup {
								errs = append(errs, errors.New(c.NodeRunID+" claimed by "+prev+" and "+claimer))
							}
							seen[c.NodeRunID] = claimer
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if len(seen) != n {
				t.Errorf("%d node runs claimed, want %d", len(seen), n)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.run(t, s, s.(store.IntegrationStore))
		})
	}
}
