package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/workflow"
)

// failingSource is a secret source that answers the run-wide resolve a
// loaded run makes (no node run) from its map, and fails the per-node
// resolve of the re-derivation, as a secret store that goes down between
// the two would.
type failingSource struct{ secret.MapSource }

func (f failingSource) Resolve(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	if ref.NodeRunID != "" {
		return nil, errors.New("secret store unavailable")
	}
	return f.MapSource.Resolve(ctx, ref, names)
}

func (f failingSource) ResolveAvailable(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	if ref.NodeRunID != "" {
		return nil, errors.New("secret store unavailable")
	}
	return f.MapSource.ResolveAvailable(ctx, ref, names)
}

// TestRederiveResolveFailureIsLoggedAndMasksWhole is issue 17 point 10's
// other re-derivation failure: after a restart, resolving the waiting node's
// secrets fails (not rendering its config, TestDegradedRederiveMasksWhole).
// The failure is logged, not swallowed, and the completion is masked whole
// rather than against a redactor that knows fewer values than the node
// used. (When the run-wide resolve of a loaded run fails, the completion
// is refused with the error instead.)
func TestRederiveResolveFailureIsLoggedAndMasksWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789"}, nil)
	def := `{"identifier": "deg2", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	derived := "tok-abcdef0123456789"
	var logBuf bytes.Buffer
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	fresh := engine.New(engine.Options{Store: h.st, Nodes: reg, Secrets: failingSource{secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789"}},
		Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	if _, err := fresh.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{
		Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": derived},
		Logs:   []engine.LogLine{{Level: "INFO", Message: "got " + derived, Tags: map[string]string{"t": derived}}},
	}); err != nil {
		t.Fatal(err)
	}
	v = h.view(v.Identifier)
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), derived) || strings.Contains(strings.ToUpper(string(b)), strings.ToUpper(derived)) {
		t.Fatalf("derived value stored and shown after a failed resolve: %s", b)
	}
	if out := output(t, v, "wait"); out["echo"] != "***" {
		t.Errorf("output = %v, want its strings masked whole", out)
	}
	logs := v.NodeRuns[1].NodeRunLogs
	if len(logs) == 0 || logs[len(logs)-1].Log != "***" || logs[len(logs)-1].Tags["t"] != "***" {
		t.Errorf("logs = %+v, want the line and its tag masked whole", logs)
	}
	for _, want := range []string{"re-deriving the secrets of a waiting node failed", "secret store unavailable"} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("the process log does not say %q: %s", want, logBuf.String())
		}
	}
}

// appendFails is a SQLite store whose AppendLogs fails, every other method
// being the store's own.
type appendFails struct{ *sqlite.Store }

func (appendFails) AppendLogs(context.Context, []store.Log) error {
	return errors.New("disk full")
}

// racer is an executor whose node is completed from outside while its
// request is still out (the receiver answered the callback first); it then
// returns pending with a log line of its own.
type racer struct{ eng func() *engine.Engine }

func (r racer) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	if _, err := r.eng().CompleteNodeRun(ctx, req.NodeRunID, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"}); err != nil {
		return node.Result{}, err
	}
	req.Log(node.LevelInfo, "request sent")
	return node.Result{Pending: true}, nil
}

// TestLostRaceAppendLogsFailureIsLogged is issue 17 point 10's first
// swallowed error: when a node is completed from outside before its own
// request returns, the engine keeps the request's log lines with
// AppendLogs; when that fails, the process log says so instead of
// dropping the error, and the run is not harmed.
func TestLostRaceAppendLogsFailureIsLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil, nil)
	var logBuf bytes.Buffer
	var eng *engine.Engine
	reg := node.NewRegistry()
	reg.Register(workflow.TypeKafka, racer{eng: func() *engine.Engine { return eng }})
	eng = engine.New(engine.Options{Store: appendFails{h.st}, Nodes: reg, Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	def := `{"identifier": "race", "nodes": [` + trigger + `,
		{"identifier": "pub", "config": {"type": "KAFKA", "topic": "t", "payload": {"a": 1}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "pub"}]}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatalf("parse: %v", err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "user@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatalf("execute: %v", err)
	}
	v := h.view(run.Identifier)
	if v.Status != store.StatusCompleted || v.Result == nil || *v.Result != store.ResultSuccess {
		t.Errorf("run %s %v, want COMPLETED SUCCESS (the outside completion)", v.Status, v.Result)
	}
	for _, want := range []string{"keeping the log lines of a node completed from outside during its request failed", "disk full"} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("the process log does not say %q: %s", want, logBuf.String())
		}
	}
}
