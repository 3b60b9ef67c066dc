package sqlite

import (
	"strings"
	"testing"
)

// TestRunLogsPlan: a run's log lines are found through the node runs'
// primary key and node_run_logs_node_run, never by scanning a table, and
// come in order without a sort. A plan is checked, not a time.
func TestRunLogsPlan(t *testing.T) {
	s := open(t, Options{})
	plan := queryPlan(t, s, runLogsQuery, "wfr_x")
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	var runs, logs bool
	for _, step := range plan {
		switch {
		case strings.HasPrefix(step, "SCAN"):
			t.Errorf("the plan scans a table (%q):\n%s", step, strings.Join(plan, "\n"))
		case strings.Contains(step, "TEMP B-TREE"):
			t.Errorf("the plan sorts (%q):\n%s", step, strings.Join(plan, "\n"))
		case strings.HasPrefix(step, "SEARCH n USING PRIMARY KEY (run_id=?)"):
			runs = true
		case strings.HasPrefix(step, "SEARCH l USING INDEX node_run_logs_node_run (node_run_id=?)"):
			logs = true
		}
	}
	if !runs || !logs {
		t.Errorf("the plan does not search node_runs by run (%v) and node_run_logs_node_run (%v):\n%s", runs, logs, strings.Join(plan, "\n"))
	}
}
