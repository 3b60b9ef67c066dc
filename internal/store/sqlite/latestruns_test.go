package sqlite

import (
	"strings"
	"testing"
)

// TestLatestRunsPlan: the newest run of each workflow is found through
// runs_workflow, for every run or a viewer's, never by scanning the runs
// table or sorting it. A plan is checked, not a time.
func TestLatestRunsPlan(t *testing.T) {
	s := open(t, Options{})
	for _, tc := range []struct {
		viewer bool
		args   []any
	}{
		{false, []any{`["a","b"]`}},
		{true, []any{`["a","b"]`, "usr_x"}},
	} {
		plan := queryPlan(t, s, latestRunsQuery(tc.viewer), tc.args...)
		t.Logf("viewer %v:\n%s", tc.viewer, strings.Join(plan, "\n"))
		usesIndex := false
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN r") || strings.HasPrefix(step, "SCAN runs") || strings.HasPrefix(step, "SCAN v") {
				t.Errorf("viewer %v: the plan scans a table (%q):\n%s", tc.viewer, step, strings.Join(plan, "\n"))
			}
			usesIndex = usesIndex || strings.HasPrefix(step, "SEARCH r USING INDEX runs_workflow")
		}
		if !usesIndex {
			t.Errorf("viewer %v: the plan does not search runs_workflow:\n%s", tc.viewer, strings.Join(plan, "\n"))
		}
	}
}
