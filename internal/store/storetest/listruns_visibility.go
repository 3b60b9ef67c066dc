package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testListRunsVisibility checks RunFilter.Viewer and RunFilter.Before: the
// store keeps only the runs the viewer may view (its own, and those of
// workflow versions that allow anyone to view their runs, the definition's
// allowAnyoneToViewRuns, true when absent), counts only those, and pages by
// keyset without skipping or repeating a run while newer runs are inserted.
func testListRunsVisibility(t *testing.T, open opener) {
	s := open(t)
	def := func(allow string) []byte {
		if allow == "" {
			return []byte(`{"identifier":"x","nodes":[]}`)
		}
		return []byte(`{"identifier":"x","allowAnyoneToViewRuns":` + allow + `,"nodes":[]}`)
	}
	// "open" v1 says nothing (public), v2 is private, v3 public again;
	// "closed" v1 is private.
	mustWF := func(id string, v int, allow string) {
		t.Helper()
		w := store.Workflow{Identifier: id, Definition: def(allow), CreatedBy: "adm", CreatedAt: at(0), UpdatedAt: at(0)}
		var err error
		if v == 1 {
			_, err = s.CreateWorkflow(ctx(t), w)
		} else {
			_, err = s.UpdateWorkflow(ctx(t), w)
		}
		must(t, fmt.Sprintf("save %s v%d", id, v), err)
	}
	mustWF("open", 1, "")
	mustWF("open", 2, "false")
	mustWF("open", 3, "true")
	mustWF("closed", 1, "false")
	public := func(r store.Run) bool { return r.WorkflowID == "open" && r.WorkflowVersion != 2 }
	var all []store.Run
	for i := range 60 {
		wf, v := "open", 1+i%3
		if i%4 == 0 {
			wf, v = "closed", 1
		}
		by := []string{"ann", "bob", "cid"}[i%3]
		r := newRun(fmt.Sprintf("wfr_v%03d", i), wf, by, i/2) // pairs share a creation time
		r.WorkflowVersion = v
		createRun(t, s, r)
		all = append(all, r)
	}
	for _, viewer := range []string{"ann", "bob", "nobody"} {
		var want []store.Run
		for _, r := range newestFirst(all) {
			if r.CreatedBy == viewer || public(r) {
				want = append(want, r)
			}
		}
		f := store.RunFilter{Viewer: &store.RunViewer{ActorID: viewer}, Limit: 1000}
		got, total, err := s.ListRuns(ctx(t), f)
		must(t, "ListRuns viewer "+viewer, err)
		if total != len(want) || !slices.Equal(runIDs(got), runIDs(want)) {
			t.Errorf("viewer %s: total %d, runs %v; want %d, %v", viewer, total, runIDs(got), len(want), runIDs(want))
		}
		// With other filters, and Offset.
		f = store.RunFilter{Viewer: &store.RunViewer{ActorID: viewer}, WorkflowIDs: []string{"closed"}, Limit: 2, Offset: 1}
		got, total, err = s.ListRuns(ctx(t), f)
		must(t, "ListRuns viewer and filter", err)
		var closed []store.Run
		for _, r := range want {
			if r.WorkflowID == "closed" {
				closed = append(closed, r)
			}
		}
		wantPage := closed[min(1, len(closed)):min(3, len(closed))]
		if total != len(closed) || !slices.Equal(runIDs(got), runIDs(wantPage)) {
			t.Errorf("viewer %s, closed, offset 1: total %d, %v; want %d, %v", viewer, total, runIDs(got), len(closed), runIDs(wantPage))
		}
	}

	// Keyset paging: walk pages of 7 while newer runs are inserted between
	// pages; every run that existed at the start is seen exactly once.
	start := runIDs(newestFirst(all))
	var seen []string
	var before *store.RunCursor
	for page := 0; ; page++ {
		got, _, err := s.ListRuns(ctx(t), store.RunFilter{Limit: 7, Before: before})
		must(t, "ListRuns page", err)
		if len(got) == 0 {
			break
		}
		seen = append(seen, runIDs(got)...)
		c := store.RunCursorOf(got[len(got)-1])
		before = &c
		r := newRun(fmt.Sprintf("wfr_w%03d", page), "open", "ann", 1000+page) // newer than every run
		createRun(t, s, r)
	}
	if !slices.Equal(seen, start) {
		t.Errorf("keyset pages saw %d runs %v, want the %d that existed, once each, in order", len(seen), seen, len(start))
	}
}
