package telemetry_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/telemetry"
	"github.com/sluice-run/sluice/internal/workflow"
)

const benchNodes = 10

// BenchmarkRunTracing measures a whole run of a trigger and benchNodes
// no-op nodes on a SQLite file, as internal/engine's BenchmarkEngineRun
// does, untraced (the baseline, in the same run) and traced: into the
// SDK's batch processor with an exporter that drops the spans (the
// engine's and the SDK's cost), and over OTLP/HTTP to a loopback collector
// (encoding and posting too, on the batch processor's goroutine).
func BenchmarkRunTracing(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	for _, mode := range []string{"off", "on-discard", "on-otlp-loopback"} {
		b.Run(mode, func(b *testing.B) {
			var tr *telemetry.Tracer
			var err error
			switch mode {
			case "on-discard":
				tr, err = telemetry.New(telemetry.Options{Exporter: tracetest.NewNoopExporter()})
			case "on-otlp-loopback":
				tr, err = telemetry.New(telemetry.Options{Endpoint: collector.URL})
			}
			if err != nil {
				b.Fatal(err)
			}
			var opt engine.Tracer
			if tr != nil {
				opt = tr
				defer func() { _ = tr.Shutdown(context.Background()) }()
			}
			benchRuns(b, opt)
		})
	}
}

func benchRuns(b *testing.B, tr engine.Tracer) {
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := node.NewRegistry()
	reg.Register(workflow.TypeUpsertEntity, funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{"ok": true}}, nil
	}))
	nodes := []string{trigger}
	var conns []string
	prev := "trigger"
	for i := range benchNodes {
		id := fmt.Sprintf("n%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"identifier": %q, "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "svc", "mapping": {"identifier": "x-%d"}}}`, id, i))
		conns = append(conns, fmt.Sprintf(`{"sourceIdentifier": %q, "targetIdentifier": %q}`, prev, id))
		prev = id
	}
	wf, problems := workflow.Parse([]byte(`{"identifier": "chain", "nodes": [` + strings.Join(nodes, ",") + `], "connections": [` + strings.Join(conns, ",") + `]}`))
	if err := problems.Err(); err != nil {
		b.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Tracer: tr})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version})
		if err != nil {
			b.Fatal(err)
		}
		done, err := eng.Execute(ctx, run.Identifier)
		if err != nil || done.Result != store.ResultSuccess {
			b.Fatalf("run %v: %v", done.Result, err)
		}
	}
}

// BenchmarkSpans is the tracer's own cost for one run of the chain above,
// without the engine or the store: a node run span for the trigger and each
// node, then the run span, into the batch processor with an exporter that
// drops them.
func BenchmarkSpans(b *testing.B) {
	tr, err := telemetry.New(telemetry.Options{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for i := range benchNodes + 1 {
			tr.NodeRun(engine.NodeSpan{WorkflowID: "chain", WorkflowVersion: 1, RunID: "wfr_0123456789abcdef", NodeID: "n1", NodeType: "UPSERT_ENTITY",
				NodeRunID: "wfnr_0123456789abcde" + strconv.Itoa(i%10), Attempt: 1, Start: now, End: now, Result: "SUCCESS"})
		}
		tr.Run(engine.RunSpan{WorkflowID: "chain", WorkflowVersion: 1, RunID: "wfr_0123456789abcdef", TriggerNode: "trigger", Start: now, End: now, Result: "SUCCESS"})
	}
}
