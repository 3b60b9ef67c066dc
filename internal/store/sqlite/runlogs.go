package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var _ store.RunLogsReader = (*Store)(nil)

// runLogsQuery reads every log line of a run: its node runs through their
// primary key (run_id, seq), each one's lines through node_run_logs_node_run
// (node_run_id, id), so that the rows come in order of node run and, within
// one, of writing, without a sort (TestRunLogsPlan).
const runLogsQuery = `SELECT l.node_run_id, l.level, l.message, l.tags, l.created_at
	FROM node_runs n JOIN node_run_logs l ON l.node_run_id = n.identifier
	WHERE n.run_id = ? ORDER BY n.seq, l.id`

// scanRunLog scans a row of runLogsQuery.
func scanRunLog(sc scanner) (store.Log, error) {
	var (
		l       store.Log
		message string
		tags    sql.NullString
		created int64
	)
	if err := sc.Scan(&l.NodeRunID, &l.Level, &message, &tags, &created); err != nil {
		return store.Log{}, err
	}
	// Messages and tags were redacted when they were written.
	l.Message = redact.TrustedText(message)
	if tags.Valid {
		if err := store.DecodeTags(&l, []byte(tags.String)); err != nil {
			return store.Log{}, err
		}
	}
	l.CreatedAt = fromTS(created)
	return l, nil
}

// RunLogs returns every log line of a run by node run
// (store.RunLogsReader), in one prepared read.
func (s *Store) RunLogs(ctx context.Context, runID string) (map[string][]store.Log, error) {
	logs, err := queryAll(ctx, s.preparedR(), scanRunLog, runLogsQuery, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: logs of run %s: %w", runID, err)
	}
	out := map[string][]store.Log{}
	for _, l := range logs {
		out[l.NodeRunID] = append(out[l.NodeRunID], l)
	}
	return out, nil
}
