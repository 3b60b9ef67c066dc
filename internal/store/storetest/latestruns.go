package storetest

import (
	"fmt"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testLatestRuns checks store.LatestRunsReader: for every workflow asked,
// the run ListRuns would list first for it (newest by CreatedAt, ties to the
// greatest Identifier), among the runs the viewer may view; none for a
// workflow without such a run.
func testLatestRuns(t *testing.T, open opener) {
	s := open(t)
	lr, ok := s.(store.LatestRunsReader)
	if !ok {
		t.Skip("the store does not implement store.LatestRunsReader")
	}
	save := func(id string, v int, allow string) {
		t.Helper()
		d := []byte(`{"identifier":"` + id + `","nodes":[]}`)
		if allow != "" {
			d = []byte(`{"identifier":"` + id + `","allowAnyoneToViewRuns":` + allow + `,"nodes":[]}`)
		}
		w := store.Workflow{Identifier: id, Definition: d, CreatedBy: "adm", UpdatedBy: "adm", CreatedAt: at(0), UpdatedAt: at(0)}
		var err error
		if v == 1 {
			_, err = s.CreateWorkflow(ctx(t), w)
		} else {
			_, err = s.UpdateWorkflow(ctx(t), w)
		}
		must(t, fmt.Sprintf("save %s v%d", id, v), err)
	}
	run := func(id, wf string, v int, by string, i int) {
		t.Helper()
		r := newRun(id, wf, by, i)
		r.WorkflowVersion = v
		createRun(t, s, r)
	}
	// "open": v1 public, v2 private, v3 public; "closed": private.
	save("open", 1, "")
	save("open", 2, "false")
	save("open", 3, "true")
	save("closed", 1, "false")
	save("ties", 1, "")
	save("norun", 1, "")
	save("many", 1, "")
	save("gone", 1, "")

	run("wfr_o1", "open", 1, "bob", 1)
	run("wfr_o2", "open", 3, "bob", 2)
	run("wfr_o3", "open", 2, "bob", 3) // newest, private: bob's alone
	run("wfr_o4", "open", 2, "ann", 2) // ann's own, at wfr_o2's instant: the greater identifier
	run("wfr_c1", "closed", 1, "ann", 4)
	run("wfr_c2", "closed", 1, "bob", 5)
	// Three runs at one instant, inserted out of identifier order: the
	// greatest identifier is the newest, not the last inserted.
	run("wfr_t2", "ties", 1, "ann", 6)
	run("wfr_t9", "ties", 1, "bob", 6)
	run("wfr_t5", "ties", 1, "ann", 6)
	run("wfr_t0", "ties", 1, "ann", 5)
	for i := range 250 {
		// Newest first in insertion: the latest run was inserted first.
		run(fmt.Sprintf("wfr_m%03d", i), "many", 1, []string{"ann", "bob"}[i%2], 300-i)
	}
	run("wfr_g1", "gone", 1, "ann", 7)
	must(t, "DeleteWorkflow gone", s.DeleteWorkflow(ctx(t), "gone"))
	run("wfr_x1", "nowf", 1, "ann", 8) // a run whose workflow was never saved

	ids := []string{"open", "closed", "ties", "norun", "many", "gone", "nowf", "never", "open"}
	tests := []struct {
		viewer string // "" for every run
		want   map[string]string
	}{
		{"", map[string]string{"open": "wfr_o3", "closed": "wfr_c2", "ties": "wfr_t9", "many": "wfr_m000", "gone": "wfr_g1", "nowf": "wfr_x1"}},
		{"ann", map[string]string{"open": "wfr_o4", "closed": "wfr_c1", "ties": "wfr_t9", "many": "wfr_m000", "gone": "wfr_g1", "nowf": "wfr_x1"}},
		{"bob", map[string]string{"open": "wfr_o3", "closed": "wfr_c2", "ties": "wfr_t9", "many": "wfr_m000", "gone": "wfr_g1"}},
		{"nobody", map[string]string{"open": "wfr_o2", "ties": "wfr_t9", "many": "wfr_m000", "gone": "wfr_g1"}},
	}
	for _, tc := range tests {
		t.Run("viewer="+tc.viewer, func(t *testing.T) {
			var viewer *store.RunViewer
			if tc.viewer != "" {
				viewer = &store.RunViewer{ActorID: tc.viewer}
			}
			got, err := lr.LatestRuns(ctx(t), ids, viewer)
			must(t, "LatestRuns", err)
			for wf, r := range got {
				if tc.want[wf] == "" {
					t.Errorf("LatestRuns[%s] = %s, want none", wf, r.Identifier)
				}
			}
			for _, wf := range ids {
				list, _, err := s.ListRuns(ctx(t), store.RunFilter{WorkflowIDs: []string{wf}, Viewer: viewer, Limit: 1})
				must(t, "ListRuns "+wf, err)
				r, ok := got[wf]
				switch {
				case tc.want[wf] == "":
					if ok || len(list) != 0 {
						t.Errorf("%s: LatestRuns has %v (%s), ListRuns %v; want none", wf, ok, r.Identifier, runIDs(list))
					}
				case !ok:
					t.Errorf("%s: LatestRuns has none, want %s", wf, tc.want[wf])
				case r.Identifier != tc.want[wf] || len(list) != 1:
					t.Errorf("%s: LatestRuns = %s, ListRuns %v; want %s", wf, r.Identifier, runIDs(list), tc.want[wf])
				default:
					checkRun(t, wf, r, list[0])
				}
			}
		})
	}
	t.Run("none asked", func(t *testing.T) {
		got, err := lr.LatestRuns(ctx(t), nil, &store.RunViewer{ActorID: "ann"})
		must(t, "LatestRuns", err)
		if len(got) != 0 {
			t.Errorf("LatestRuns(nil) = %v, want none", got)
		}
	})
}
