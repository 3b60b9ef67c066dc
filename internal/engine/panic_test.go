package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/secret"
)

// TestNodePanicFailsTheNode: an executor that panics fails its node run
// (the run goes on as after any failure) instead of bringing the process
// down, which would take every run in flight with it and, since a run
// resumes at the next start, panic again there: a crash loop. The panic's
// text reaches the run's log and output only through the run's redactor.
func TestNodePanicFailsTheNode(t *testing.T) {
	const token = "tok-0123456789abcdef"
	tests := []struct {
		name      string
		onFailure string // the panicking node's onFailure
		result    string
		path      []string
	}{
		{name: "the run fails", result: "COMPLETED FAILED", path: []string{"trigger", "boom"}},
		{name: "onFailure continue goes on", onFailure: `, "onFailure": "continue"`, result: "COMPLETED SUCCESS", path: []string{"trigger", "boom", "after"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, secret.MapSource{"TOKEN": token}, map[string]node.Executor{
				"KAFKA": funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
					if req.Node.Identifier == "after" {
						return node.Result{Output: map[string]any{"ok": true}}, nil
					}
					// A bug in an executor, whose panic value quotes the
					// secret the config rendered.
					panic("bad token " + req.Config["payload"].(map[string]any)["t"].(string))
				}),
			})
			var logBuf bytes.Buffer
			h.eng = engine.New(engine.Options{Store: h.st, Nodes: h.nodes, Secrets: secret.MapSource{"TOKEN": token},
				Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
			v := h.run(`{"identifier": "p", "nodes": [`+trigger+`,
				{"identifier": "boom", "config": {"type": "KAFKA", "payload": {"t": "{{ .secrets.TOKEN }}"}`+tc.onFailure+`}},
				{"identifier": "after", "config": {"type": "KAFKA", "payload": {"ok": true}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "boom"}, {"sourceIdentifier": "boom", "targetIdentifier": "after"}]}`, nil)
			if got := result(v); got != tc.result {
				t.Errorf("run = %s, want %s", got, tc.result)
			}
			if got := strings.Join(nodesRun(v), ","); got != strings.Join(tc.path, ",") {
				t.Errorf("path = %s, want %s", got, strings.Join(tc.path, ","))
			}
			boom := v.NodeRuns[1]
			if boom.Result == nil || *boom.Result != "FAILED" {
				t.Fatalf("the panicking node run = %s %v, want FAILED", boom.Status, boom.Result)
			}
			out := string(v.Variables.Outputs["boom"])
			if !strings.Contains(out, "panicked") {
				t.Errorf("output = %s, want an error saying the node panicked", out)
			}
			var logged string
			for _, l := range boom.NodeRunLogs {
				logged += l.Log + "\n"
			}
			if !strings.Contains(logged, "panicked") {
				t.Errorf("logs = %q, want the panic reported", logged)
			}
			if strings.Contains(out+logged, token) {
				t.Errorf("the panic's text shows the secret: %s %s", out, logged)
			}
			proc := logBuf.String()
			if !strings.Contains(proc, "a node panicked") || !strings.Contains(proc, "panic_test.go") {
				t.Errorf("process log = %q, want the panic with its stack", proc)
			}
			if strings.Contains(proc, token) {
				t.Errorf("the process log shows the secret: %s", proc)
			}
		})
	}
}
