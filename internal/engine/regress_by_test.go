package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// .workflowRun.trigger.by must carry the actor's email, firstName, lastName.
func TestTriggerByIsTheActor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil)
	def := `{"identifier": "by", "nodes": [` + trigger + `,
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/x",
		  "body": {"by": "{{ .workflowRun.trigger.by }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version,
		Actor: engine.Actor{ID: "usr_0123456789abcdef", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	body := rcv.requests()[0].RawBody
	if !strings.Contains(body, "ada@example.com") || !strings.Contains(body, "Ada") {
		t.Errorf("trigger.by = %s; want the actor's email, firstName, lastName", body)
	}
}
