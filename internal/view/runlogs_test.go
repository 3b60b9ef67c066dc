package view

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// perNodeRun is a Reader that hides every optional capability of the store
// it wraps: only Reader's methods are promoted, so Build reads logs with
// one Logs per node run, as it does for a store without RunLogs.
type perNodeRun struct{ Reader }

// openSQLite opens a real SQLite store in a temporary directory.
func openSQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlitetest.Open(tb.Context(), filepath.Join(tb.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return st
}

// logShape is how one log line of a seeded run carries its tags.
type logShape int

const (
	tagsNone logShape = iota
	tagsObject
	tagsList
	tagsEmptyList
	tagsOdd // an object whose text needs escaping
	shapes
)

// seedLog returns the j-th log line of node run nr, with the tags of shape
// j mod shapes.
func seedLog(nr string, j int, t time.Time) store.Log {
	tx := redact.TrustedText
	l := store.Log{NodeRunID: nr, Level: []string{"INFO", "DEBUG", "WARN", "ERROR"}[j%4], Message: tx(fmt.Sprintf("line %d of %s: <done> & \"quoted\" é", j, nr)), CreatedAt: t}
	switch logShape(j % int(shapes)) {
	case tagsObject:
		l.Tags = map[redact.Text]redact.Text{tx("step"): tx("build"), tx("line"): tx(fmt.Sprint(j))}
	case tagsList:
		l.TagList = []redact.Text{tx("workflow_completion"), tx("***")}
	case tagsEmptyList:
		l.TagList = []redact.Text{}
	case tagsOdd:
		l.Tags = map[redact.Text]redact.Text{tx(`quote " and \ backslash`): tx("déploiement ✓ <b>"), tx(""): tx("")}
	}
	return l
}

// seedRun stores a completed run of nodes node runs (the trigger and
// nodes-1 more) with lines log lines each, except the node runs whose
// index is in silent, which have none. It returns the run's identifier.
func seedRun(tb testing.TB, st store.Store, id string, nodes, lines int, silent ...int) string {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, time.November, 29, 10, 0, 0, 123_456_000, time.UTC)
	quiet := map[int]bool{}
	for _, i := range silent {
		quiet[i] = true
	}
	logsOf := func(nr string, i int) []store.Log {
		if quiet[i] {
			return nil
		}
		var out []store.Log
		for j := range lines {
			out = append(out, seedLog(nr, j, t0.Add(time.Duration(i*lines+j)*time.Millisecond)))
		}
		return out
	}
	done := t0.Add(time.Minute)
	nodeRun := func(i int) store.NodeRun {
		return store.NodeRun{
			Identifier: fmt.Sprintf("%s_n%03d", id, i), RunID: id, NodeID: fmt.Sprintf("node%d", i), Seq: i,
			Status: store.StatusCompleted, Result: store.ResultSuccess, Output: redact.Reload([]byte(fmt.Sprintf(`{"i":%d}`, i))),
			CreatedAt: t0, UpdatedAt: done, CompletedAt: &done,
		}
	}
	r := store.Run{Identifier: id, WorkflowID: "w", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "node0", CreatedAt: t0, UpdatedAt: t0}
	first := nodeRun(0)
	if err := st.CreateRun(ctx, r, first, logsOf(first.Identifier, 0)); err != nil {
		tb.Fatal(err)
	}
	tr := store.Transition{RunID: id, Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: done}}
	for i := 1; i < nodes; i++ {
		nr := nodeRun(i)
		tr.Passed = append(tr.Passed, nr)
		tr.Logs = append(tr.Logs, logsOf(nr.Identifier, i)...)
	}
	if err := st.Apply(ctx, tr); err != nil {
		tb.Fatal(err)
	}
	return id
}

// BenchmarkLoad loads a stored run's view, as GET
// /v1/workflows/runs/{id}?include=logs and the UI's run page do: without
// logs (the baseline), with one Logs read per node run, and with the
// store's one read of every log of the run when it has one.
func BenchmarkLoad(b *testing.B) {
	st := openSQLite(b)
	for _, nodes := range []int{4, 50} {
		id := seedRun(b, st, fmt.Sprintf("wfr_%d", nodes), nodes, 5)
		for _, c := range []struct {
			name string
			st   Reader
			opts LoadOptions
		}{
			{"nologs", st, LoadOptions{}},
			{"pernoderun", perNodeRun{st}, LoadOptions{Logs: true}},
			{"store", st, LoadOptions{Logs: true}},
		} {
			b.Run(fmt.Sprintf("nodes=%d/%s", nodes, c.name), func(b *testing.B) {
				ctx := context.Background()
				for b.Loop() {
					if _, err := LoadWith(ctx, c.st, id, c.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncode encodes a loaded run's view to JSON, as the API answers
// it, with and without its logs.
func BenchmarkEncode(b *testing.B) {
	st := openSQLite(b)
	for _, nodes := range []int{4, 50} {
		id := seedRun(b, st, fmt.Sprintf("wfr_%d", nodes), nodes, 5)
		for _, logs := range []bool{false, true} {
			v, err := LoadWith(context.Background(), st, id, LoadOptions{Logs: logs})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("nodes=%d/logs=%v", nodes, logs), func(b *testing.B) {
				for b.Loop() {
					if _, err := json.Marshal(v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// counting is a Reader that counts Logs reads; with runLogs set it also
// has RunLogs (counted, failing with fail when that is set).
type counting struct {
	Reader
	logs, runLogs int
	fail          error
}

func (c *counting) Logs(ctx context.Context, nodeRunID string) ([]store.Log, error) {
	c.logs++
	return c.Reader.Logs(ctx, nodeRunID)
}

// withRunLogs is counting with RunLogs.
type withRunLogs struct{ *counting }

func (c withRunLogs) RunLogs(ctx context.Context, runID string) (map[string][]store.Log, error) {
	c.runLogs++
	if c.fail != nil {
		return nil, c.fail
	}
	return c.Reader.(store.RunLogsReader).RunLogs(ctx, runID)
}

// TestBuildLogsBothPaths: a run's view reads its logs in one RunLogs when
// the store has it, and shows exactly the bytes the per-node-run reads
// show: lines of every tag shape, node runs without lines, runs without
// any, and without logs asked nothing is read.
func TestBuildLogsBothPaths(t *testing.T) {
	st := openSQLite(t)
	tests := []struct {
		name  string
		id    string
		nodes int
		lines int // shown in all
	}{
		{"every shape", seedRun(t, st, "wfr_shapes", 4, 7), 4, 28},
		{"quiet node runs", seedRun(t, st, "wfr_quiet", 6, 5, 0, 2, 5), 6, 15},
		{"no logs at all", seedRun(t, st, "wfr_none", 3, 5, 0, 1, 2), 3, 0},
		{"trigger only", seedRun(t, st, "wfr_one", 1, 3), 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			each := &counting{Reader: st}
			perNode, err := LoadWith(ctx, each, tc.id, LoadOptions{Logs: true})
			if err != nil {
				t.Fatal(err)
			}
			once := withRunLogs{&counting{Reader: st}}
			oneRead, err := LoadWith(ctx, once, tc.id, LoadOptions{Logs: true})
			if err != nil {
				t.Fatal(err)
			}
			if each.logs != tc.nodes || each.runLogs != 0 {
				t.Errorf("per node run: %d Logs, %d RunLogs; want %d, 0", each.logs, each.runLogs, tc.nodes)
			}
			if once.logs != 0 || once.runLogs != 1 {
				t.Errorf("with RunLogs: %d Logs, %d RunLogs; want 0, 1", once.logs, once.runLogs)
			}
			a, err := json.Marshal(perNode)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(oneRead)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("the views differ:\nper node run %s\none read     %s", a, b)
			}
			lines := 0
			for i, nr := range oneRead.NodeRuns {
				lines += len(nr.NodeRunLogs)
				if nr.NodeRunLogs == nil {
					t.Errorf("node run %d: nodeRunLogs is null, want a list", i)
				}
				// Each line as the former encoder wrote it.
				for j, l := range nr.NodeRunLogs {
					want, err := legacyMarshalJSON(l)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Contains(b, want) {
						t.Errorf("node run %d, line %d: the view does not hold %s", i, j, want)
					}
				}
			}
			if lines != tc.lines {
				t.Errorf("%d log lines shown, want %d", lines, tc.lines)
			}
			// Without logs asked, none is read.
			quiet := withRunLogs{&counting{Reader: st}}
			if _, err := LoadWith(ctx, quiet, tc.id, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			if quiet.logs != 0 || quiet.runLogs != 0 {
				t.Errorf("without logs: %d Logs, %d RunLogs; want none", quiet.logs, quiet.runLogs)
			}
		})
	}
	t.Run("RunLogs fails", func(t *testing.T) {
		failing := withRunLogs{&counting{Reader: st, fail: errors.New("disk on fire")}}
		_, err := LoadWith(context.Background(), failing, "wfr_shapes", LoadOptions{Logs: true})
		if err == nil || !strings.Contains(err.Error(), "logs of wfr_shapes") || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("err = %v, want the run and the cause", err)
		}
	})
}

// BenchmarkLogMarshalJSON encodes the 250 log lines of a run of 50 node
// runs one by one: the former encoder (tags, then the line) and
// MarshalJSON.
func BenchmarkLogMarshalJSON(b *testing.B) {
	st := openSQLite(b)
	v, err := LoadWith(context.Background(), st, seedRun(b, st, "wfr_50", 50, 5), LoadOptions{Logs: true})
	if err != nil {
		b.Fatal(err)
	}
	var lines []Log
	for _, nr := range v.NodeRuns {
		lines = append(lines, nr.NodeRunLogs...)
	}
	for _, c := range []struct {
		name string
		enc  func(Log) ([]byte, error)
	}{
		{"legacy", legacyMarshalJSON},
		{"once", Log.MarshalJSON},
	} {
		b.Run(fmt.Sprintf("lines=%d/%s", len(lines), c.name), func(b *testing.B) {
			for b.Loop() {
				for _, l := range lines {
					if _, err := c.enc(l); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
