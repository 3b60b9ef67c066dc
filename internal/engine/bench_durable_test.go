package engine_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// loadDef is bench/load's 4-node workflow: trigger → WEBHOOK → CONDITION →
// WEBHOOK, the CONDITION reading the first call's status.
const loadDef = `{"identifier": "load", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}}, "required": ["env"]}}},
	{"identifier": "call", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/call", "body": {"env": "{{ .outputs.trigger.env }}"}}},
	{"identifier": "check", "config": {"type": "CONDITION", "outlets": [{"identifier": "ok", "title": "OK", "expression": ".outputs.call.response.status == 200"}]}},
	{"identifier": "notify", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/notify", "body": {"env": "{{ .outputs.trigger.env }}"}}}],
	"connections": [
	{"sourceIdentifier": "trigger", "targetIdentifier": "call"},
	{"sourceIdentifier": "call", "targetIdentifier": "check"},
	{"sourceIdentifier": "check", "sourceOutletIdentifier": "ok", "targetIdentifier": "notify"}]}`

// processCPU returns the CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDurableRun measures what bench/load's run costs sluice without
// its HTTP: the engine and the SQLite store driving the 4-node workflow
// (three commits: the creation with the first webhook's start, the
// webhook's completion with the CONDITION and the second start, the
// completion with the run's end), its WEBHOOK nodes answering at once with
// what the load harness's receiver answers. 16 runs at a time, as the load
// harness's closed loop, so that the store group commits their steps.
// cpu-ms/run is the process's CPU per run: set beside the floor's CPU per
// run (bench/load -floor-work), it says how much of a run's budget the work
// that makes it durable takes by itself (docs/performance.md).
func BenchmarkDurableRun(b *testing.B) {
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(b.TempDir(), "durable.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	condition.Register(reg)
	reg.Register(workflow.TypeWebhook, funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{"response": map[string]any{"status": 200, "data": map[string]any{"ok": true}}}}, nil
	}))
	wf, problems := workflow.Parse([]byte(loadDef))
	if err := problems.Err(); err != nil {
		b.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Options{Store: st, Nodes: reg})
	b.ReportAllocs()
	b.SetParallelism(8)
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		inputs := map[string]any{"env": "prod"}
		for pb.Next() {
			run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: inputs})
			if err != nil {
				b.Error(err)
				return
			}
			done, err := eng.Execute(ctx, run.Identifier)
			if err != nil || done.Result != store.ResultSuccess {
				b.Errorf("run %s: %v", done.Result, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/run")
}

// BenchmarkDurableRunRawCommits is BenchmarkDurableRun's baseline: the
// same three commits per run, 16 runs at a time, each a plain single-row
// INSERT through database/sql on a file with the store's journal and sync
// settings (one writer connection, as the store has), and nothing else.
func BenchmarkDurableRunRawCommits(b *testing.B) {
	db := rawCommitsDB(b)
	body := []byte(`{"response":{"status":200,"data":{"ok":true}}}`)
	b.SetParallelism(8)
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for range 3 {
				if _, err := db.Exec(`INSERT INTO t (run, body) VALUES (?, ?)`, "wfr_0123456789abcdef", body); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/run")
}
