package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// A shutdown (ctx cancelled while a node runs) leaves the node IN_PROGRESS
// to resume later; the engine must not report it FAILED to OnEvent (the CLI
// would print it, the metrics would count it).
func TestShutdownDoesNotReportAFailure(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := node.NewRegistry()
	reg.Register("WEBHOOK", funcExec(func(c context.Context, _ *node.Request) (node.Result, error) {
		cancel() // the process is told to stop while the node runs
		<-c.Done()
		return node.Result{}, c.Err()
	}))
	var mu sync.Mutex
	var evs []engine.Event
	eng := engine.New(engine.Options{Store: st, Nodes: reg, OnEvent: func(e engine.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }})
	wf, ps := workflow.Parse([]byte(`{"identifier": "sd", "nodes": [` + trigger + `,
		{"identifier": "one", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/x"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "one"}]}`))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.CreateWorkflow(context.Background(), store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	run, err := eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Version: rec.Version})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = eng.Execute(ctx, run.Identifier)
	nrs, _ := st.NodeRuns(context.Background(), run.Identifier)
	for _, e := range evs {
		if e.Kind == engine.NodeFinished && e.NodeID == "one" {
			t.Errorf("event says node one finished %s (%s), but it is stored %s", e.Result, e.Error, nrs[1].Status)
		}
	}
}
