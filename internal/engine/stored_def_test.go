package engine_test

import (
	"context"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// TestStoredDefinitionOfAnEarlierVersionStillRuns: a workflow version
// stored before a stricter check (here: a template reading .inputs, which
// its context lacks) still compiles from the store, so its runs go on after
// an upgrade; the read renders null, as it always did.
func TestStoredDefinitionOfAnEarlierVersionStillRuns(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil)
	def := `{"identifier": "old", "nodes": [` + trigger + `,
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/ok", "body": {"n": "{{ .inputs.name }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`
	if _, problems := workflow.Parse([]byte(def)); problems.Err() == nil {
		t.Fatal("the test wants a definition that saving refuses today")
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: "old", Definition: []byte(def), CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := h.eng.Definition(ctx, "old", rec.Version)
	if err != nil {
		t.Fatalf("a stored definition no longer compiles: %v", err)
	}
	run, err := h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: map[string]any{"env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := h.eng.Execute(ctx, run.Identifier)
	if err != nil || done.Result != store.ResultSuccess {
		t.Fatalf("run = %s: %v", done.Result, err)
	}
	if got := rcv.requests(); len(got) != 1 || got[0].Body["n"] != nil {
		t.Errorf("requests = %+v, want one with n null", got)
	}
}
