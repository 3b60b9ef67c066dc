package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// TestMemoryStaysFlat saves 300 versions of a workflow and runs each, ending
// the runs by every path a run can end (the last node finishes it, an
// outside completion finishes it, a CANCELLED completion, a cancel, a run
// started and abandoned), and measures what the engine holds afterwards:
// the compiled-definition cache stays at its bound and no run leaves its
// redactor, state or lock behind.
func TestMemoryStaysFlat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const maxDefs = 16
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "tok-flat-0123456789"}, nil)
	eng := engine.New(engine.Options{Store: h.st, Nodes: h.nodes, Secrets: secret.MapSource{"TOKEN": "tok-flat-0123456789"}, MaxDefinitions: maxDefs})
	for i := range 300 {
		typ := "WAIT"
		if i%5 == 0 {
			typ = "CONDITION"
		}
		cfg := `{"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false, "headers": {"X-Token": "{{ .secrets.TOKEN }}"}}`
		if typ == "CONDITION" {
			cfg = `{"type": "CONDITION", "outlets": [{"identifier": "yes", "expression": "true"}]}`
		}
		def := fmt.Sprintf(`{"identifier": "flat", "title": "v%d", "nodes": [%s, {"identifier": "n", "config": %s}],
			"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "n"}]}`, i, trigger, cfg)
		wf, problems := workflow.Parse([]byte(def))
		if err := problems.Err(); err != nil {
			t.Fatalf("parse: %v", err)
		}
		save := h.st.UpdateWorkflow
		if i == 0 {
			save = h.st.CreateWorkflow
		}
		rec, err := save(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
		if err != nil {
			t.Fatal(err)
		}
		run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if i%5 == 4 {
			// Started, never executed: the server shuts down or is full.
			eng.Abandon(run.Identifier)
			if _, err := eng.Cancel(ctx, run.Identifier); err != nil {
				t.Fatalf("cancel abandoned run: %v", err)
			}
			continue
		}
		if _, err := eng.Execute(ctx, run.Identifier); err != nil {
			t.Fatalf("execute: %v", err)
		}
		if typ == "CONDITION" {
			continue
		}
		nrs, err := h.st.NodeRuns(ctx, run.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		waiting := nrs[len(nrs)-1].Identifier
		switch i % 5 {
		case 1:
			if _, err := eng.CompleteNodeRun(ctx, waiting, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"}); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := eng.CompleteNodeRun(ctx, waiting, engine.Completion{Status: "COMPLETED", Result: "CANCELLED"}); err != nil {
				t.Fatal(err)
			}
		case 3:
			if _, err := eng.Cancel(ctx, run.Identifier); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := eng.Stats()
	if got.Definitions > maxDefs {
		t.Errorf("definitions cached = %d, want at most %d", got.Definitions, maxDefs)
	}
	if got.Redactors != 0 || got.Started != 0 || got.Locks != 0 {
		t.Errorf("after every run ended: %+v, want no redactor, started run or lock", got)
	}
	// An evicted version is parsed again from the store.
	if _, err := eng.Definition(ctx, "flat", 1); err != nil {
		t.Errorf("evicted version 1: %v", err)
	}
}

// TestDegradedRederiveMasksWhole: after a restart the waiting node's config
// cannot be rendered again (the secret it derived from was deleted), so the
// new process's redactor does not know the derived value the remote system
// echoes. The completion is then masked whole, not against fewer values, and
// the process log says why.
func TestDegradedRederiveMasksWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789", "OTHER": "other-0123456789"}, nil)
	def := `{"identifier": "deg", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}", "X-Other": "{{ .secrets.OTHER }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	derived := "tok-abcdef0123456789"
	// A fresh process; TOKEN was deleted meanwhile.
	var logBuf bytes.Buffer
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	fresh := engine.New(engine.Options{Store: h.st, Nodes: reg, Secrets: secret.MapSource{"OTHER": "other-0123456789"},
		Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	_, err := fresh.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{
		Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": derived, "count": 3, "nested": []any{"x " + derived}},
		Logs:   []engine.LogLine{{Level: "INFO", Message: "got token " + derived, Tags: map[string]string{"t": derived}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v = h.view(v.Identifier)
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), derived) {
		t.Fatalf("derived value stored and shown after a failed re-derivation: %s", b)
	}
	out := output(t, v, "wait")
	if out["echo"] != "***" || out["count"] != float64(3) {
		t.Errorf("output = %v, want strings masked whole and short numbers kept", out)
	}
	if logs := v.NodeRuns[1].NodeRunLogs; len(logs) == 0 || logs[len(logs)-1].Log != "***" {
		t.Errorf("logs = %+v, want the line masked whole", logs)
	}
	if !strings.Contains(logBuf.String(), "re-rendering the config of a waiting node failed") {
		t.Errorf("the process log does not say why: %s", logBuf.String())
	}
	if strings.Contains(logBuf.String(), "other-0123456789") {
		t.Errorf("the process log holds a secret: %s", logBuf.String())
	}
	if s := fresh.Stats(); s.Redactors != 0 {
		t.Errorf("after the run ended the engine keeps %d redactors", s.Redactors)
	}
}
