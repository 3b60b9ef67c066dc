package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

type countingStore struct {
	store.Store
	n int
}

func (c *countingStore) CreateRun(ctx context.Context, r store.Run, f store.NodeRun, l []store.Log) error {
	c.n++
	return c.Store.CreateRun(ctx, r, f, l)
}
func (c *countingStore) Apply(ctx context.Context, t store.Transition) error {
	c.n++
	return c.Store.Apply(ctx, t)
}
func (c *countingStore) AppendLogs(ctx context.Context, l []store.Log) error {
	c.n++
	return c.Store.AppendLogs(ctx, l)
}
func (c *countingStore) BeginAttempt(ctx context.Context, id string) (int, error) {
	c.n++
	return c.Store.BeginAttempt(ctx, id)
}

// TestEngineRunCommits counts the commits of one run of the benchmark's
// chain, so that BenchmarkBaselineRawCommits does as many.
func TestEngineRunCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "c.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := node.NewRegistry()
	reg.Register(workflow.TypeUpsertEntity, funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{"ok": true}}, nil
	}))
	wf, problems := workflow.Parse([]byte(chainDef(benchNodes)))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	eng := engine.New(engine.Options{Store: cs, Nodes: reg})
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: map[string]any{"env": "prod", "count": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	if cs.n != benchRunCommits {
		t.Errorf("a run of %d nodes commits %d times; BenchmarkBaselineRawCommits does benchRunCommits = %d", benchNodes, cs.n, benchRunCommits)
	}
}
