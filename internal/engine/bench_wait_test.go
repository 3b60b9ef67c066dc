package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// BenchmarkWaitingRunMemory puts b.N runs into a wait on an async WEBHOOK
// (a loopback receiver that answers 202 at once; the node's headers read a
// secret and derive a value from it) and reports the heap the waiting runs
// add, per run and for 100,000 runs (runtime.ReadMemStats after a GC,
// before the first run and after the last). sealed=true is sluice as it
// is: the redactor of a waiting run is sealed into the store and dropped;
// sealed=false is the engine without a Sealer, which keeps each waiting
// run's redactor in memory (main before issue 13 item 3). Run it with a
// fixed count: -bench WaitingRunMemory -benchtime 10000x.
func BenchmarkWaitingRunMemory(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		name := "sealed=true"
		if !sealed {
			name = "sealed=false"
		}
		b.Run(name, func(b *testing.B) { benchWaiting(b, sealed) })
	}
}

func benchWaiting(b *testing.B, sealed bool) {
	ctx := context.Background()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	dir := b.TempDir()
	st, err := sqlitetest.Open(ctx, filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: dir, Env: func(string) string { return "" }, Generate: true})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := secret.Open(ctx, st, ring)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Create(ctx, "admin", "TOKEN", "TOK-ABCDEF0123456789", ""); err != nil {
		b.Fatal(err)
	}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	var source engine.SecretSource = svc
	if !sealed {
		source = resolveOnly{svc}
	}
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Secrets: source})
	wf, problems := workflow.Parse([]byte(`{"identifier": "waits", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"Authorization": "Bearer {{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`))
	if err := problems.Err(); err != nil {
		b.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		b.Fatal(err)
	}
	one := func() error {
		run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "u"}})
		if err != nil {
			return err
		}
		_, err = eng.Execute(ctx, run.Identifier)
		return err
	}
	// Warm up: the first run fills the caches every later run shares.
	for range 50 {
		if err := one(); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var (
		next int64
		wg   sync.WaitGroup
		errs = make(chan error, 8)
	)
	for range 8 {
		wg.Go(func() {
			for atomic.AddInt64(&next, 1) <= int64(b.N) {
				if err := one(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	b.ReportMetric(grown/float64(b.N), "heapB/waiting-run")
	b.ReportMetric(grown/float64(b.N)*100_000/(1<<20), "MiB/100k-runs")
	b.ReportMetric(float64(eng.Stats().Redactors), "redactors-kept")
	runtime.KeepAlive(eng)
}
