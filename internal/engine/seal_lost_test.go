package engine_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
)

// TestLostSealMasksWhole: a run waits with sealed values; one of its rows
// then no longer opens (tampered, or sealed with a key the ring lost), and
// TOKEN changes. The completion echoes the old value: the run's values are
// lost, so the completion is masked whole, not masked against the current
// secrets as if nothing were lost (the re-render with the new TOKEN would
// succeed and let the old value through).
func TestLostSealMasksWhole(t *testing.T) {
	t.Parallel()
	tamper := func(r store.SealedValues) store.SealedValues {
		r.Sealed = slices.Clone(r.Sealed)
		r.Sealed[len(r.Sealed)-1] ^= 1
		return r
	}
	lostKey := func(r store.SealedValues) store.SealedValues {
		r.KeyID = "k_lost0000000000"
		return r
	}
	tests := []struct {
		name   string
		row    func(rows []store.SealedValues) int
		change func(store.SealedValues) store.SealedValues
	}{
		{"origin row tampered", func([]store.SealedValues) int { return 0 }, tamper},
		{"last row tampered", func(rows []store.SealedValues) int { return len(rows) - 1 }, tamper},
		{"origin row under a lost key", func([]store.SealedValues) int { return 0 }, lostKey},
		{"last row under a lost key", func(rows []store.SealedValues) int { return len(rows) - 1 }, lostKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rcv := newReceiver(t)
			p := newSealed(t, nil)
			runID := p.start(`{"identifier": "lost", "nodes": [` + trigger + `,
				{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
				  "headers": {"X-Token": "{{ .secrets.TOKEN }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
			rows := p.seals(runID)
			if len(rows) == 0 || !rows[0].Origin {
				t.Fatalf("sealed rows = %+v, want an origin row", rows)
			}
			r := rows[tc.row(rows)]
			if err := p.st.Reseal(ctx, tc.change(r), r.KeyID); err != nil {
				t.Fatal(err)
			}
			if _, err := p.svc.Update(ctx, "admin", "TOKEN", new(newToken), nil); err != nil {
				t.Fatal(err)
			}
			p.restart()
			wait := p.view(runID).NodeRuns[1].Identifier
			complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
				Output: map[string]any{"echo": oldToken, "status": "deployed"},
				Logs:   []engine.LogLine{{Level: "INFO", Message: "deployed with " + oldToken}}})
			if _, err := p.eng.Execute(ctx, runID); err != nil {
				t.Fatal(err)
			}
			v := p.view(runID)
			b, _ := json.Marshal(v)
			for _, s := range []string{oldToken, newToken} {
				if strings.Contains(string(b), s) {
					t.Errorf("stored and shown in clear: %q", s)
				}
			}
			if got := output(t, v, "wait"); got["echo"] != "***" || got["status"] != "***" {
				t.Errorf("output = %v, want masked whole (a sealed row did not open)", got)
			}
			if result(v) != "COMPLETED SUCCESS" {
				t.Errorf("run = %s, want it to go on", result(v))
			}
		})
	}
}
