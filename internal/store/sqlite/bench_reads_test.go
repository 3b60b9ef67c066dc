package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// BenchmarkReadRequest measures the reads one API request makes on the hot
// path: authenticating (the token, its client) and loading a run with its
// node runs (GET /v1/workflows/runs/{id} without logs), 4 SELECTs, from 8
// goroutines per core. It is where preparing each read once (instead of on
// every call) shows.
func BenchmarkReadRequest(b *testing.B) {
	s := open(b, Options{})
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateClient(ctx, store.Client{ID: "cl_bench", Name: "bench", SecretHash: []byte("h"), Scopes: []string{"admin"}}); err != nil {
		b.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := s.CreateToken(ctx, store.Token{Hash: hash, ClientID: "cl_bench", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	const runs = 64
	for i := range runs {
		run := store.Run{Identifier: fmt.Sprintf("wfr_%d", i), WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
		first := store.NodeRun{Identifier: fmt.Sprintf("wfnr_%d_0", i), RunID: run.Identifier, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
		if err := s.CreateRun(ctx, run, first, nil); err != nil {
			b.Fatal(err)
		}
		next := store.NodeRun{Identifier: fmt.Sprintf("wfnr_%d_1", i), NodeID: "call", Seq: 1, Status: store.StatusInProgress, CreatedAt: now}
		err := s.Apply(ctx, store.Transition{RunID: run.Identifier,
			Complete: &store.NodeRunCompletion{NodeRunID: first.Identifier, Result: store.ResultSuccess, Output: redact.Reload([]byte(`{"env":"prod"}`)), CompletedAt: now},
			Start:    &next})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := s.GetToken(ctx, hash); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.GetClient(ctx, "cl_bench"); err != nil {
				b.Error(err)
				return
			}
			id := fmt.Sprintf("wfr_%d", i%runs)
			if _, err := s.GetRun(ctx, id); err != nil {
				b.Error(err)
				return
			}
			if nrs, err := s.NodeRuns(ctx, id); err != nil || len(nrs) != 2 {
				b.Errorf("node runs: %d, %v", len(nrs), err)
				return
			}
		}
	})
}
