package storetest

import (
	"maps"
	"slices"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testRunLogs checks store.RunLogsReader against Logs, for stores that
// implement it; others skip it. A run's node runs log in turns (so their
// lines interleave in the table), through CreateRun, Apply and
// AppendLogs, with tags as an object, a list, an empty list and none; one
// node run logs nothing, and another run's lines must not leak in.
func testRunLogs(t *testing.T, open opener) {
	s := open(t)
	rl, ok := s.(store.RunLogsReader)
	if !ok {
		t.Skip("the store does not implement store.RunLogsReader")
	}
	tx := redact.TrustedText
	tagged := func(l store.Log, shape int) store.Log {
		switch shape % 4 {
		case 1:
			l.Tags = map[redact.Text]redact.Text{tx("step"): tx("build"), tx("odd key"): tx("")}
		case 2:
			l.TagList = []redact.Text{tx("workflow_completion"), tx("***")}
		case 3:
			l.TagList = []redact.Text{}
		}
		return l
	}

	r := newRun("wfr_logs", "deploy", "ann", 0)
	trigger := newNodeRun("wfr_logs_0", r.Identifier, "trigger", 0, 0)
	must(t, "CreateRun", s.CreateRun(ctx(t), r, trigger, []store.Log{
		tagged(logLine(trigger.Identifier, "t0", 0), 0), tagged(logLine(trigger.Identifier, "t1", 1), 1),
	}))
	passed := newNodeRun("wfr_logs_1", r.Identifier, "quiet", 1, 2)
	passed.Status, passed.Result, passed.CompletedAt = store.StatusCompleted, store.ResultSuccess, ptr(at(2))
	build := newNodeRun("wfr_logs_2", r.Identifier, "build", 2, 2)
	must(t, "Apply", s.Apply(ctx(t), store.Transition{
		RunID:    r.Identifier,
		Complete: &store.NodeRunCompletion{NodeRunID: trigger.Identifier, Result: store.ResultSuccess, Output: redact.Reload([]byte(`{}`)), CompletedAt: at(2)},
		Passed:   []store.NodeRun{passed},
		Start:    &build,
		Logs: []store.Log{
			tagged(logLine(build.Identifier, "b0", 3), 2), tagged(logLine(trigger.Identifier, "t2", 3), 3),
			tagged(logLine(build.Identifier, "b1", 4), 1),
		},
	}))
	// Another run, whose lines must not show.
	other := newRun("wfr_other", "deploy", "ann", 1)
	otherFirst := newNodeRun("wfr_other_0", other.Identifier, "trigger", 0, 1)
	must(t, "CreateRun other", s.CreateRun(ctx(t), other, otherFirst, []store.Log{logLine(otherFirst.Identifier, "elsewhere", 1)}))
	must(t, "AppendLogs", s.AppendLogs(ctx(t), []store.Log{
		tagged(logLine(build.Identifier, "b2", 5), 0), tagged(logLine(otherFirst.Identifier, "elsewhere too", 5), 1),
		tagged(logLine(trigger.Identifier, "t3", 6), 2), tagged(logLine(build.Identifier, "b3", 6), 3),
	}))
	// A run whose only node run has not logged.
	silent := newRun("wfr_silent", "deploy", "ann", 2)
	must(t, "CreateRun silent", s.CreateRun(ctx(t), silent, newNodeRun("wfr_silent_0", silent.Identifier, "trigger", 0, 2), nil))

	tests := []struct {
		run  string
		want map[string][]string // node run → its messages, in order
	}{
		{"wfr_logs", map[string][]string{trigger.Identifier: {"t0", "t1", "t2", "t3"}, build.Identifier: {"b0", "b1", "b2", "b3"}}},
		{"wfr_other", map[string][]string{otherFirst.Identifier: {"elsewhere", "elsewhere too"}}},
		{"wfr_silent", map[string][]string{}},
		{"wfr_never", map[string][]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.run, func(t *testing.T) {
			got, err := rl.RunLogs(ctx(t), tc.run)
			must(t, "RunLogs", err)
			if len(got) != len(tc.want) {
				t.Errorf("RunLogs has %d node runs, want %d: %v", len(got), len(tc.want), slices.Sorted(maps.Keys(got)))
			}
			for nr, msgs := range tc.want {
				if g := logMessages(got[nr]); !slices.Equal(g, msgs) {
					t.Errorf("node run %s: messages %q, want %q", nr, g, msgs)
				}
				// Every field as Logs returns it, tags in their shape.
				each, err := s.Logs(ctx(t), nr)
				must(t, "Logs", err)
				checkLogs(t, "RunLogs["+nr+"]", got[nr], each)
			}
		})
	}
	// The quiet node run has no entry, not an empty one.
	got, err := rl.RunLogs(ctx(t), "wfr_logs")
	must(t, "RunLogs", err)
	if l, ok := got[passed.Identifier]; ok {
		t.Errorf("the node run without logs has an entry: %v", logMessages(l))
	}
}
