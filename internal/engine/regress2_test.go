package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// The API calls Execute after every COMPLETED completion. When the completion
// finished the run, Execute must not resolve every secret again nor keep a
// redactor for a run that is over.
func TestFinishedRunKeepsNoRedactor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789"}, nil)
	def := `{"identifier": "leak", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	if _, err := h.eng.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("after completion: %d redactors", h.eng.RedactorCount())
	run, err := h.eng.Execute(ctx, v.Identifier) // what api.Server.execute does
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.StatusCompleted {
		t.Fatalf("run %s", run.Status)
	}
	if n := h.eng.RedactorCount(); n != 0 {
		t.Errorf("a finished run's redactor is held: %d redactors", n)
	}
}

// After a restart, re-deriving the waiting node's config must see the whole
// run context (.workflowRun.trigger included), or a derived value that also
// reads it is not recovered and its echo is stored readable.
func TestRederiveSeesTheTriggerContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	secrets := secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789", "TOKENS": `{"trigger":"per-trigger-token-0123456789","other":"other-token-0123456789"}`}
	h := newHarness(t, secrets, nil)
	def := `{"identifier": "rd", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Sig": "{{ .workflowRun.trigger.identifier as $t | .secrets.TOKENS | fromjson | .[$t] }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	derived := rcv.requests()[0].Header.Get("X-Sig")
	t.Logf("derived sent: %q", derived)
	// restart: a new engine on the same store
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	eng2 := engine.New(engine.Options{Store: h.st, Nodes: reg, Secrets: secrets})
	if _, err := eng2.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": derived}}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(h.view(v.Identifier))
	t.Logf("%s", b)
	if strings.Contains(string(b), derived) {
		t.Errorf("derived value stored after restart: %s", b)
	}
}

// A secret-reading object expression registers only the parts that depend on
// a secret: the literal "production" beside it must not be masked all over
// the run.
func TestDerivedObjectKeepsItsLiterals(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789"}, nil)
	def := `{"identifier": "om", "nodes": [` + trigger + `,
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/echo",
		  "body": {"auth": "{{ {token: .secrets.TOKEN, env: \"production\", port: 8080} }}", "env": "production", "port": 8080}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`
	v := h.run(def, nil)
	b, _ := json.Marshal(v.Variables.Outputs["call"])
	t.Logf("output: %s", b)
	if !strings.Contains(string(b), `"env":"production"`) {
		t.Errorf("a literal value next to a secret is masked everywhere: %s", b)
	}
}
