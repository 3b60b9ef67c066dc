package storetest

import (
	"errors"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testLatestVersion checks store.LatestVersionReader against GetWorkflow,
// for stores that implement it; others skip it.
func testLatestVersion(t *testing.T, open opener) {
	s := open(t)
	lv, ok := s.(store.LatestVersionReader)
	if !ok {
		t.Skip("the store does not implement store.LatestVersionReader")
	}
	wf := func(id string, v int) store.Workflow {
		return store.Workflow{Identifier: id, Definition: def(id, v), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(v), UpdatedAt: at(v)}
	}
	must := func(_ store.Workflow, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateWorkflow(ctx(t), wf("deploy", 1)))
	must(s.UpdateWorkflow(ctx(t), wf("deploy", 2)))
	must(s.UpdateWorkflow(ctx(t), wf("deploy", 3)))
	must(s.CreateWorkflow(ctx(t), wf("gone", 1)))
	if err := s.DeleteWorkflow(ctx(t), "gone"); err != nil {
		t.Fatal(err)
	}
	must(s.CreateWorkflow(ctx(t), wf("again", 1)))
	if err := s.DeleteWorkflow(ctx(t), "again"); err != nil {
		t.Fatal(err)
	}
	must(s.CreateWorkflow(ctx(t), wf("again", 2))) // version 2 after the deleted 1

	tests := []struct {
		id      string
		want    int
		missing bool
	}{
		{id: "deploy", want: 3},
		{id: "again", want: 2},
		{id: "gone", missing: true},
		{id: "never", missing: true},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			got, err := lv.LatestWorkflowVersion(ctx(t), tc.id)
			rec, gerr := s.GetWorkflow(ctx(t), tc.id)
			switch {
			case tc.missing:
				if !errors.Is(err, store.ErrNotFound) || !errors.Is(gerr, store.ErrNotFound) {
					t.Errorf("LatestWorkflowVersion = %d, %v; GetWorkflow: %v; want ErrNotFound from both", got, err, gerr)
				}
			case err != nil || gerr != nil:
				t.Fatalf("LatestWorkflowVersion: %v; GetWorkflow: %v", err, gerr)
			case got != tc.want || got != rec.Version:
				t.Errorf("LatestWorkflowVersion = %d, GetWorkflow's version %d, want %d", got, rec.Version, tc.want)
			}
		})
	}
}
