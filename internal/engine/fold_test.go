package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/view"
)

// openFlowStore opens a SQLite store in t's temp dir, closed when t ends,
// and a registry of the WEBHOOK and CONDITION executors.
func openFlowStore(t *testing.T) (*sqlite.Store, *node.Registry) {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), filepath.Join(t.TempDir(), "flow.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	return st, reg
}

// TestFoldedConditions checks that CONDITION nodes (node.Pure) are
// evaluated within the step that reaches them: their node runs are stored
// completed with that step's commit, in path order, with one attempt, their
// events come once it committed, and a run costs one commit less per
// condition than a start and a completion would.
func TestFoldedConditions(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	cond := func(id, expr string) string {
		return fmt.Sprintf(`{"identifier": %q, "config": {"type": "CONDITION", "outlets": [{"identifier": "yes", "expression": %q}]}}`, id, expr)
	}
	hook := func(id string) string {
		return fmt.Sprintf(`{"identifier": %q, "config": {"type": "WEBHOOK", "url": %q}}`, id, rcv.URL+"/"+id)
	}
	asyncHook := func(id string) string {
		return fmt.Sprintf(`{"identifier": %q, "config": {"type": "WEBHOOK", "url": %q, "synchronized": false}}`, id, rcv.URL+"/"+id)
	}
	conn := func(from, outlet, to string) string {
		if outlet == "" {
			return fmt.Sprintf(`{"sourceIdentifier": %q, "targetIdentifier": %q}`, from, to)
		}
		return fmt.Sprintf(`{"sourceIdentifier": %q, "sourceOutletIdentifier": %q, "targetIdentifier": %q}`, from, outlet, to)
	}
	def := func(id string, nodes, conns []string) string {
		return fmt.Sprintf(`{"identifier": %q, "nodes": [%s, %s], "connections": [%s]}`, id, trigger, strings.Join(nodes, ", "), strings.Join(conns, ", "))
	}
	tests := []struct {
		name     string
		def      string
		complete string // a node run waiting on this node is completed from outside
		result   string
		path     []string
		// commits: CreateRun, Apply, AppendLogs and BeginAttempt calls in
		// all (a start and a completion per node would be 2 more per
		// condition).
		commits int
		events  []string
		check   func(t *testing.T, v view.Run)
	}{
		{
			name: "two conditions between two webhooks: one step",
			def: def("f1", []string{hook("a"), cond("c1", ".outputs.trigger.count == 3"), cond("c2", `.outputs.c1.selectedOutlet.identifier == "yes"`), hook("b")},
				[]string{conn("trigger", "", "a"), conn("a", "", "c1"), conn("c1", "yes", "c2"), conn("c2", "yes", "b")}),
			result:  "COMPLETED SUCCESS",
			path:    []string{"trigger", "a", "c1", "c2", "b"},
			commits: 4, // create; start a; complete a + c1 + c2 + start b; complete b + finish
			events: []string{"finished trigger", "driving", "started a", "finished a SUCCESS", "started c1", "finished c1 SUCCESS",
				"started c2", "finished c2 SUCCESS", "started b", "finished b SUCCESS", "run SUCCESS", "idle"},
		},
		{
			name:    "a condition right after the trigger",
			def:     def("f2", []string{cond("c1", "true"), hook("b")}, []string{conn("trigger", "", "c1"), conn("c1", "yes", "b")}),
			result:  "COMPLETED SUCCESS",
			path:    []string{"trigger", "c1", "b"},
			commits: 3, // create; c1 + start b; complete b + finish
			events:  []string{"finished trigger", "driving", "started c1", "finished c1 SUCCESS", "started b", "finished b SUCCESS", "run SUCCESS", "idle"},
		},
		{
			name:    "a condition that ends the path finishes the run in its step",
			def:     def("f3", []string{hook("a"), cond("c1", "false")}, []string{conn("trigger", "", "a"), conn("a", "", "c1")}),
			result:  "COMPLETED SUCCESS",
			path:    []string{"trigger", "a", "c1"},
			commits: 3, // create; start a; complete a + c1 + finish
			events:  []string{"finished trigger", "driving", "started a", "finished a SUCCESS", "started c1", "finished c1 SUCCESS", "run SUCCESS", "idle"},
			check: func(t *testing.T, v view.Run) {
				if got := string(v.Variables.Outputs["c1"]); got != `{"selectedOutlet":null}` {
					t.Errorf("c1 output = %s", got)
				}
			},
		},
		{
			name:    "a failing condition fails the run in its step, with its log",
			def:     def("f4", []string{cond("c1", `error("no route")`), hook("b")}, []string{conn("trigger", "", "c1"), conn("c1", "yes", "b")}),
			result:  "COMPLETED FAILED",
			path:    []string{"trigger", "c1"},
			commits: 2, // create; c1 + finish
			events:  []string{"finished trigger", "driving", "started c1", "finished c1 FAILED", "run FAILED", "idle"},
			check: func(t *testing.T, v view.Run) {
				logs := v.NodeRuns[1].NodeRunLogs
				if len(logs) != 1 || logs[0].LogLevel != "ERROR" || !strings.Contains(logs[0].Log, "no route") {
					t.Errorf("c1 logs = %+v, want its error", logs)
				}
			},
		},
		{
			name:     "a condition after an outside completion is folded into it",
			def:      def("f5", []string{asyncHook("w"), cond("c1", ".outputs.w.done == true"), hook("b")}, []string{conn("trigger", "", "w"), conn("w", "", "c1"), conn("c1", "yes", "b")}),
			complete: "w",
			result:   "COMPLETED SUCCESS",
			path:     []string{"trigger", "w", "c1", "b"},
			// create; start w; wait; complete w + c1 + start b; begin b's
			// attempt; complete b + finish
			commits: 6,
			// The outside completion commits w and c1 outside any drive;
			// each drive is framed by driving and idle.
			events: []string{"finished trigger", "driving", "started w", "waiting w", "idle", "finished w SUCCESS", "started c1", "finished c1 SUCCESS",
				"driving", "started b", "finished b SUCCESS", "run SUCCESS", "idle"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, reg := openFlowStore(t)
			var (
				mu     sync.Mutex
				events []string
			)
			cs := &countingStore{Store: st}
			eng := engine.New(engine.Options{Store: cs, Nodes: reg, OnEvent: func(ev engine.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch ev.Kind {
				case engine.NodeStarted:
					events = append(events, "started "+ev.NodeID)
				case engine.NodeWaiting:
					events = append(events, "waiting "+ev.NodeID)
				case engine.NodeFinished:
					events = append(events, strings.TrimSpace("finished "+ev.NodeID+" "+map[bool]string{true: "", false: ev.Result}[ev.NodeID == "trigger"]))
				case engine.RunFinished:
					events = append(events, "run "+ev.Result)
				case engine.RunDriving:
					events = append(events, "driving")
				case engine.RunIdle:
					events = append(events, "idle")
				}
			}})
			wf, version := storeWorkflow(t, st, tc.def)
			run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version, Actor: engine.Actor{ID: "ann"}})
			if err != nil {
				t.Fatal(err)
			}
			if run, err = eng.Execute(ctx, run.Identifier); err != nil {
				t.Fatal(err)
			}
			if tc.complete != "" {
				nrs, err := st.NodeRuns(ctx, run.Identifier)
				if err != nil {
					t.Fatal(err)
				}
				waiting := nrs[len(nrs)-1]
				if waiting.NodeID != tc.complete || !waiting.Waiting {
					t.Fatalf("last node run = %s (waiting %v), want %s waiting", waiting.NodeID, waiting.Waiting, tc.complete)
				}
				if _, err := eng.CompleteNodeRun(ctx, waiting.Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"done": true}}); err != nil {
					t.Fatal(err)
				}
				if run, err = eng.Execute(ctx, run.Identifier); err != nil {
					t.Fatal(err)
				}
			}
			v, err := view.Load(ctx, st, run.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if got := result(v); got != tc.result {
				t.Errorf("result = %s, want %s", got, tc.result)
			}
			if got := strings.Join(nodesRun(v), ","); got != strings.Join(tc.path, ",") {
				t.Errorf("path = %s, want %s", got, strings.Join(tc.path, ","))
			}
			nrs, err := st.NodeRuns(ctx, run.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			for i, nr := range nrs {
				if nr.Seq != i {
					t.Errorf("node run %d (%s) has seq %d", i, nr.NodeID, nr.Seq)
				}
				if nr.Status != store.StatusCompleted || nr.CompletedAt == nil {
					t.Errorf("node run %s = %s (completedAt %v), want COMPLETED", nr.NodeID, nr.Status, nr.CompletedAt)
				}
				if strings.HasPrefix(nr.NodeID, "c") && nr.Attempts != 1 {
					t.Errorf("condition %s has %d attempts, want 1", nr.NodeID, nr.Attempts)
				}
			}
			if cs.n != tc.commits {
				t.Errorf("the run committed %d times, want %d", cs.n, tc.commits)
			}
			mu.Lock()
			got := strings.Join(events, "; ")
			mu.Unlock()
			if want := strings.Join(tc.events, "; "); got != want {
				t.Errorf("events:\n got %s\nwant %s", got, want)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

// creatingStore is countingStore for a store that creates a run with
// several node runs (store.RunCreator), counting that commit too.
type creatingStore struct {
	countingStore
	rc store.RunCreator
}

func (c *creatingStore) CreateRunWith(ctx context.Context, cr store.Creation) error {
	c.n++
	return c.rc.CreateRunWith(ctx, cr)
}

// TestCreationStartsFirstNode checks that, with a store.RunCreator, the
// start of a run's first node (its first attempt counted) commits with the
// run's creation, unless that node is pure (then the first step evaluates
// it), and that the node runs Start stored are what its creator shows.
func TestCreationStartsFirstNode(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	hook := func(id string) string {
		return fmt.Sprintf(`{"identifier": %q, "config": {"type": "WEBHOOK", "url": %q}}`, id, rcv.URL+"/"+id)
	}
	route := `{"identifier": "c1", "config": {"type": "CONDITION", "outlets": [{"identifier": "yes", "expression": "true"}]}}`
	tests := []struct {
		name    string
		def     string
		created []string // node runs Start stored
		commits int
	}{
		{
			name: "a webhook first",
			def: `{"identifier": "s1", "nodes": [` + trigger + `, ` + hook("a") + `, ` + route + `, ` + hook("b") + `], "connections": [
				{"sourceIdentifier": "trigger", "targetIdentifier": "a"}, {"sourceIdentifier": "a", "targetIdentifier": "c1"},
				{"sourceIdentifier": "c1", "sourceOutletIdentifier": "yes", "targetIdentifier": "b"}]}`,
			created: []string{"trigger COMPLETED", "a IN_PROGRESS"},
			commits: 3, // create + start a; complete a + c1 + start b; complete b + finish
		},
		{
			name: "a condition first",
			def: `{"identifier": "s2", "nodes": [` + trigger + `, ` + route + `, ` + hook("b") + `], "connections": [
				{"sourceIdentifier": "trigger", "targetIdentifier": "c1"}, {"sourceIdentifier": "c1", "sourceOutletIdentifier": "yes", "targetIdentifier": "b"}]}`,
			created: []string{"trigger COMPLETED"},
			commits: 3, // create; c1 + start b; complete b + finish
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, reg := openFlowStore(t)
			cs := &creatingStore{countingStore: countingStore{Store: st}, rc: st}
			eng := engine.New(engine.Options{Store: cs, Nodes: reg})
			wf, version := storeWorkflow(t, st, tc.def)
			run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version, Actor: engine.Actor{ID: "ann"}})
			if err != nil {
				t.Fatal(err)
			}
			shown, ok := eng.CreatedNodeRuns(run.Identifier)
			if !ok {
				t.Fatal("CreatedNodeRuns: nothing for a run just started")
			}
			stored, err := st.NodeRuns(ctx, run.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, nr := range shown {
				got = append(got, nr.NodeID+" "+nr.Status)
				if i >= len(stored) || stored[i].Identifier != nr.Identifier || stored[i].Attempts != nr.Attempts || !stored[i].CreatedAt.Equal(nr.CreatedAt) {
					t.Errorf("shown node run %d = %+v, stored %+v", i, nr, stored)
				}
			}
			if strings.Join(got, ", ") != strings.Join(tc.created, ", ") || len(stored) != len(shown) {
				t.Errorf("Start stored %v (%d in the store), want %v", got, len(stored), tc.created)
			}
			if run, err = eng.Execute(ctx, run.Identifier); err != nil || run.Result != store.ResultSuccess {
				t.Fatalf("Execute = %s, %v", run.Result, err)
			}
			if _, ok := eng.CreatedNodeRuns(run.Identifier); ok {
				t.Error("CreatedNodeRuns still answers for a run driven to its end")
			}
			if cs.n != tc.commits {
				t.Errorf("the run committed %d times, want %d", cs.n, tc.commits)
			}
			nrs, err := st.NodeRuns(ctx, run.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			for _, nr := range nrs[1:] {
				if nr.Attempts != 1 {
					t.Errorf("node run %s has %d attempts, want 1", nr.NodeID, nr.Attempts)
				}
			}
		})
	}
}
