package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/store"
)

// TestConservativeMaskingKeys: a completion of a run whose redactor could
// not be rebuilt with the values its waiting node derived from secrets is
// masked whole (maskConservatively), since the run's redactor no longer
// knows them. A derived value that the remote system echoes as a log tag's
// key is its text as much as the tag's value: it was kept, and so stored
// and shown in clear (on a completion, and on a progress report, which
// goes through the same masking). Short keys, which cannot hold a value,
// stay readable.
func TestConservativeMaskingKeys(t *testing.T) {
	tests := []struct {
		name     string
		c        engine.Completion
		wantTags string
	}{
		{"completion, log tag key", engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{},
			Logs: []engine.LogLine{{Level: "INFO", Message: "done", Tags: map[string]string{derived: "v", "step": "deploy", "env": "prod"}}}},
			`{"***":"***","env":"***"}`},
		{"progress, log tag key", engine.Completion{Status: "IN_PROGRESS",
			Logs: []engine.LogLine{{Level: "INFO", Message: "running", Tags: map[string]string{derived: "v"}}}},
			`{"***":"***"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rcv := newReceiver(t)
			p := newSealed(t, nil)
			reg := node.NewRegistry()
			webhook.Register(reg, webhook.Options{})
			upgraded := p.eng
			p.eng = engine.New(engine.Options{Store: p.st, Nodes: reg, Secrets: resolveOnly{p.svc}})
			runID := p.start(`{"identifier": "legacy", "nodes": [` + trigger + `,
				{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
				  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
			if err := p.svc.Delete(ctx, "admin", "TOKEN"); err != nil {
				t.Fatal(err)
			}
			p.eng = upgraded // a process that cannot re-derive the waiting node's values
			wait := p.view(runID).NodeRuns[1].Identifier
			if _, err := p.eng.CompleteNodeRun(ctx, wait, tc.c); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(p.view(runID))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), derived) {
				t.Errorf("the derived value is shown in clear: %s", b)
			}
			if tc.wantTags != "" {
				nrs := p.view(runID).NodeRuns[1].NodeRunLogs
				tags, _ := json.Marshal(nrs[len(nrs)-1].Tags)
				if string(tags) != tc.wantTags {
					t.Errorf("tags shown %s, want %s", tags, tc.wantTags)
				}
			}
			nr, err := p.st.GetNodeRun(ctx, wait)
			if err != nil {
				t.Fatal(err)
			}
			logs, err := p.st.Logs(ctx, wait)
			if err != nil {
				t.Fatal(err)
			}
			stored := string(nr.Output.Bytes())
			for _, l := range logs {
				tags, err := store.EncodeTags(l)
				if err != nil {
					t.Fatal(err)
				}
				stored += "\n" + l.Message.String() + " " + string(tags)
			}
			if !strings.Contains(stored, "***") || strings.Contains(stored, derived) {
				t.Errorf("the derived value is stored in clear (or nothing was stored masked): %s", stored)
			}
		})
	}
}
