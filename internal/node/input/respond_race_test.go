package input

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// racingEngine runs race once, just before the first completion of a node
// run it is asked for: what the wait loop's DeliverDecided does when it
// reads a decision between the moment Respond records it and the moment
// Respond delivers it.
type racingEngine struct {
	Engine
	once sync.Once
	race func()
}

func (r *racingEngine) CompleteNodeRun(ctx context.Context, id string, c engine.Completion) (store.Run, error) {
	if c.Status == store.StatusCompleted {
		r.once.Do(r.race)
	}
	return r.Engine.CompleteNodeRun(ctx, id, c)
}

// TestRespondWhenTheLoopDeliveredFirst: the response that decides an INPUT
// node is answered as recorded (200 with its decision), not 409, when the
// periodic delivery of decided node runs completed the node between the
// response's record and its own delivery. Before, the responder was told
// the node took no responses although theirs had decided it.
func TestRespondWhenTheLoopDeliveredFirst(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "input.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	Register(reg, Options{Store: st, Users: st})
	eng := engine.New(engine.Options{Store: st, Nodes: reg})
	wf, problems := workflow.Parse([]byte(`{"identifier": "ask", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}},
		{"identifier": "approval", "config": {"type": "INPUT",
		  "userInputs": {"properties": {}, "buttons": [{"identifier": "approve", "label": "Approve", "variant": "PRIMARY"}]},
		  "outlets": [{"identifier": "approve", "evaluationMethod": "button", "numOfResponders": 1}],
		  "responders": {"users": ["alice@example.com"]}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "approval"}]}`))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	nrs, err := st.NodeRuns(ctx, run.Identifier)
	if err != nil || len(nrs) != 2 || !nrs[1].Waiting {
		t.Fatalf("node runs = %+v (%v), want the INPUT node waiting", nrs, err)
	}

	re := &racingEngine{Engine: eng}
	svc, ok := NewService(st, re, nil)
	if !ok {
		t.Fatal("the SQLite store keeps no responses")
	}
	loop, _ := NewService(st, eng, nil) // the wait loop's, on the engine itself
	delivered := 0
	re.race = func() {
		runs, err := loop.DeliverDecided(ctx, 10)
		if err != nil {
			t.Errorf("the loop's delivery: %v", err)
		}
		delivered = len(runs)
	}
	alice := authz.Actor{ID: "u-alice", Email: "alice@example.com", Role: store.RoleMember}
	out, err := svc.Respond(ctx, alice, nrs[1].Identifier, Response{Button: "approve"})
	if delivered != 1 {
		t.Fatalf("the loop delivered %d decisions in the race, want 1: the test did not make the race", delivered)
	}
	if err != nil {
		t.Fatalf("the response that decided the node was refused: %v", err)
	}
	if out.Decision.Outlet != "approve" {
		t.Errorf("decision = %+v, want the approve outlet", out.Decision)
	}
	nr, err := st.GetNodeRun(ctx, nrs[1].Identifier)
	if err != nil || nr.Status != store.StatusCompleted || nr.Result != store.ResultSuccess {
		t.Errorf("node run = %s %s (%v), want COMPLETED SUCCESS", nr.Status, nr.Result, err)
	}
}
