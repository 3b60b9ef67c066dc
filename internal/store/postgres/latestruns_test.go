package postgres

import (
	"strings"
	"testing"
)

// TestLatestRunsPlan: on a loaded, analyzed runs table, the newest run of
// each workflow is read through runs_workflow, for every run or a viewer's,
// never by a sequential scan or a sort of the runs. A plan is checked, not
// a time.
func TestLatestRunsPlan(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	// 40 workflows (every fourth private), 40,000 runs by 8 people.
	for _, q := range []string{
		`INSERT INTO workflows (identifier, version, definition, created_by, updated_by, created_at, updated_at, allow_anyone_to_view_runs)
			SELECT 'wf' || i, 1, '{}'::bytea, 'adm', 'adm', now(), now(), i % 4 <> 0 FROM generate_series(0, 39) AS i`,
		`INSERT INTO runs (identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at, updated_at)
			SELECT 'wfr_' || lpad(i::text, 6, '0'), 'wf' || (i % 40), 1, 'COMPLETED', 'SUCCESS', 'usr_' || (i % 8), 'trigger',
				now() - i * interval '1 second', now() FROM generate_series(0, 39999) AS i`,
		`ANALYZE runs`,
		`ANALYZE workflows`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ids := []string{"wf0", "wf1", "wf2", "wf3", "wf4", "wf5", "wf6", "wf7", "wf8", "wf9"}
	for _, tc := range []struct {
		viewer bool
		args   []any
	}{
		{false, []any{ids}},
		{true, []any{ids, "usr_3"}},
	} {
		text := explain(t, s, latestRunsQuery(tc.viewer), tc.args...)
		t.Logf("viewer %v:\n%s", tc.viewer, text)
		if strings.Contains(text, "Seq Scan on runs") || strings.Contains(text, "Sort") {
			t.Errorf("viewer %v: the plan scans or sorts the runs:\n%s", tc.viewer, text)
		}
		if !strings.Contains(text, "Index Scan using runs_workflow on runs") {
			t.Errorf("viewer %v: the plan does not walk runs_workflow:\n%s", tc.viewer, text)
		}
	}
}
