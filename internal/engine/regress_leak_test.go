package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/secret"
)

// A derived form of a secret (taint follows the expression) echoed back by
// the remote system through the async completion API must be masked, as it
// is when the same system echoes it in a synchronous response.
func TestAsyncCompletionMasksDerivedSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": "TOK-ABCDEF0123456789"}, nil)
	def := `{"identifier": "leak", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	derived := "tok-abcdef0123456789"
	if got := rcv.requests()[0].Header.Get("X-Token"); got != derived {
		t.Fatalf("header = %q", got)
	}
	_, err := h.eng.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{
		Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": derived},
		Logs:   []engine.LogLine{{Level: "INFO", Message: "got token " + derived}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v = h.view(v.Identifier)
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), derived) {
		t.Errorf("derived secret stored and shown: %s", b)
	}
}

// A secret rotated (or deleted) while an async node waits: the old value was
// sent to the remote system, which echoes it back in its completion.
func TestAsyncCompletionMasksSecretsDeletedWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	secrets := secret.MapSource{"TOKEN": "old-token-0123456789"}
	h := newHarness(t, secrets, nil)
	def := `{"identifier": "rot", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`
	v := h.run(def, nil)
	delete(secrets, "TOKEN") // the Admin deletes (or rotates) the secret meanwhile
	_, err := h.eng.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{
		Status: "COMPLETED", Result: "FAILED",
		Output: map[string]any{"error": map[string]any{"message": "401 for token old-token-0123456789"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(h.view(v.Identifier))
	if strings.Contains(string(b), "old-token-0123456789") {
		t.Errorf("secret value stored and shown: %s", b)
	}
}
