package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// hotStatements are the reads on the hot path (authenticating a request,
// loading a run, a node run, a workflow version), prepared once on the
// read pool, and the statements of the writer's transactions that
// statements does not hold. database/sql keeps each one prepared per
// connection of the pool as it is used, so SQLite parses the SQL once per
// connection instead of on every call (which was half the CPU of these
// reads; see docs/performance.md).
type hotStatements struct {
	getRun, nodeRuns, getNodeRun, logs *sql.Stmt
	getUser, getClient, getToken       *sql.Stmt
	getWorkflow, getWorkflowVersion    *sql.Stmt
	latestWorkflowVersion              *sql.Stmt // every run's start
	getSecret                          *sql.Stmt // every run resolves its secrets
	// On the writer, inside its transactions.
	nodeRunStatus, attemptState, insertRun *sql.Stmt
}

// all returns every statement, for closing them.
func (rs *hotStatements) all() []*sql.Stmt {
	return []*sql.Stmt{rs.getRun, rs.nodeRuns, rs.getNodeRun, rs.logs, rs.getUser, rs.getClient, rs.getToken,
		rs.getWorkflow, rs.getWorkflowVersion, rs.latestWorkflowVersion, rs.getSecret, rs.nodeRunStatus, rs.attemptState, rs.insertRun}
}

// prepareHot prepares hotStatements.
func (s *Store) prepareHot(ctx context.Context) error {
	for _, p := range []struct {
		db    *sql.DB
		dst   **sql.Stmt
		query string
	}{
		{s.r, &s.rd.getRun, `SELECT ` + runSelectCols + ` FROM runs WHERE identifier = ?`},
		{s.r, &s.rd.nodeRuns, `SELECT ` + nodeRunCols + ` FROM node_runs WHERE run_id = ? ORDER BY seq`},
		{s.r, &s.rd.getNodeRun, `SELECT ` + nodeRunCols + ` FROM node_runs WHERE identifier = ?`},
		{s.r, &s.rd.logs, `SELECT level, message, tags, created_at FROM node_run_logs WHERE node_run_id = ? ORDER BY id`},
		{s.r, &s.rd.getUser, `SELECT ` + userCols + ` FROM users WHERE id = ?`},
		{s.r, &s.rd.getClient, `SELECT ` + clientCols + ` FROM clients WHERE id = ?`},
		{s.r, &s.rd.getToken, `SELECT ` + tokenCols + ` FROM tokens WHERE hash = ?`},
		{s.r, &s.rd.getWorkflow, `SELECT ` + workflowCols + ` FROM workflows
			WHERE identifier = ? AND deleted = 0 ORDER BY version DESC LIMIT 1`},
		{s.r, &s.rd.latestWorkflowVersion, `SELECT version FROM workflows
			WHERE identifier = ? AND deleted = 0 ORDER BY version DESC LIMIT 1`},
		{s.r, &s.rd.getSecret, selectSecrets + ` WHERE s.name = ?`},
		{s.r, &s.rd.getWorkflowVersion, `SELECT ` + workflowCols + ` FROM workflows WHERE identifier = ? AND version = ?`},
		{s.w, &s.rd.nodeRunStatus, `SELECT status FROM node_runs WHERE identifier = ? AND run_id = ?`},
		{s.w, &s.rd.attemptState, `SELECT n.status, n.waiting, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id
			WHERE n.identifier = ?`},
		{s.w, &s.rd.insertRun, `INSERT INTO runs (` + runCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = st
	}
	return nil
}

// queryStmt runs a prepared query and scans every row with scan.
func queryStmt[T any](ctx context.Context, st *sql.Stmt, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, transient(err)
	}
	out, err := collect(rows, scan)
	return out, transient(err)
}
