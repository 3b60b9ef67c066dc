package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
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

const reviewSecret = "TOK-ABCDEF0123456789"

// hookStore runs hook at the start of the skip+1-th GetRun after arming.
type hookStore struct {
	*sqlite.Store
	mu   sync.Mutex
	skip int
	hook func()
}

func (s *hookStore) GetRun(ctx context.Context, id string) (store.Run, error) {
	s.mu.Lock()
	var h func()
	if s.hook != nil {
		if s.skip == 0 {
			h, s.hook = s.hook, nil
		} else {
			s.skip--
		}
	}
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return s.Store.GetRun(ctx, id)
}

// hookSource runs hook once, at its next Resolve.
type hookSource struct {
	m    secret.MapSource
	mu   sync.Mutex
	hook func()
}

func (s *hookSource) Resolve(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return s.m.Resolve(ctx, ref, names)
}

func reviewSetup(t *testing.T, src engine.SecretSource) (*hookStore, *engine.Engine, string, string) {
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hs := &hookStore{Store: st}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	rcv := newReceiver(t)
	def := `{"identifier": "rv", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{Store: hs, Nodes: reg, Secrets: src})
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	nrs, err := st.NodeRuns(ctx, run.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	return hs, eng, run.Identifier, nrs[1].Identifier
}

// A cancel that lands between CompleteNodeRun's status check and load()
// leaves load() with a finished run: it hands back an EMPTY redactor, and
// the receiver's log lines are stored unmasked.
func TestLogsRacingACancelAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs, eng, runID, nrID := reviewSetup(t, secret.MapSource{"TOKEN": reviewSecret})
	hs.mu.Lock()
	hs.skip = 1 // CompleteNodeRun's own GetRun passes; the one in load() runs the cancel first
	hs.hook = func() {
		if _, err := eng.Cancel(ctx, runID); err != nil {
			t.Errorf("cancel: %v", err)
		}
	}
	hs.mu.Unlock()
	_, err := eng.CompleteNodeRun(ctx, nrID, engine.Completion{Status: "IN_PROGRESS",
		Logs: []engine.LogLine{{Message: "receiver got token " + reviewSecret}}})
	t.Logf("CompleteNodeRun err = %v", err)
	logs, err := hs.Logs(ctx, nrID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if strings.Contains(l.Message.String(), reviewSecret) {
			t.Errorf("secret stored in a log line: %q", l.Message.String())
		}
	}
}

// A cancel that lands while load() resolves secrets (after its GetRun, before
// LoadOrStore) leaves the redactor of a finished run in the map for good.
func TestNoRedactorKeptForARunCancelledDuringLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &hookSource{m: secret.MapSource{"TOKEN": reviewSecret}}
	hs, eng1, runID, nrID := reviewSetup(t, src)
	_ = eng1
	// a restarted process: same store, new engine
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	eng := engine.New(engine.Options{Store: hs, Nodes: reg, Secrets: src})
	src.mu.Lock()
	src.hook = func() {
		if _, err := eng.Cancel(ctx, runID); err != nil {
			t.Errorf("cancel: %v", err)
		}
	}
	src.mu.Unlock()
	_, err := eng.CompleteNodeRun(ctx, nrID, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("err = %v, want conflict", err)
	}
	if n := eng.RedactorCount(); n != 0 {
		t.Errorf("the cancelled run's redactor (plaintext secrets) is held for good: %d redactors", n)
	}
}
