package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testListRunsAfter checks RunFilter.After, keyset paging backwards: the
// page before one that starts with run r is the Limit runs nearest r on
// the newer side, newest first, with the filters and the viewer applied;
// Offset skips the nearest; Before and After together bound a window; and a
// walk back from the last page, with newer runs inserted between pages,
// shows exactly the pages the walk forward showed.
func testListRunsAfter(t *testing.T, open opener) {
	s := open(t)
	for _, w := range []struct{ id, allow string }{{"open", ""}, {"closed", `,"allowAnyoneToViewRuns":false`}} {
		_, err := s.CreateWorkflow(ctx(t), store.Workflow{Identifier: w.id, Definition: []byte(`{"identifier":"` + w.id + `","nodes":[]` + w.allow + `}`),
			CreatedBy: "adm", CreatedAt: at(0), UpdatedAt: at(0)})
		must(t, "save "+w.id, err)
	}
	var all []store.Run
	for i := range 40 {
		wf := "open"
		if i%3 == 0 {
			wf = "closed"
		}
		r := newRun(fmt.Sprintf("wfr_a%03d", i), wf, []string{"ann", "bob"}[i%2], i/3) // three runs share a creation time
		if i%5 == 0 {
			r.Status = store.StatusCompleted
			r.Result = store.ResultSuccess
			r.CompletedAt = ptr(r.CreatedAt)
		}
		createRun(t, s, r)
		all = append(all, r)
	}
	ordered := newestFirst(all)
	pos := func(i int) *store.RunCursor { c := store.RunCursorOf(ordered[i]); return &c }
	visible := func(viewer string) func(store.Run) bool {
		return func(r store.Run) bool { return r.CreatedBy == viewer || r.WorkflowID == "open" }
	}
	// want is the reference: of the runs of ordered that keep passes,
	// strictly between the positions lo (newer side, -1 for none) and hi
	// (older side), the limit nearest hi after skipping offset, newest first.
	want := func(keep func(store.Run) bool, lo, hi, limit, offset int) []string {
		var in []string
		for i := lo + 1; i < hi; i++ {
			if keep(ordered[i]) {
				in = append(in, ordered[i].Identifier)
			}
		}
		end := max(len(in)-offset, 0)
		return in[max(end-limit, 0):end]
	}
	everything := func(store.Run) bool { return true }
	for _, tc := range []struct {
		name   string
		f      store.RunFilter
		keep   func(store.Run) bool
		lo, hi int
	}{
		{name: "the page before the oldest run", f: store.RunFilter{Limit: 7, After: pos(39)}, keep: everything, lo: -1, hi: 39},
		{name: "ties: the page before a run that shares its time", f: store.RunFilter{Limit: 4, After: pos(20)}, keep: everything, lo: -1, hi: 20},
		{name: "near the newest: a short page", f: store.RunFilter{Limit: 7, After: pos(3)}, keep: everything, lo: -1, hi: 3},
		{name: "before the newest: nothing", f: store.RunFilter{Limit: 7, After: pos(0)}, keep: everything, lo: -1, hi: 0},
		{name: "offset skips the nearest", f: store.RunFilter{Limit: 5, Offset: 3, After: pos(30)}, keep: everything, lo: -1, hi: 30},
		{name: "with filters", f: store.RunFilter{Limit: 3, After: pos(35), WorkflowIDs: []string{"closed"}, Statuses: []string{store.StatusInProgress}},
			keep: func(r store.Run) bool { return r.WorkflowID == "closed" && r.Status == store.StatusInProgress }, lo: -1, hi: 35},
		{name: "a viewer sees only what it may", f: store.RunFilter{Limit: 6, After: pos(33), Viewer: &store.RunViewer{ActorID: "bob"}},
			keep: visible("bob"), lo: -1, hi: 33},
		{name: "a viewer and offset", f: store.RunFilter{Limit: 4, Offset: 2, After: pos(38), Viewer: &store.RunViewer{ActorID: "ann"}},
			keep: visible("ann"), lo: -1, hi: 38},
		{name: "a window between Before and After", f: store.RunFilter{Limit: 100, After: pos(25), Before: pos(10)}, keep: everything, lo: 10, hi: 25},
		{name: "a window, limited: the runs nearest After", f: store.RunFilter{Limit: 4, After: pos(25), Before: pos(10)}, keep: everything, lo: 10, hi: 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListRuns(ctx(t), tc.f)
			must(t, "ListRuns", err)
			w := want(tc.keep, tc.lo, tc.hi, tc.f.Limit, tc.f.Offset)
			if !slices.Equal(runIDs(got), w) {
				t.Errorf("page %v, want %v", runIDs(got), w)
			}
			all := tc.f
			all.After, all.Before, all.Limit, all.Offset = nil, nil, 1000, 0
			every, _, err := s.ListRuns(ctx(t), all)
			must(t, "ListRuns without a cursor", err)
			if total != len(every) {
				t.Errorf("total %d, want %d: After must not change it", total, len(every))
			}
		})
	}

	// Forward by Before, then back by After while newer runs are inserted
	// before every page: the pages back are the pages forward, in reverse.
	var forward [][]string
	var before *store.RunCursor
	for {
		got, _, err := s.ListRuns(ctx(t), store.RunFilter{Limit: 6, Before: before})
		must(t, "ListRuns forward", err)
		if len(got) == 0 {
			break
		}
		forward = append(forward, runIDs(got))
		c := store.RunCursorOf(got[len(got)-1])
		before = &c
	}
	page := forward[len(forward)-1]
	first, err := s.GetRun(ctx(t), page[0])
	must(t, "GetRun", err)
	after := store.RunCursorOf(first)
	for i := len(forward) - 2; i >= 0; i-- {
		createRun(t, s, newRun(fmt.Sprintf("wfr_b%03d", i), "open", "ann", 1000+i)) // newer than every run
		got, _, err := s.ListRuns(ctx(t), store.RunFilter{Limit: 6, After: &after})
		must(t, "ListRuns back", err)
		if !slices.Equal(runIDs(got), forward[i]) {
			t.Fatalf("back to page %d: %v, want %v as going forward", i+1, runIDs(got), forward[i])
		}
		after = store.RunCursorOf(got[0])
	}
	got, _, err := s.ListRuns(ctx(t), store.RunFilter{Limit: 100, After: &after})
	must(t, "ListRuns before the first page", err)
	if len(got) != len(forward)-1 || !strings.HasPrefix(got[0].Identifier, "wfr_b") {
		t.Errorf("before the first page: %v, want the %d runs inserted during the walk", runIDs(got), len(forward)-1)
	}
}
