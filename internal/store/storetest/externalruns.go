package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testExternalRuns checks store.ExternalRunStore, for stores that
// implement it; others skip it. An external run id is set only on an
// IN_PROGRESS node run of an IN_PROGRESS run, replaced by a second set,
// found again by exact value (most recently set first), and deleted with
// its run by retention.
func testExternalRuns(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.ExternalRunStore); !ok {
		t.Skip("the store does not implement store.ExternalRunStore")
	}
	red := redact.New()
	red.Add("s3cr3t-value")
	started := startedWaiting
	find := func(t *testing.T, s store.Store, id string, limit int) []string {
		t.Helper()
		es, err := s.(store.ExternalRunStore).FindExternalRuns(ctx(t), id, limit)
		must(t, "FindExternalRuns "+id, err)
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.NodeRunID
		}
		return out
	}

	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, es store.ExternalRunStore)
	}{
		{"SetFoundAndShown", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			nr := started(t, s, "wfr_a")
			must(t, "Set", es.SetExternalRunID(ctx(t), nr, red.Text("gh-12345"), at(2)))
			got, err := es.FindExternalRuns(ctx(t), "gh-12345", 0)
			must(t, "Find", err)
			if len(got) != 1 || got[0].NodeRunID != nr || got[0].RunID != "wfr_a" || got[0].ExternalRunID.String() != "gh-12345" || !near(got[0].SetAt, at(2)) {
				t.Fatalf("FindExternalRuns = %+v, want %s of wfr_a set at %v", got, nr, at(2))
			}
			m, err := es.ExternalRunIDs(ctx(t), []string{nr, "wfr_a_0", "wfnr_missing"})
			must(t, "ExternalRunIDs", err)
			if len(m) != 1 || m[nr].ExternalRunID.String() != "gh-12345" {
				t.Errorf("ExternalRunIDs = %+v, want only %s", m, nr)
			}
			if m, err := es.ExternalRunIDs(ctx(t), nil); err != nil || len(m) != 0 {
				t.Errorf("ExternalRunIDs(none) = %+v, %v", m, err)
			}
			if got := find(t, s, "gh-1234", 0); len(got) != 0 {
				t.Errorf("a prefix found %v, want nothing (exact match only)", got)
			}
			if got := find(t, s, "GH-12345", 0); len(got) != 0 {
				t.Errorf("another case found %v, want nothing (exact match only)", got)
			}
		}},
		{"SecondSetReplaces", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			nr := started(t, s, "wfr_a")
			must(t, "Set 1", es.SetExternalRunID(ctx(t), nr, red.Text("first"), at(2)))
			must(t, "Set 2", es.SetExternalRunID(ctx(t), nr, red.Text("second"), at(3)))
			if got := find(t, s, "first", 0); len(got) != 0 {
				t.Errorf("the replaced id still finds %v", got)
			}
			if got := find(t, s, "second", 0); len(got) != 1 || got[0] != nr {
				t.Errorf("Find(second) = %v, want [%s]", got, nr)
			}
		}},
		{"SharedIDNewestFirstAndLimited", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			a, b, c := started(t, s, "wfr_a"), started(t, s, "wfr_b"), started(t, s, "wfr_c")
			must(t, "Set a", es.SetExternalRunID(ctx(t), a, red.Text("42"), at(2)))
			must(t, "Set c", es.SetExternalRunID(ctx(t), c, red.Text("42"), at(4)))
			must(t, "Set b", es.SetExternalRunID(ctx(t), b, red.Text("42"), at(3)))
			if got := find(t, s, "42", 0); strings.Join(got, ",") != strings.Join([]string{c, b, a}, ",") {
				t.Errorf("Find = %v, want [%s %s %s] (most recently set first)", got, c, b, a)
			}
			if got := find(t, s, "42", 2); len(got) != 2 || got[0] != c {
				t.Errorf("Find limit 2 = %v, want [%s %s]", got, c, b)
			}
		}},
		{"StoredRedacted", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			nr := started(t, s, "wfr_a")
			must(t, "Set", es.SetExternalRunID(ctx(t), nr, red.Text("run-s3cr3t-value"), at(2)))
			if got := find(t, s, "run-s3cr3t-value", 0); len(got) != 0 {
				t.Errorf("the raw value finds %v: it was stored unredacted", got)
			}
			m, err := es.ExternalRunIDs(ctx(t), []string{nr})
			must(t, "ExternalRunIDs", err)
			if v := m[nr].ExternalRunID.String(); v == "" || strings.Contains(v, "s3cr3t-value") {
				t.Errorf("stored external run id = %q, want it masked", v)
			}
		}},
		{"OnlyInProgress", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			nr := started(t, s, "wfr_a")
			wantErr(t, "Set on a missing node run", es.SetExternalRunID(ctx(t), "wfnr_missing", red.Text("x"), at(2)), store.ErrNotFound)
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Complete: &store.NodeRunCompletion{NodeRunID: nr, Result: store.ResultSuccess, CompletedAt: at(3)}}))
			wantErr(t, "Set on a completed node run", es.SetExternalRunID(ctx(t), nr, red.Text("x"), at(4)), store.ErrConflict)
			other := started(t, s, "wfr_b")
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(3)}}))
			wantErr(t, "Set in a finished run", es.SetExternalRunID(ctx(t), other, red.Text("x"), at(4)), store.ErrConflict)
			if got := find(t, s, "x", 0); len(got) != 0 {
				t.Errorf("refused sets stored %v", got)
			}
		}},
		{"Bounded", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			nr := started(t, s, "wfr_a")
			if err := es.SetExternalRunID(ctx(t), nr, red.Text(""), at(2)); err == nil {
				t.Error("an empty external run id was stored")
			}
			if err := es.SetExternalRunID(ctx(t), nr, red.Text(strings.Repeat("x", store.MaxExternalRunIDLen+1)), at(2)); err == nil {
				t.Error("an external run id longer than the bound was stored")
			}
			long := strings.Repeat("y", store.MaxExternalRunIDLen)
			must(t, "Set at the bound", es.SetExternalRunID(ctx(t), nr, red.Text(long), at(2)))
			if got := find(t, s, long, 0); len(got) != 1 {
				t.Errorf("Find(bound) = %v", got)
			}
		}},
		{"DeletedWithItsRun", func(t *testing.T, s store.Store, es store.ExternalRunStore) {
			rt, ok := s.(store.Retainer)
			if !ok {
				t.Skip("the store does not implement store.Retainer")
			}
			nr := started(t, s, "wfr_a")
			must(t, "Set", es.SetExternalRunID(ctx(t), nr, red.Text("gone"), at(2)))
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Finish: &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(3)}}))
			n, err := rt.DeleteRunsBefore(ctx(t), time.Now().Add(time.Hour), 0)
			if err != nil || n != 1 {
				t.Fatalf("DeleteRunsBefore = %d, %v; want 1", n, err)
			}
			if got := find(t, s, "gone", 0); len(got) != 0 {
				t.Errorf("the deleted run's node run is still found: %v", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.run(t, s, s.(store.ExternalRunStore))
		})
	}
}

// startedWaiting creates run id with an IN_PROGRESS node run id+"_1" that
// waits on the outside, and returns that node run's identifier.
func startedWaiting(t *testing.T, s store.Store, id string) string {
	t.Helper()
	createRun(t, s, newRun(id, "deploy", "ann", 0))
	nr := newNodeRun(id+"_1", id, "dispatch", 1, 1)
	must(t, "Start "+nr.Identifier, s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr, Wait: nr.Identifier}))
	return nr.Identifier
}
