package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

const (
	runCols = `identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at, updated_at, completed_at`
	// runSelectCols reads runCols with updated_at derived: a step of a run
	// writes only its node runs (one page fewer per commit), so a run was
	// last updated when its newest node run was.
	runSelectCols = `identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at,
		max(updated_at, coalesce((SELECT max(n.updated_at) FROM node_runs n WHERE n.run_id = runs.identifier), 0)), completed_at`
	nodeRunCols = `identifier, run_id, node_id, seq, status, result, output, links, waiting, created_at, updated_at, completed_at, attempts`
)

func scanRun(sc scanner) (store.Run, error) {
	var (
		r                store.Run
		created, updated int64
		completed        sql.NullInt64
	)
	if err := sc.Scan(&r.Identifier, &r.WorkflowID, &r.WorkflowVersion, &r.Status, &r.Result, &r.CreatedBy, &r.TriggerNode, &created, &updated, &completed); err != nil {
		return store.Run{}, err
	}
	r.CreatedAt, r.UpdatedAt, r.CompletedAt = fromTS(created), fromTS(updated), fromNullTS(completed)
	return r, nil
}

func scanNodeRun(sc scanner) (store.NodeRun, error) {
	var (
		nr               store.NodeRun
		output           []byte
		links            sql.NullString
		created, updated int64
		completed        sql.NullInt64
	)
	if err := sc.Scan(&nr.Identifier, &nr.RunID, &nr.NodeID, &nr.Seq, &nr.Status, &nr.Result, &output, &links, &nr.Waiting, &created, &updated, &completed, &nr.Attempts); err != nil {
		return store.NodeRun{}, err
	}
	if len(output) > 0 {
		nr.Output = redact.Reload(output)
	}
	var err error
	if nr.Links, err = decodeLinks(links); err != nil {
		return store.NodeRun{}, fmt.Errorf("node run %s: %w", nr.Identifier, err)
	}
	nr.CreatedAt, nr.UpdatedAt, nr.CompletedAt = fromTS(created), fromTS(updated), fromNullTS(completed)
	return nr, nil
}

// encodeLinks stores links as a JSON array of strings; none is NULL.
func encodeLinks(links []redact.Text) (sql.NullString, error) {
	if len(links) == 0 {
		return sql.NullString{}, nil
	}
	ss := make([]string, len(links))
	for i, l := range links {
		ss[i] = l.String()
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("encode links: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// decodeLinks reverses encodeLinks. The links were redacted when they were
// written, so reading them back as redact.Text is sound.
func decodeLinks(v sql.NullString) ([]redact.Text, error) {
	if !v.Valid {
		return nil, nil
	}
	var ss []string
	if err := json.Unmarshal([]byte(v.String), &ss); err != nil {
		return nil, fmt.Errorf("decode links: %w", err)
	}
	links := make([]redact.Text, len(ss))
	for i, s := range ss {
		links[i] = redact.TrustedText(s)
	}
	return links, nil
}

// output is the stored form of a node run's output: NULL when zero.
func output(j redact.JSON) []byte {
	if j.IsZero() {
		return nil
	}
	return j.Bytes()
}

// insertNodeRun inserts nr into run runID. An empty Status is IN_PROGRESS, a
// zero CreatedAt now, a zero UpdatedAt CreatedAt; Waiting and Attempts are
// stored as given.
func (s *Store) insertNodeRun(ctx context.Context, tx *sql.Tx, runID string, nr *store.NodeRun, now time.Time) error {
	if nr.Identifier == "" {
		return errors.New("node run with an empty identifier")
	}
	if nr.RunID != "" && nr.RunID != runID {
		return fmt.Errorf("node run %s belongs to run %s", nr.Identifier, nr.RunID)
	}
	status := nr.Status
	if status == "" {
		status = store.StatusInProgress
	}
	created := ts(nr.CreatedAt, now)
	updated := created
	if !nr.UpdatedAt.IsZero() {
		updated = nr.UpdatedAt.UnixNano()
	}
	links, err := encodeLinks(nr.Links)
	if err != nil {
		return fmt.Errorf("node run %s: %w", nr.Identifier, err)
	}
	_, err = tx.StmtContext(ctx, s.st.insertNodeRun).ExecContext(ctx, nr.Identifier, runID, nr.NodeID, nr.Seq, status, nr.Result,
		output(nr.Output), links, nr.Waiting, created, updated, nullTS(nr.CompletedAt, now), nr.Attempts)
	if err != nil {
		return fmt.Errorf("insert node run %s: %w", nr.Identifier, mapErr(err))
	}
	return nil
}

// insertLogs appends logs; a zero CreatedAt is now.
func (s *Store) insertLogs(ctx context.Context, tx *sql.Tx, logs []store.Log, now time.Time) error {
	if len(logs) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, s.st.insertLog)
	for i, l := range logs {
		var tags sql.NullString
		b, err := store.EncodeTags(l)
		if err != nil {
			return fmt.Errorf("log %d of node run %s: encode tags: %w", i, l.NodeRunID, err)
		}
		if b != nil {
			tags = sql.NullString{String: string(b), Valid: true}
		}
		if _, err := st.ExecContext(ctx, l.NodeRunID, l.Level, l.Message.String(), tags, ts(l.CreatedAt, now)); err != nil {
			return fmt.Errorf("log %d of node run %s: %w", i, l.NodeRunID, mapErr(err))
		}
	}
	return nil
}

// CreateRun inserts a run, its first node run and that node run's logs in
// one transaction. An empty run Status is IN_PROGRESS; zero times are now.
func (s *Store) CreateRun(ctx context.Context, run store.Run, first store.NodeRun, logs []store.Log) error {
	return s.createRun(ctx, store.Creation{Run: run, NodeRuns: []store.NodeRun{first}, Logs: logs})
}

var _ store.RunCreator = (*Store)(nil)

// CreateRunWith inserts a run with its first node runs, their logs and its
// lease in one group-committed transaction (store.RunCreator).
func (s *Store) CreateRunWith(ctx context.Context, c store.Creation) error {
	if c.Lease != nil && c.Lease.Owner == "" {
		return fmt.Errorf("sqlite: create run %s: empty lease owner", c.Run.Identifier)
	}
	return s.createRun(ctx, c)
}

// createRun inserts a run, its first node runs and their logs, and, when
// c.Lease is not nil, the run's lease (CreateRunLeased), in one
// group-committed transaction.
func (s *Store) createRun(ctx context.Context, c store.Creation) error {
	run, lease := c.Run, c.Lease
	if run.Identifier == "" {
		return errors.New("sqlite: create run: empty identifier")
	}
	if len(c.NodeRuns) == 0 {
		return fmt.Errorf("sqlite: create run %s: no node run", run.Identifier)
	}
	now := time.Now()
	status := run.Status
	if status == "" {
		status = store.StatusInProgress
	}
	created := ts(run.CreatedAt, now)
	updated := created
	if !run.UpdatedAt.IsZero() {
		updated = run.UpdatedAt.UnixNano()
	}
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.rd.insertRun).ExecContext(ctx,
			run.Identifier, run.WorkflowID, run.WorkflowVersion, status, run.Result, run.CreatedBy, run.TriggerNode,
			created, updated, nullTS(run.CompletedAt, now))
		if err != nil {
			return fmt.Errorf("insert: %w", mapErr(err))
		}
		for i := range c.NodeRuns {
			if err := s.insertNodeRun(ctx, tx, run.Identifier, &c.NodeRuns[i], now); err != nil {
				return err
			}
		}
		if err := s.insertLogs(ctx, tx, c.Logs, now); err != nil {
			return err
		}
		if c.Seal != nil {
			if err := s.sealStep(ctx, tx, store.Transition{RunID: run.Identifier, Seal: c.Seal}, now); err != nil {
				return err
			}
		}
		if lease != nil {
			if _, err := s.prepared(tx).ExecContext(ctx, `INSERT INTO run_leases (run_id, owner, expires_at) VALUES (?, ?, ?)`, run.Identifier, lease.Owner, lease.Until.UnixNano()); err != nil {
				return fmt.Errorf("lease: %w", mapErr(err))
			}
		}
		if p := c.TraceParent; !p.IsZero() {
			if _, err := s.prepared(tx).ExecContext(ctx, `UPDATE runs SET trace_parent = ? WHERE identifier = ?`, p.String(), run.Identifier); err != nil {
				return fmt.Errorf("trace parent: %w", mapErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create run %s: %w", run.Identifier, err)
	}
	return nil
}

// Apply commits a transition in one transaction, in this order: the run
// (Finish, or a check that it is IN_PROGRESS), Complete, Start, Wait, Logs,
// Audit. So Wait and Logs may name the node run Start inserts, and Wait
// naming the node run Complete finishes is ErrConflict.
//
// Besides what the transition says, it moves the run's UpdatedAt forward to
// the transition's time (Finish's, else Complete's, else Start's CreatedAt,
// else now); Wait moves the waiting node run's UpdatedAt forward to it too.
// Marking a node run that already waits is not an error. Completing a node
// run clears its Waiting flag.
func (s *Store) Apply(ctx context.Context, t store.Transition) error {
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.apply(ctx, tx, t) })
	if err != nil {
		return fmt.Errorf("sqlite: apply transition to run %s: %w", t.RunID, err)
	}
	return nil
}

// finishOrCheckRun finishes the run when the transition says so, and
// otherwise only checks that it is still IN_PROGRESS: a run's updated_at is
// derived from its node runs (runSelectCols), so a step writes no page of the
// runs table. Either way it finds out whether the run exists.
func (s *Store) finishOrCheckRun(ctx context.Context, tx *sql.Tx, t store.Transition, now time.Time) error {
	if f := t.Finish; f != nil {
		at := ts(f.CompletedAt, now)
		res, err := tx.StmtContext(ctx, s.st.finishRun).ExecContext(ctx, f.Result, at, at, t.RunID)
		if err != nil {
			return fmt.Errorf("finish run: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("finish run: %w", err)
		} else if n > 0 {
			return nil
		}
	}
	var status string
	if err := tx.StmtContext(ctx, s.st.runStatus).QueryRowContext(ctx, t.RunID).Scan(&status); err != nil {
		return fmt.Errorf("run: %w", notFound(err))
	}
	if status != store.StatusInProgress {
		return fmt.Errorf("run is %s: %w", status, store.ErrConflict)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, t store.Transition) error {
	now := time.Now()
	when := now
	switch {
	case t.Finish != nil && !t.Finish.CompletedAt.IsZero():
		when = t.Finish.CompletedAt
	case t.Complete != nil && !t.Complete.CompletedAt.IsZero():
		when = t.Complete.CompletedAt
	case t.Start != nil && !t.Start.CreatedAt.IsZero():
		when = t.Start.CreatedAt
	}

	// The engine's usual step completes a node run and starts the next: then
	// the completion's UPDATE checks the run's status itself (one statement
	// fewer on the hot path), and only a refused step asks why.
	merged := t.Finish == nil && t.Complete != nil
	if !merged {
		if err := s.finishOrCheckRun(ctx, tx, t, now); err != nil {
			return err
		}
	}
	if c := t.Complete; c != nil {
		links, err := encodeLinks(c.Links)
		if err != nil {
			return fmt.Errorf("complete node run %s: %w", c.NodeRunID, err)
		}
		at := ts(c.CompletedAt, now)
		stmt, args := s.st.completeNodeRun, []any{c.Result, output(c.Output), links, at, at, c.NodeRunID, t.RunID}
		if merged {
			stmt, args = s.st.completeNodeRunInRun, append(args, t.RunID)
		}
		res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("complete node run %s: %w", c.NodeRunID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("complete node run %s: %w", c.NodeRunID, err)
		} else if n == 0 {
			if merged {
				if err := s.finishOrCheckRun(ctx, tx, t, now); err != nil {
					return err
				}
			}
			var status string
			err := tx.StmtContext(ctx, s.rd.nodeRunStatus).QueryRowContext(ctx, c.NodeRunID, t.RunID).Scan(&status)
			if err != nil {
				return fmt.Errorf("complete node run %s: %w", c.NodeRunID, notFound(err))
			}
			return fmt.Errorf("complete node run %s: it is %s: %w", c.NodeRunID, status, store.ErrConflict)
		}
	}
	// Passed and Start before Wait and Logs, so that they may name the
	// node runs they insert.
	for i := range t.Passed {
		if err := s.insertNodeRun(ctx, tx, t.RunID, &t.Passed[i], now); err != nil {
			return err
		}
	}
	if t.Start != nil {
		if err := s.insertNodeRun(ctx, tx, t.RunID, t.Start, now); err != nil {
			return err
		}
	}
	if t.Wait != "" {
		if err := s.waitNodeRun(ctx, tx, t, when); err != nil {
			return err
		}
		if err := s.wakeNodeRun(ctx, tx, t); err != nil {
			return err
		}
	}
	if err := s.insertLogs(ctx, tx, t.Logs, now); err != nil {
		return err
	}
	if err := s.insertAudit(ctx, tx, t.Audit, now); err != nil {
		return err
	}
	return s.sealStep(ctx, tx, t, now)
}

// waitNodeRun marks node run t.Wait of run t.RunID as waiting, with
// t.WaitUntil as its deadline when set: ErrNotFound when
// the run has no such node run, ErrConflict when it is no longer
// IN_PROGRESS.
func (s *Store) waitNodeRun(ctx context.Context, tx *sql.Tx, t store.Transition, when time.Time) error {
	runID, id := t.RunID, t.Wait
	var deadline sql.NullInt64
	if !t.WaitUntil.IsZero() {
		deadline = sql.NullInt64{Int64: t.WaitUntil.UnixNano(), Valid: true}
	}
	res, err := tx.StmtContext(ctx, s.st.waitNodeRun).ExecContext(ctx, when.UnixNano(), deadline, deadline, t.WaitContinue, id, runID)
	if err != nil {
		return fmt.Errorf("wait on node run %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("wait on node run %s: %w", id, err)
	} else if n == 0 {
		var status string
		err := tx.StmtContext(ctx, s.rd.nodeRunStatus).QueryRowContext(ctx, id, runID).Scan(&status)
		if err != nil {
			return fmt.Errorf("wait on node run %s: %w", id, notFound(err))
		}
		return fmt.Errorf("wait on node run %s: it is %s: %w", id, status, store.ErrConflict)
	}
	return nil
}

// GetRun returns a run.
func (s *Store) GetRun(ctx context.Context, identifier string) (store.Run, error) {
	r, err := scanRun(s.rd.getRun.QueryRowContext(ctx, identifier))
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlite: get run %s: %w", identifier, notFound(err))
	}
	return r, nil
}

// inClause appends "AND col IN (?, ...)" for a non-empty set.
func inClause(where []string, args []any, col string, set []string) ([]string, []any) {
	if len(set) == 0 {
		return where, args
	}
	where = append(where, col+" IN (?"+strings.Repeat(", ?", len(set)-1)+")")
	for _, v := range set {
		args = append(args, v)
	}
	return where, args
}

// ListRuns returns one page of the runs that match f, newest first (ties in
// CreatedAt: the later inserted first), and how many match in all. The page
// and the total are read from one snapshot. f.Before and f.After page by
// keyset, forwards and backwards.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error) {
	limit, offset, err := clamp(f.Limit, f.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list runs: %w", err)
	}
	var (
		where []string
		args  []any
	)
	where, args = inClause(where, args, "workflow_id", f.WorkflowIDs)
	where, args = inClause(where, args, "status", f.Statuses)
	where, args = inClause(where, args, "result", f.Results)
	where, args = inClause(where, args, "created_by", f.CreatedBy)
	where, args = inClause(where, args, "identifier", f.RunIDs)
	if len(f.WorkflowVersions) > 0 {
		where = append(where, "workflow_version IN (?"+strings.Repeat(", ?", len(f.WorkflowVersions)-1)+")")
		for _, v := range f.WorkflowVersions {
			args = append(args, v)
		}
	}
	// The runs a viewer may view: those it created, and those of public
	// versions. Each set is found through an index (runs_created_by, and
	// runs_version per public version), and the CROSS JOIN makes SQLite
	// loop over that set rather than over every run, so the list costs
	// what the visible runs cost, however many runs the viewer may not see.
	from := " FROM runs"
	var fromArgs []any
	if f.Viewer != nil {
		from = visibleRunsFrom
		fromArgs = []any{f.Viewer.ActorID}
	}
	args = append(fromArgs, args...)
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	pageCond, pageArgs := cond, slices.Clone(args)
	if f.Before != nil {
		kw := " WHERE "
		if cond != "" {
			kw = " AND "
		}
		ts := f.Before.CreatedAt.UnixNano()
		pageCond += kw + `(created_at < ? OR created_at = ? AND identifier < ?)`
		pageArgs = append(pageArgs, ts, ts, f.Before.Identifier)
	}
	// After pages backwards: the runs nearest the position are read
	// oldest first, and the page is turned newest first below.
	order := ` ORDER BY created_at DESC, identifier DESC`
	if f.After != nil {
		kw := " WHERE "
		if pageCond != "" {
			kw = " AND "
		}
		ts := f.After.CreatedAt.UnixNano()
		pageCond += kw + `(created_at > ? OR created_at = ? AND identifier > ?)`
		pageArgs = append(pageArgs, ts, ts, f.After.Identifier)
		order = ` ORDER BY created_at, identifier`
	}
	var (
		runs  []store.Run
		total int
	)
	err = s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from+cond, args...).Scan(&total); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+runSelectCols+from+pageCond+
			order+` LIMIT ? OFFSET ?`, append(pageArgs, limit, offset)...)
		if err != nil {
			return err
		}
		runs, err = collect(rows, scanRun)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list runs: %w", err)
	}
	if f.After != nil {
		slices.Reverse(runs)
	}
	return runs, total, nil
}

// visibleRunsFrom is the FROM clause of a run list for a viewer (its one
// parameter is the viewer's id): the runs it created and those of public
// workflow versions, each set found through an index, joined to runs by
// rowid. CROSS JOIN fixes the loop order, so that SQLite never scans every
// run (TestVisibleRunsPlan).
const visibleRunsFrom = ` FROM (SELECT seq AS vseq FROM runs WHERE created_by = ?
	UNION SELECT r.seq FROM workflows w CROSS JOIN runs r ON r.workflow_id = w.identifier AND r.workflow_version = w.version
	WHERE w.allow_anyone_to_view_runs = 1) AS visible CROSS JOIN runs ON runs.seq = visible.vseq`

// ListInProgressRuns returns the runs still IN_PROGRESS, oldest first.
func (s *Store) ListInProgressRuns(ctx context.Context) ([]store.Run, error) {
	runs, err := queryAll(ctx, s.r, scanRun, `SELECT `+runSelectCols+` FROM runs WHERE status = ? ORDER BY created_at, seq`, store.StatusInProgress)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list in-progress runs: %w", err)
	}
	return runs, nil
}

// NodeRuns returns a run's node runs ordered by Seq; none for a missing run.
func (s *Store) NodeRuns(ctx context.Context, runID string) ([]store.NodeRun, error) {
	nrs, err := queryStmt(ctx, s.rd.nodeRuns, scanNodeRun, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: node runs of %s: %w", runID, err)
	}
	return nrs, nil
}

// GetNodeRun returns one node run.
func (s *Store) GetNodeRun(ctx context.Context, identifier string) (store.NodeRun, error) {
	nr, err := scanNodeRun(s.rd.getNodeRun.QueryRowContext(ctx, identifier))
	if err != nil {
		return store.NodeRun{}, fmt.Errorf("sqlite: get node run %s: %w", identifier, notFound(err))
	}
	return nr, nil
}

// Logs returns a node run's logs in the order they were written; none for
// a missing node run.
func (s *Store) Logs(ctx context.Context, nodeRunID string) ([]store.Log, error) {
	scan := func(sc scanner) (store.Log, error) {
		var (
			l       = store.Log{NodeRunID: nodeRunID}
			message string
			tags    sql.NullString
			created int64
		)
		if err := sc.Scan(&l.Level, &message, &tags, &created); err != nil {
			return store.Log{}, err
		}
		// Messages were redacted when they were written.
		l.Message = redact.TrustedText(message)
		if tags.Valid {
			// Tags were redacted when they were written, as messages.
			if err := store.DecodeTags(&l, []byte(tags.String)); err != nil {
				return store.Log{}, err
			}
		}
		l.CreatedAt = fromTS(created)
		return l, nil
	}
	logs, err := queryStmt(ctx, s.rd.logs, scan, nodeRunID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: logs of node run %s: %w", nodeRunID, err)
	}
	return logs, nil
}

// BeginAttempt counts one more attempt to execute a node run, in its own
// (group-committed) transaction, and returns the count after it.
func (s *Store) BeginAttempt(ctx context.Context, nodeRunID string) (int, error) {
	var attempts int
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.StmtContext(ctx, s.st.beginAttempt).QueryRowContext(ctx, nodeRunID).Scan(&attempts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Nothing counted: say why.
		var status, runStatus string
		var waiting bool
		err = tx.StmtContext(ctx, s.rd.attemptState).QueryRowContext(ctx, nodeRunID).Scan(&status, &waiting, &runStatus)
		switch {
		case err != nil:
			return notFound(err)
		case waiting && status == store.StatusInProgress:
			return fmt.Errorf("it waits for a completion from outside: %w", store.ErrConflict)
		case status != store.StatusInProgress:
			return fmt.Errorf("it is %s: %w", status, store.ErrConflict)
		default:
			return fmt.Errorf("its run is %s: %w", runStatus, store.ErrConflict)
		}
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: begin an attempt of node run %s: %w", nodeRunID, err)
	}
	return attempts, nil
}

// AppendLogs appends logs in one transaction; zero times are now.
func (s *Store) AppendLogs(ctx context.Context, logs []store.Log) error {
	if len(logs) == 0 {
		return nil
	}
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertLogs(ctx, tx, logs, time.Now()) })
	if err != nil {
		return fmt.Errorf("sqlite: append logs: %w", err)
	}
	return nil
}
