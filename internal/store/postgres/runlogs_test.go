package postgres

import (
	"context"
	"strings"
	"testing"
)

// TestRunLogsPlan: on loaded, analyzed node run and log tables, a run's log
// lines are read through the node runs' primary key and
// node_run_logs_node_run, never by a sequential scan of either table. The
// planner sorts the run's own lines (a few dozen rows) by node run and
// writing order; that is allowed. A plan is checked, not a time.
func TestRunLogsPlan(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	// 2,000 runs of 5 node runs with 5 log lines each: 50,000 lines.
	for _, q := range []string{
		`INSERT INTO runs (identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at, updated_at)
			SELECT 'wfr_' || lpad(i::text, 6, '0'), 'wf', 1, 'COMPLETED', 'SUCCESS', 'usr', 'trigger',
				now() - i * interval '1 second', now() FROM generate_series(0, 1999) AS i`,
		`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, result, created_at, updated_at)
			SELECT 'wfnr_' || lpad(i::text, 6, '0') || '_' || j, 'wfr_' || lpad(i::text, 6, '0'), 'node' || j, j, 'COMPLETED', 'SUCCESS', now(), now()
			FROM generate_series(0, 1999) AS i, generate_series(0, 4) AS j`,
		`INSERT INTO node_run_logs (node_run_id, level, message, tags, created_at)
			SELECT 'wfnr_' || lpad(i::text, 6, '0') || '_' || j, 'INFO', 'line ' || k, '{"step":"build"}'::jsonb, now()
			FROM generate_series(0, 1999) AS i, generate_series(0, 4) AS j, generate_series(0, 4) AS k`,
		`ANALYZE runs`,
		`ANALYZE node_runs`,
		`ANALYZE node_run_logs`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	text := explain(t, s, runLogsQuery, "wfr_000042")
	t.Logf("plan:\n%s", text)
	if strings.Contains(text, "Seq Scan") {
		t.Errorf("the plan scans a table:\n%s", text)
	}
	for _, index := range []string{"node_runs_pkey", "node_run_logs_node_run"} {
		if !strings.Contains(text, index) {
			t.Errorf("the plan does not use %s:\n%s", index, text)
		}
	}
}

// explain returns PostgreSQL's plan of query with args, one line per node.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	return text
}
