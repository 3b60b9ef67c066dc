package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

func TestExpireDue(t *testing.T) {
	t.Parallel()
	const def = `{"identifier": "wait", "nodes": [` + trigger + `,
		{"identifier": "publish", "config": {"type": "KAFKA", "payload": {"a": 1}, "onFailure": %q},
		 "variables": {"timedOut": "{{ .result.timeout }}"}},
		{"identifier": "after", "config": {"type": "CONDITION", "outlets": [{"identifier": "yes", "expression": "true"}]}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "publish"},
		{"sourceIdentifier": "publish", "targetIdentifier": "after"}]}`
	past := time.Now().Add(-time.Second)
	tests := []struct {
		name      string
		deadline  time.Time
		cont      bool
		onFailure string
		complete  bool // completed from outside before the check
		wantRun   string
		wantNodes []string
		wantErr   string
		wantOut   map[string]any
	}{
		{name: "fail", deadline: past, onFailure: "terminate", wantRun: "COMPLETED FAILED", wantNodes: []string{"trigger", "publish"}, wantErr: "timed out: no completion arrived before the deadline"},
		{name: "fail then continue", deadline: past, onFailure: "continue", wantRun: "COMPLETED SUCCESS", wantNodes: []string{"trigger", "publish", "after"}, wantErr: "timed out"},
		{name: "onTimeout continue", deadline: past, cont: true, onFailure: "terminate", wantRun: "COMPLETED SUCCESS", wantNodes: []string{"trigger", "publish", "after"}, wantOut: map[string]any{"timedOut": true}},
		{name: "not yet", deadline: time.Now().Add(time.Hour), onFailure: "terminate", wantRun: "IN_PROGRESS", wantNodes: []string{"trigger", "publish"}},
		{name: "no deadline", onFailure: "terminate", wantRun: "IN_PROGRESS", wantNodes: []string{"trigger", "publish"}},
		{name: "completed first", deadline: past, onFailure: "terminate", complete: true, wantRun: "COMPLETED SUCCESS", wantNodes: []string{"trigger", "publish", "after"}, wantOut: map[string]any{"timedOut": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := funcExec(func(ctx context.Context, req *node.Request) (node.Result, error) {
				return node.Result{Pending: true, WaitUntil: tc.deadline, OnTimeoutContinue: tc.cont}, nil
			})
			h := newHarness(t, nil, map[string]node.Executor{workflow.TypeKafka: exec})
			v := h.run(strings.Replace(def, "%q", `"`+tc.onFailure+`"`, 1), nil)
			ctx := context.Background()
			if tc.complete {
				waiting := v.NodeRuns[len(v.NodeRuns)-1].Identifier
				if _, err := h.eng.CompleteNodeRun(ctx, waiting, engine.Completion{Status: store.StatusCompleted, Result: store.ResultSuccess, Output: map[string]any{}}); err != nil {
					t.Fatal(err)
				}
			}
			runs, err := h.eng.ExpireDue(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range append(runs, v.Identifier) {
				if _, err := h.eng.Execute(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			v = h.view(v.Identifier)
			if got := result(v); got != tc.wantRun {
				t.Errorf("run = %s, want %s", got, tc.wantRun)
			}
			if got := strings.Join(nodesRun(v), ","); got != strings.Join(tc.wantNodes, ",") {
				t.Errorf("nodes run = %s, want %s", got, strings.Join(tc.wantNodes, ","))
			}
			if tc.wantErr != "" {
				out := output(t, v, "publish")
				msg, _ := out["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, tc.wantErr) {
					t.Errorf("publish output = %v, want an error containing %q", out, tc.wantErr)
				}
			}
			for k, want := range tc.wantOut {
				if got := output(t, v, "publish")[k]; got != want {
					t.Errorf("publish output %s = %v, want %v", k, got, want)
				}
			}
		})
	}
}
