package sqlite

import (
	"context"
	"strings"
	"testing"
)

// TestVisibleRunsPlan: a run list for a viewer never scans the runs table:
// its cost follows the runs the viewer may view (its own, through
// runs_created_by; those of public versions, through runs_version), not
// the runs it may not. A plan is checked, not a time.
func TestVisibleRunsPlan(t *testing.T) {
	s := open(t, Options{})
	for _, q := range []string{
		`SELECT count(*)` + visibleRunsFrom,
		`SELECT ` + runSelectCols + visibleRunsFrom + ` WHERE workflow_id IN ('a') ORDER BY created_at DESC, identifier DESC LIMIT 100 OFFSET 5`,
	} {
		plan := queryPlan(t, s, q, "usr_x")
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN r") || strings.HasPrefix(step, "SCAN runs") {
				t.Errorf("the plan scans the runs table (%q):\n%s", step, strings.Join(plan, "\n"))
			}
		}
	}
}

// TestAllowAnyoneToViewRunsColumn: a saved version records its definition's
// allowAnyoneToViewRuns (true when absent), and migration 0007's backfill
// reads it the same way.
func TestAllowAnyoneToViewRunsColumn(t *testing.T) {
	for _, tc := range []struct {
		def  string
		want bool
	}{
		{`{"identifier":"w"}`, true},
		{`{"identifier":"w","allowAnyoneToViewRuns":true}`, true},
		{`{"identifier":"w","allowAnyoneToViewRuns":false}`, false},
	} {
		if got := anyoneMayViewRuns([]byte(tc.def)); got != tc.want {
			t.Errorf("anyoneMayViewRuns(%s) = %v", tc.def, got)
		}
		s := open(t, Options{})
		var got bool
		// The WHERE of the backfill of 0007 over this definition (NULL, for
		// a missing key, updates nothing).
		err := s.r.QueryRowContext(context.Background(), `SELECT NOT coalesce(json_valid(CAST(? AS TEXT)) AND json_type(CAST(? AS TEXT), '$.allowAnyoneToViewRuns') = 'false', 0)`,
			[]byte(tc.def), []byte(tc.def)).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("the backfill reads %s as %v", tc.def, got)
		}
	}
}

// TestUndeliveredDecisionsPlan: the wait loop's look for decided INPUT
// node runs reads the inputs, never every node run or run stored.
func TestUndeliveredDecisionsPlan(t *testing.T) {
	s := open(t, Options{})
	plan := queryPlan(t, s, sqlUndeliveredDecisions, 100)
	for _, step := range plan {
		for _, table := range []string{"SCAN n", "SCAN node_runs", "SCAN r", "SCAN runs"} {
			if step == table || strings.HasPrefix(step, table+" ") {
				t.Errorf("the plan scans a table that grows with history (%q):\n%s", step, strings.Join(plan, "\n"))
			}
		}
	}
}

// queryPlan returns the steps of SQLite's plan for q with args (EXPLAIN
// QUERY PLAN's detail column), in order.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
