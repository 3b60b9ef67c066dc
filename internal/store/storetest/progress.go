package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testProgress checks store.ProgressStore, for stores that implement it;
// others skip it. A progress sets the output and links of an IN_PROGRESS
// node run (keeping the stored ones when it gives none) and appends its
// logs, all or nothing; a finished node run or run refuses it whole, and a
// completion replaces what it set.
func testProgress(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.ProgressStore); !ok {
		t.Skip("the store does not implement store.ProgressStore")
	}
	red := redact.New()
	red.Add("s3cr3t-value")
	started := startedWaiting
	jsonOf := func(t *testing.T, v any) redact.JSON {
		t.Helper()
		j, err := red.JSON(v)
		must(t, "redact JSON", err)
		return j
	}
	get := func(t *testing.T, s store.Store, id string) store.NodeRun {
		t.Helper()
		nr, err := s.GetNodeRun(ctx(t), id)
		must(t, "GetNodeRun "+id, err)
		return nr
	}
	links := func(ls []redact.Text) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.String()
		}
		return out
	}

	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, ps store.ProgressStore)
	}{
		{"SetShownAndKept", func(t *testing.T, s store.Store, ps store.ProgressStore) {
			id := started(t, s, "wfr_a")
			must(t, "progress 1", ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Output: jsonOf(t, map[string]any{"url": "https://ci/1", "token": "s3cr3t-value"}),
				Links:  []redact.Text{red.Text("https://ci/1")}, SetLinks: true,
				Logs: []store.Log{logLine(id, "started", 2)}, UpdatedAt: at(2)}))
			nr := get(t, s, id)
			c := checker{t, "after the first progress"}
			c.eq("Status", nr.Status, store.StatusInProgress)
			c.eq("Result", nr.Result, "")
			c.eq("Waiting", nr.Waiting, true)
			c.eq("Output", string(nr.Output.Bytes()), `{"token":"***","url":"https://ci/1"}`)
			c.eq("Links", links(nr.Links), []string{"https://ci/1"})
			c.time("UpdatedAt", nr.UpdatedAt, at(2))
			c.timePtr("CompletedAt", nr.CompletedAt, nil)
			// Logs only: output and links kept.
			must(t, "progress 2", ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Logs: []store.Log{logLine(id, "halfway", 3)}, UpdatedAt: at(3)}))
			nr = get(t, s, id)
			c = checker{t, "after a progress with logs only"}
			c.eq("Output", string(nr.Output.Bytes()), `{"token":"***","url":"https://ci/1"}`)
			c.eq("Links", links(nr.Links), []string{"https://ci/1"})
			logs, err := s.Logs(ctx(t), id)
			must(t, "Logs", err)
			var msgs []string
			for _, l := range logs {
				msgs = append(msgs, l.Message.String())
			}
			c.eq("logs", msgs, []string{"started", "halfway"})
			// A new output replaces the old one; SetLinks with none clears.
			must(t, "progress 3", ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Output: jsonOf(t, map[string]any{"step": 2}), SetLinks: true, UpdatedAt: at(4)}))
			nr = get(t, s, id)
			c = checker{t, "after a progress that replaces"}
			c.eq("Output", string(nr.Output.Bytes()), `{"step":2}`)
			c.eq("Links", links(nr.Links), []string{})
			// The completion's output and links replace the progress'.
			must(t, "complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Complete: &store.NodeRunCompletion{
				NodeRunID: id, Result: store.ResultSuccess, Output: jsonOf(t, map[string]any{"done": true}),
				Links: []redact.Text{red.Text("https://ci/done")}, CompletedAt: at(5)}}))
			nr = get(t, s, id)
			c = checker{t, "after the completion"}
			c.eq("Status", nr.Status, store.StatusCompleted)
			c.eq("Output", string(nr.Output.Bytes()), `{"done":true}`)
			c.eq("Links", links(nr.Links), []string{"https://ci/done"})
		}},
		{"FinishedNodeRunRefusesAll", func(t *testing.T, s store.Store, ps store.ProgressStore) {
			id := started(t, s, "wfr_a")
			must(t, "complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Complete: &store.NodeRunCompletion{
				NodeRunID: id, Result: store.ResultSuccess, Output: jsonOf(t, map[string]any{"done": true}), CompletedAt: at(2)}}))
			before := takeSnapshot(t, s, "wfr_a")
			err := ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Output: jsonOf(t, map[string]any{"late": true}), SetLinks: true, Logs: []store.Log{logLine(id, "late", 3)}})
			wantErr(t, "progress of a completed node run", err, store.ErrConflict)
			checkSnapshot(t, "after a refused progress", takeSnapshot(t, s, "wfr_a"), before)
		}},
		{"FinishedRunRefusesAll", func(t *testing.T, s store.Store, ps store.ProgressStore) {
			id := started(t, s, "wfr_a")
			must(t, "cancel", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(2)}}))
			before := takeSnapshot(t, s, "wfr_a")
			err := ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Output: jsonOf(t, map[string]any{"late": true}), Logs: []store.Log{logLine(id, "late", 3)}})
			wantErr(t, "progress in a finished run", err, store.ErrConflict)
			checkSnapshot(t, "after a refused progress", takeSnapshot(t, s, "wfr_a"), before)
		}},
		{"MissingNodeRun", func(t *testing.T, s store.Store, ps store.ProgressStore) {
			err := ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: "wfnr_missing",
				Output: jsonOf(t, map[string]any{"x": 1})})
			wantErr(t, "progress of a missing node run", err, store.ErrNotFound)
		}},
		{"LogOfAnotherNodeRunRefused", func(t *testing.T, s store.Store, ps store.ProgressStore) {
			id := started(t, s, "wfr_a")
			before := takeSnapshot(t, s, "wfr_a")
			err := ps.SetNodeRunProgress(ctx(t), store.NodeRunProgress{NodeRunID: id,
				Output: jsonOf(t, map[string]any{"x": 1}), Logs: []store.Log{logLine("wfr_a_0", "elsewhere", 2)}})
			if err == nil {
				t.Fatal("a progress with a log of another node run was accepted")
			}
			checkSnapshot(t, "after a refused progress", takeSnapshot(t, s, "wfr_a"), before)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.run(t, s, s.(store.ProgressStore))
		})
	}
}
