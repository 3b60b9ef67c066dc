package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testInputs checks store.InputStore, for stores that implement it; others
// skip it.
func testInputs(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.InputStore); !ok {
		t.Skip("the store does not implement store.InputStore")
	}
	red := redact.New()
	js := func(v any) redact.JSON {
		j, err := red.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	// opened creates run id with an INPUT node run id+"_1" and opens it.
	opened := func(t *testing.T, s store.Store, id string) string {
		t.Helper()
		createRun(t, s, newRun(id, "deploy", "ann", 0))
		nr := newNodeRun(id+"_1", id, "approval", 1, 1)
		must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr, Wait: nr.Identifier}))
		must(t, "OpenInput", s.(store.InputStore).OpenInput(ctx(t), store.InputRequest{NodeRunID: nr.Identifier, RunID: id, Prompt: js(map[string]any{"description": "ship it?"}), CreatedAt: at(2)}))
		return nr.Identifier
	}
	resp := func(nodeRunID, who, button string, i int) store.InputResponse {
		return store.InputResponse{NodeRunID: nodeRunID, ResponderID: "usr_" + who, Email: who + "@example.com", FirstName: who, LastName: "Doe",
			Button: button, Inputs: js(map[string]any{"reason": "by " + who}), RespondedAt: at(i)}
	}
	outlets := []store.InputOutlet{{Button: "approve", Need: 2}, {Button: "decline", Need: 1}}

	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, is store.InputStore)
	}{
		{"TwoApprovals", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			got, err := is.GetInput(ctx(t), id)
			must(t, "GetInput", err)
			c := checker{t, "GetInput"}
			c.eq("RunID", got.RunID, "wfr_1")
			c.json("Prompt", got.Prompt.Bytes(), []byte(`{"description":"ship it?"}`))
			c.time("CreatedAt", got.CreatedAt, at(2))

			d, err := is.Respond(ctx(t), resp(id, "alice", "approve", 3), outlets)
			must(t, "Respond alice", err)
			if d.Outlet != "" || len(d.Responses) != 1 || d.RunID != "wfr_1" {
				t.Fatalf("after one approval: %+v, want undecided with 1 response", d)
			}
			d, err = is.Respond(ctx(t), resp(id, "bob", "approve", 4), outlets)
			must(t, "Respond bob", err)
			if d.Outlet != "approve" || len(d.Responses) != 2 {
				t.Fatalf("after two approvals: outlet %q, %d responses, want approve, 2", d.Outlet, len(d.Responses))
			}
			r := d.Responses[0]
			c = checker{t, "first response"}
			c.eq("ResponderID", r.ResponderID, "usr_alice")
			c.eq("Email", r.Email, "alice@example.com")
			c.eq("FirstName", r.FirstName, "alice")
			c.eq("LastName", r.LastName, "Doe")
			c.eq("Button", r.Button, "approve")
			c.json("Inputs", r.Inputs.Bytes(), []byte(`{"reason":"by alice"}`))
			c.time("RespondedAt", r.RespondedAt, at(3))

			// Decided: no more responses, and the decision reads back.
			_, err = is.Respond(ctx(t), resp(id, "carol", "decline", 5), outlets)
			wantErr(t, "Respond after the decision", err, store.ErrDecided)
			back, err := is.Responses(ctx(t), id)
			must(t, "Responses", err)
			if back.Outlet != "approve" || len(back.Responses) != 2 || back.Responses[1].ResponderID != "usr_bob" {
				t.Errorf("Responses = %+v, want approve with alice then bob", back)
			}
		}},
		{"OneDeclineIsEnough", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			_, err := is.Respond(ctx(t), resp(id, "alice", "approve", 3), outlets)
			must(t, "Respond alice", err)
			d, err := is.Respond(ctx(t), resp(id, "bob", "decline", 4), outlets)
			must(t, "Respond bob", err)
			if d.Outlet != "decline" {
				t.Errorf("outlet = %q, want decline", d.Outlet)
			}
		}},
		{"OneResponseEach", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			_, err := is.Respond(ctx(t), resp(id, "alice", "approve", 3), outlets)
			must(t, "Respond alice", err)
			_, err = is.Respond(ctx(t), resp(id, "alice", "decline", 4), outlets)
			wantErr(t, "second response of alice", err, store.ErrResponded)
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("ErrResponded does not match ErrConflict: %v", err)
			}
			d, err := is.Responses(ctx(t), id)
			must(t, "Responses", err)
			if d.Outlet != "" || len(d.Responses) != 1 {
				t.Errorf("after a refused response: %+v, want 1 response, undecided", d)
			}
		}},
		{"NotOpened", func(t *testing.T, s store.Store, is store.InputStore) {
			_, err := is.Respond(ctx(t), resp("wfnr_missing", "alice", "approve", 3), outlets)
			wantErr(t, "Respond to a missing input", err, store.ErrNotFound)
			_, err = is.GetInput(ctx(t), "wfnr_missing")
			wantErr(t, "GetInput missing", err, store.ErrNotFound)
			_, err = is.Responses(ctx(t), "wfnr_missing")
			wantErr(t, "Responses missing", err, store.ErrNotFound)
			err = is.OpenInput(ctx(t), store.InputRequest{NodeRunID: "wfnr_missing", RunID: "wfr_x", Prompt: js(map[string]any{})})
			wantErr(t, "OpenInput of a missing node run", err, store.ErrNotFound)
		}},
		{"FinishedRunTakesNoResponse", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_1", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(3)}}))
			_, err := is.Respond(ctx(t), resp(id, "alice", "approve", 4), outlets)
			wantErr(t, "Respond in a cancelled run", err, store.ErrDecided)
			err = is.OpenInput(ctx(t), store.InputRequest{NodeRunID: id, RunID: "wfr_1", Prompt: js(map[string]any{})})
			wantErr(t, "OpenInput in a cancelled run", err, store.ErrConflict)
			if open, err := is.OpenInputs(ctx(t), 0); err != nil || len(open) != 0 {
				t.Errorf("OpenInputs = %v, %v; want none", open, err)
			}
		}},
		{"ReopenKeepsResponses", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			_, err := is.Respond(ctx(t), resp(id, "alice", "approve", 3), outlets)
			must(t, "Respond", err)
			must(t, "OpenInput again", is.OpenInput(ctx(t), store.InputRequest{NodeRunID: id, RunID: "wfr_1", Prompt: js(map[string]any{"description": "again"})}))
			got, err := is.GetInput(ctx(t), id)
			must(t, "GetInput", err)
			checker{t, "reopened"}.json("Prompt", got.Prompt.Bytes(), []byte(`{"description":"again"}`))
			d, err := is.Responses(ctx(t), id)
			must(t, "Responses", err)
			if len(d.Responses) != 1 {
				t.Errorf("responses after reopening = %d, want 1", len(d.Responses))
			}
		}},
		{"Lists", func(t *testing.T, s store.Store, is store.InputStore) {
			open1 := opened(t, s, "wfr_1")
			decided := opened(t, s, "wfr_2")
			delivered := opened(t, s, "wfr_3")
			for _, id := range []string{decided, delivered} {
				_, err := is.Respond(ctx(t), resp(id, "alice", "decline", 3), outlets)
				must(t, "Respond", err)
			}
			out, _ := red.JSON(map[string]any{"selectedOutlet": map[string]any{"identifier": "decline"}})
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_3", Complete: &store.NodeRunCompletion{NodeRunID: delivered, Result: store.ResultSuccess, Output: out, CompletedAt: at(4)}}))

			open, err := is.OpenInputs(ctx(t), 0)
			must(t, "OpenInputs", err)
			if len(open) != 1 || open[0].NodeRunID != open1 {
				t.Errorf("OpenInputs = %v, want [%s]", open, open1)
			}
			und, err := is.UndeliveredDecisions(ctx(t), 0)
			must(t, "UndeliveredDecisions", err)
			if len(und) != 1 || und[0].NodeRunID != decided || und[0].Outlet != "decline" || und[0].RunID != "wfr_2" || len(und[0].Responses) != 1 {
				t.Errorf("UndeliveredDecisions = %+v, want %s decided decline", und, decided)
			}
		}},
		{"ConcurrentLastResponsesDecideOnce", func(t *testing.T, s store.Store, is store.InputStore) {
			id := opened(t, s, "wfr_1")
			_, err := is.Respond(ctx(t), resp(id, "alice", "approve", 3), outlets)
			must(t, "Respond alice", err)
			const n = 8
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				decided  []string
				refused  int
				failures []error
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					button := "approve"
					if i%2 == 1 {
						button = "decline"
					}
					d, err := is.Respond(ctx(t), resp(id, fmt.Sprintf("u%d", i), button, 4+i), outlets)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, store.ErrDecided):
						refused++
					case err != nil:
						failures = append(failures, err)
					case d.Outlet != "":
						decided = append(decided, d.Outlet)
					}
				}()
			}
			wg.Wait()
			if len(failures) > 0 {
				t.Fatalf("unexpected errors: %v", failures)
			}
			if len(decided) != 1 || refused != n-1 {
				t.Fatalf("decisions %v and %d refusals, want exactly one decision and %d refusals", decided, refused, n-1)
			}
			d, err := is.Responses(ctx(t), id)
			must(t, "Responses", err)
			if d.Outlet != decided[0] || len(d.Responses) != 2 {
				t.Errorf("stored decision %q with %d responses, want %q with 2", d.Outlet, len(d.Responses), decided[0])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.run(t, s, s.(store.InputStore))
		})
	}
}
