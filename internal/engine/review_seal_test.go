package engine_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/workflow"
)

// TestSealedBeforeConfigLeaves: a node's config derives a value from a
// secret and is handed to its executor, and the process stops before the
// node's step commits (here: it never returns). A completion that arrives
// in the next process (over the same store, before the node is resumed)
// and echoes the derived value must find it sealed: the run has an origin
// row, so its redactor is rebuilt from its rows alone.
func TestSealedBeforeConfigLeaves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		echo string
	}{
		{"derived value", derived},
		{"derived value in a sentence", "Bearer " + derived + "!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			handed := make(chan struct{}, 1)
			exec := funcExec(func(ctx context.Context, req *node.Request) (node.Result, error) {
				if pl, _ := req.Config["payload"].(map[string]any); pl["t"] == nil {
					return node.Result{Output: map[string]any{"ok": true}}, nil
				}
				handed <- struct{}{} // the config has left the engine
				<-ctx.Done()         // the process "stops" here
				return node.Result{}, ctx.Err()
			})
			p := newSealed(t, map[string]node.Executor{workflow.TypeKafka: exec})
			wf, problems := workflow.Parse([]byte(`{"identifier": "crash", "nodes": [` + trigger + `,
				{"identifier": "first", "config": {"type": "KAFKA", "payload": {"a": 1}}},
				{"identifier": "send", "config": {"type": "KAFKA", "payload": {"t": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "first"}, {"sourceIdentifier": "first", "targetIdentifier": "send"}]}`))
			if err := problems.Err(); err != nil {
				t.Fatal(err)
			}
			rec, err := p.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
			if err != nil {
				t.Fatal(err)
			}
			run, err := p.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "user@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = p.eng.Execute(ctx, run.Identifier)
			}()
			select {
			case <-handed:
			case <-time.After(30 * time.Second):
				t.Fatal("the node was never executed")
			}
			if rows := p.seals(run.Identifier); len(rows) == 0 || !rows[0].Origin {
				t.Fatalf("sealed rows = %+v, want the origin row of the first step", rows)
			}
			// The next process, over the same store and key ring.
			reg := node.NewRegistry()
			webhook.Register(reg, webhook.Options{})
			reg.Register(workflow.TypeKafka, exec)
			next := engine.New(engine.Options{Store: p.st, Nodes: reg, Secrets: p.svc})
			v := p.view(run.Identifier)
			if len(v.NodeRuns) != 3 {
				t.Fatalf("node runs = %d, want 3", len(v.NodeRuns))
			}
			if _, err := next.CompleteNodeRun(ctx, v.NodeRuns[2].Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
				Output: map[string]any{"echo": tc.echo, "status": "sent"}}); err != nil {
				t.Fatal(err)
			}
			cancel()
			<-done
			b, _ := json.Marshal(p.view(run.Identifier))
			if strings.Contains(string(b), derived) {
				t.Errorf("the derived value is stored and shown in clear: %s", b)
			}
		})
	}
}

// rotatingSealer seals with the service and starts a whole key rotation
// while the step's sealed row is on its way to the store: the rotation a
// busy server may run between a step's seal and its commit.
type rotatingSealer struct {
	t       *testing.T
	svc     *secret.Service
	once    sync.Once
	rotated chan struct{}
}

func (r *rotatingSealer) SealRunHeld(runID string, v secret.RunValues) (string, []byte, func(), error) {
	keyID, sealed, release, err := r.svc.SealRunHeld(runID, v)
	r.once.Do(func() {
		go func() {
			defer close(r.rotated)
			if _, err := r.svc.Rotate(context.Background(), "admin"); err != nil {
				r.t.Errorf("rotate: %v", err)
			}
		}()
	})
	return keyID, sealed, release, err
}

func (r *rotatingSealer) OpenRun(runID, keyID string, sealed []byte) (secret.RunValues, error) {
	return r.svc.OpenRun(runID, keyID, sealed)
}

// TestSealRacingRotation: a key rotation that runs while a step's sealed
// values are on their way to the store must not leave them under the key
// it retired: the key check would refuse the store (sluice would not start
// again) and the run's completions would be masked whole.
func TestSealRacingRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	p := newSealed(t, nil)
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	rs := &rotatingSealer{t: t, svc: p.svc, rotated: make(chan struct{})}
	p.eng = engine.New(engine.Options{Store: p.st, Nodes: reg, Secrets: p.svc, Sealer: rs})
	before := p.svc.Ring().PrimaryKeyID()
	runID := p.start(`{"identifier": "racing", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	select {
	case <-rs.rotated:
	case <-time.After(30 * time.Second):
		t.Fatal("the rotation never finished")
	}
	primary := p.svc.Ring().PrimaryKeyID()
	if primary == before {
		t.Fatal("the rotation did not run")
	}
	for _, r := range p.seals(runID) {
		if r.KeyID != primary {
			t.Errorf("sealed row %d is under key %s, which the rotation to %s retired", r.ID, r.KeyID, primary)
		}
	}
	if err := p.svc.Check(ctx); err != nil {
		t.Errorf("key check after the rotation: %v", err)
	}
	wait := p.view(runID).NodeRuns[1].Identifier
	complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"echo": derived, "status": "deployed"}})
	got := output(t, p.view(runID), "wait")
	if got["echo"] != "***" || got["status"] != "deployed" {
		t.Errorf("output = %v, want the echo masked and the rest readable", got)
	}
}

// rotatingSeals is the store with a key rotation run right after the first
// read of a run's sealed rows, before the engine opens them: the rows it
// returns are under the key the rotation retires.
type rotatingSeals struct {
	*sqlite.Store
	t       *testing.T
	svc     *secret.Service
	rotated bool
}

func (r *rotatingSeals) RunSeals(ctx context.Context, runID string) ([]store.SealedValues, error) {
	rows, err := r.Store.RunSeals(ctx, runID)
	if err == nil && !r.rotated {
		r.rotated = true
		if _, err := r.svc.Rotate(ctx, "admin"); err != nil {
			r.t.Errorf("rotate: %v", err)
		}
	}
	return rows, err
}

// TestRebuildAcrossARotation: a rotation that reseals a waiting run's rows
// and retires their key between the read of the rows and their opening (a
// completion arriving during `sluice keys rotate`) costs the run nothing:
// the rows are read again under the new key, and the completion is masked
// exactly, not whole.
func TestRebuildAcrossARotation(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	p := newSealed(t, nil)
	runID := p.start(`{"identifier": "reread", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	before := p.svc.Ring().PrimaryKeyID()
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	rs := &rotatingSeals{Store: p.st, t: t, svc: p.svc}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	p.eng = engine.New(engine.Options{Store: rs, Nodes: reg, Secrets: p.svc, Logger: logger})
	wait := p.view(runID).NodeRuns[1].Identifier
	complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"echo": derived, "status": "deployed"}})
	if !rs.rotated || p.svc.Ring().PrimaryKeyID() == before {
		t.Fatal("the rotation did not run between the read and the opening")
	}
	got := output(t, p.view(runID), "wait")
	if got["echo"] != "***" || got["status"] != "deployed" {
		t.Errorf("output = %v, want the echo masked and the rest readable (not masked whole)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "does not open") {
		t.Errorf("a row resealed by the rotation was taken as lost:\n%s", logs.String())
	}
}
