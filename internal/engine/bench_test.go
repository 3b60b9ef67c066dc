package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

const benchNodes = 10

// benchRunCommits is how many times one run of the chain commits: creating
// the run, starting each node (with the previous one's completion), and
// finishing the run with the last completion. TestEngineRunCommits counts
// them, so that the raw baseline does the same number.
const benchRunCommits = benchNodes + 2

// chainDef is a trigger followed by n UPSERT_ENTITY nodes, each with a small
// templated config, so that rendering is part of what is measured.
func chainDef(n int) string {
	var nodes, conns []string
	nodes = append(nodes, trigger)
	prev := "trigger"
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"identifier": %q, "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "svc",
			"mapping": {"identifier": "{{ .outputs.trigger.env }}-%d", "properties": {"count": "{{ .outputs.trigger.count }}"}}}}`, id, i))
		conns = append(conns, fmt.Sprintf(`{"sourceIdentifier": %q, "targetIdentifier": %q}`, prev, id))
		prev = id
	}
	return `{"identifier": "chain", "nodes": [` + strings.Join(nodes, ",") + `], "connections": [` + strings.Join(conns, ",") + `]}`
}

// benchEngine opens a SQLite file (closed with b), an engine whose
// UPSERT_ENTITY nodes do nothing, and stores the chain workflow.
func benchEngine(b *testing.B) (*engine.Engine, *workflow.Workflow, int) {
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	reg.Register(workflow.TypeUpsertEntity, funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{"ok": true, "id": req.Config["mapping"].(map[string]any)["identifier"]}}, nil
	}))
	wf, problems := workflow.Parse([]byte(chainDef(benchNodes)))
	if err := problems.Err(); err != nil {
		b.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		b.Fatal(err)
	}
	return engine.New(engine.Options{Store: st, Nodes: reg}), wf, rec.Version
}

// BenchmarkEngineRun measures a whole run of benchNodes no-op nodes on a
// SQLite file (synchronous=NORMAL): creating the run, rendering each node's
// config, executing, redacting and committing each step. ns/node is the
// engine's overhead per node, commit included.
func BenchmarkEngineRun(b *testing.B) {
	ctx := context.Background()
	eng, wf, version := benchEngine(b)
	inputs := map[string]any{"env": "prod", "count": 2}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version, Inputs: inputs})
		if err != nil {
			b.Fatal(err)
		}
		done, err := eng.Execute(ctx, run.Identifier)
		if err != nil || done.Result != store.ResultSuccess {
			b.Fatalf("run %v: %v", done.Result, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchNodes), "ns/node")
}

// rawCommitsDB opens the raw baselines' database (closed with b): a SQLite
// file with the store's journal and sync settings, one connection, as the
// store's writer has, and one table of (id, run, body).
func rawCommitsDB(b *testing.B) *sql.DB {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, run TEXT, body BLOB)`); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkBaselineRawCommits is the floor the engine stands on: the same
// number of SQLite commits as one run (benchRunCommits), each a plain
// single-row INSERT through database/sql on a file with the same pragmas.
func BenchmarkBaselineRawCommits(b *testing.B) {
	db := rawCommitsDB(b)
	body := []byte(`{"ok":true,"id":"prod-1"}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range benchRunCommits {
			if _, err := db.Exec(`INSERT INTO t (run, body) VALUES (?, ?)`, "wfr_0123456789abcdef", body); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchNodes), "ns/node")
}

// BenchmarkEngineRunParallel is BenchmarkEngineRun under concurrent load:
// many runs of the same chain at once, each driven by its own goroutine
// (b.SetParallelism(8): 8 × GOMAXPROCS goroutines, 16 on 2 cores), as a
// server drives them, so that their steps are
// group committed by the store. ns/node is the elapsed time over all the
// nodes of all the runs: the engine's overhead per node in throughput terms.
func BenchmarkEngineRunParallel(b *testing.B) {
	ctx := context.Background()
	eng, wf, version := benchEngine(b)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine its own inputs: a run's context is not shared.
		inputs := map[string]any{"env": "prod", "count": 2}
		for pb.Next() {
			run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version, Inputs: inputs})
			if err != nil {
				b.Error(err)
				return
			}
			done, err := eng.Execute(ctx, run.Identifier)
			if err != nil || done.Result != store.ResultSuccess {
				b.Errorf("run %v: %v", done.Result, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchNodes), "ns/node")
}
