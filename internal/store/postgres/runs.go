package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

const (
	runCols = `identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at, updated_at, completed_at`
	// runSelectCols reads runCols with updated_at derived, as in the SQLite
	// store: a step writes only its node runs, so a run was last updated
	// when its newest node run was (or when it was finished).
	runSelectCols = `identifier, workflow_id, workflow_version, status, result, created_by, trigger_node, created_at,
		greatest(updated_at, (SELECT max(n.updated_at) FROM node_runs n WHERE n.run_id = runs.identifier)), completed_at`
	nodeRunCols = `identifier, run_id, node_id, seq, status, result, output, links, waiting, created_at, updated_at, completed_at, attempts`
)

// The statements of the run writes. Each is a constant, so pgx prepares it
// once per connection.
const (
	// sqlLockRun holds the run's row FOR SHARE until the write commits, and
	// fails unless the run is IN_PROGRESS: a concurrent Finish (a cancel)
	// either waits for this write or is seen by it, so no step lands on a
	// finished run. Concurrent steps of one run share the lock. The check
	// is the WHERE: on success it selects no row and calls nothing (OFFSET
	// 0 keeps the locking read from being inlined, and so done twice).
	sqlLockRun = `SELECT sluice_assert(false, CASE WHEN s IS NULL THEN 'SLNFD' ELSE 'SLCNF' END,
		CASE WHEN s IS NULL THEN 'run not found' ELSE 'run is ' || s END)
		FROM (SELECT (SELECT status FROM runs WHERE identifier = $1 FOR SHARE) AS s OFFSET 0) x
		WHERE s IS DISTINCT FROM 'IN_PROGRESS'`
	// sqlFinishRun finishes the run. Only when it updated nothing does the
	// outer SELECT (a one-time filter on the update's result) read the row,
	// as it was before, to tell a missing run from a finished one: a
	// success costs the UPDATE alone.
	sqlFinishRun = `WITH f AS (
			UPDATE runs SET status = 'COMPLETED', result = $1, completed_at = $2, updated_at = $2
			WHERE identifier = $3 AND status = 'IN_PROGRESS' RETURNING 1)
		SELECT sluice_assert(false, CASE WHEN s IS NULL THEN 'SLNFD' ELSE 'SLCNF' END,
			CASE WHEN s IS NULL THEN 'run not found' ELSE 'run is ' || s END)
		FROM (SELECT (SELECT status FROM runs WHERE identifier = $3) AS s) x WHERE NOT EXISTS (SELECT 1 FROM f)`
	// sqlCompleteNodeRun completes a node run of the run that is still
	// IN_PROGRESS (clearing waiting), and fails otherwise (reading the row
	// only then, as sqlFinishRun).
	sqlCompleteNodeRun = `WITH u AS (
			UPDATE node_runs SET status = 'COMPLETED', result = $1, output = $2, links = $3, completed_at = $4, updated_at = $4, waiting = false
			WHERE identifier = $5 AND run_id = $6 AND status = 'IN_PROGRESS' RETURNING 1)
		SELECT sluice_assert(false, CASE WHEN s IS NULL THEN 'SLNFD' ELSE 'SLCNF' END,
			CASE WHEN s IS NULL THEN 'node run not found in the run' ELSE 'it is ' || s END)
		FROM (SELECT (SELECT status FROM node_runs WHERE identifier = $5 AND run_id = $6) AS s) x WHERE NOT EXISTS (SELECT 1 FROM u)`
	// sqlWaitNodeRun marks an IN_PROGRESS node run of the run as waiting.
	// It runs after sqlCompleteNodeRun and the insert of Start, so it sees
	// what they wrote. $4 is the deadline (NULL keeps the stored one and
	// its $5, onTimeout "continue"); when $6 is true (the transition sets
	// WakeAt, WaitState or WaitFor) it stores the wake time $7 (NULL
	// clears it), and the state $8 and what it waits for $9 unless NULL.
	sqlWaitNodeRun = `WITH u AS (
			UPDATE node_runs SET waiting = true, updated_at = greatest(updated_at, $1),
				wait_deadline = coalesce($4::timestamptz, wait_deadline),
				wait_continue = CASE WHEN $4::timestamptz IS NULL THEN wait_continue ELSE $5::boolean END,
				wake_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE wake_at END,
				wait_state = coalesce($8::bytea, wait_state), wait_for = coalesce($9::text, wait_for)
			WHERE identifier = $2 AND run_id = $3 AND status = 'IN_PROGRESS' RETURNING 1)
		SELECT sluice_assert(false, CASE WHEN s IS NULL THEN 'SLNFD' ELSE 'SLCNF' END,
			CASE WHEN s IS NULL THEN 'node run not found in the run' ELSE 'it is ' || s END)
		FROM (SELECT (SELECT status FROM node_runs WHERE identifier = $2 AND run_id = $3) AS s) x WHERE NOT EXISTS (SELECT 1 FROM u)`
	sqlInsertRun     = `INSERT INTO runs (` + runCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	sqlInsertNodeRun = `INSERT INTO node_runs (` + nodeRunCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	sqlInsertLog     = `INSERT INTO node_run_logs (node_run_id, level, message, tags, created_at) VALUES ($1, $2, $3, $4, $5)`
	sqlInsertAudit   = `INSERT INTO audit_events (action, actor, secret, run_id, node_run_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	// sqlBeginAttempt counts an attempt of an IN_PROGRESS node run that
	// does not wait, in an IN_PROGRESS run (held FOR SHARE, as a step does).
	sqlBeginAttempt = `UPDATE node_runs SET attempts = attempts + 1
		WHERE identifier = $1 AND status = 'IN_PROGRESS' AND NOT waiting
		AND EXISTS (SELECT 1 FROM runs r WHERE r.identifier = node_runs.run_id AND r.status = 'IN_PROGRESS' FOR SHARE)
		RETURNING attempts`
	// sqlRefuse fails the batch it is in with the message $1.
	sqlRefuse = `SELECT sluice_assert(false, '22023', $1)`
	// sqlAttemptRefused says why sqlBeginAttempt counted nothing; it is
	// sent in the same batch, after it.
	sqlAttemptRefused = `SELECT n.status, n.waiting, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id
		WHERE n.identifier = $1`
)

func scanRun(row pgx.Row) (store.Run, error) {
	var r store.Run
	if err := row.Scan(&r.Identifier, &r.WorkflowID, &r.WorkflowVersion, &r.Status, &r.Result, &r.CreatedBy, &r.TriggerNode, &r.CreatedAt, &r.UpdatedAt, &r.CompletedAt); err != nil {
		return store.Run{}, err
	}
	return r, nil
}

func scanNodeRun(row pgx.Row) (store.NodeRun, error) {
	var (
		nr     store.NodeRun
		output []byte
		links  []string
	)
	if err := row.Scan(&nr.Identifier, &nr.RunID, &nr.NodeID, &nr.Seq, &nr.Status, &nr.Result, &output, &links, &nr.Waiting, &nr.CreatedAt, &nr.UpdatedAt, &nr.CompletedAt, &nr.Attempts); err != nil {
		return store.NodeRun{}, err
	}
	if len(output) > 0 {
		nr.Output = redact.Reload(output)
	}
	// The links were redacted when they were written.
	for _, l := range links {
		nr.Links = append(nr.Links, redact.TrustedText(l))
	}
	return nr, nil
}

// pgText makes run data storable as PostgreSQL text, which cannot hold a
// NUL byte or invalid UTF-8 (SQLite's can): each such byte becomes U+FFFD.
// The text was redacted before; this only replaces bytes.
func pgText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// encodeLinks stores links as a text array; none is NULL.
func encodeLinks(links []redact.Text) []string {
	if len(links) == 0 {
		return nil
	}
	ss := make([]string, len(links))
	for i, l := range links {
		ss[i] = pgText(l.String())
	}
	return ss
}

// output is the stored form of a node run's output: NULL when zero.
func output(j redact.JSON) []byte {
	if j.IsZero() {
		return nil
	}
	return j.Bytes()
}

// queueNodeRun queues the insert of nr into run runID. An empty Status is
// IN_PROGRESS, a zero CreatedAt now, a zero UpdatedAt CreatedAt; Waiting
// and Attempts are stored as given.
func queueNodeRun(w *batch, runID string, nr *store.NodeRun, now time.Time) error {
	if nr.Identifier == "" {
		return errors.New("node run with an empty identifier")
	}
	if nr.RunID != "" && nr.RunID != runID {
		// Refused by the server in its turn, after the checks of the run
		// queued before it, so that a missing run is ErrNotFound first.
		w.exec("", sqlRefuse, fmt.Sprintf("node run %s belongs to run %s, not %s", nr.Identifier, nr.RunID, runID))
		return nil
	}
	status := nr.Status
	if status == "" {
		status = store.StatusInProgress
	}
	created := ts(nr.CreatedAt, now)
	updated := created
	if !nr.UpdatedAt.IsZero() {
		updated = nr.UpdatedAt
	}
	var completed *time.Time
	if nr.CompletedAt != nil {
		completed = new(ts(*nr.CompletedAt, now))
	}
	w.exec("insert node run "+nr.Identifier, sqlInsertNodeRun, nr.Identifier, runID, nr.NodeID, nr.Seq, status, nr.Result,
		output(nr.Output), encodeLinks(nr.Links), nr.Waiting, created, updated, completed, nr.Attempts)
	return nil
}

// queueLogs queues the inserts of logs, in order; a zero CreatedAt is now.
func queueLogs(w *batch, logs []store.Log, now time.Time) error {
	for i, l := range logs {
		tags, err := store.EncodeTags(l)
		if err != nil {
			return fmt.Errorf("log %d of node run %s: encode tags: %w", i, l.NodeRunID, err)
		}
		w.exec("log "+strconv.Itoa(i)+" of node run "+l.NodeRunID, sqlInsertLog, l.NodeRunID, l.Level, pgText(l.Message.String()), tags, ts(l.CreatedAt, now))
	}
	return nil
}

// queueAudit queues the inserts of audit events, in order; a zero
// CreatedAt is now.
func queueAudit(w *batch, evs []store.AuditEvent, now time.Time) {
	for i, ev := range evs {
		w.exec(fmt.Sprintf("audit event %d (%s of %s)", i, ev.Action, ev.Secret), sqlInsertAudit,
			ev.Action, ev.Actor, ev.Secret, ev.RunID, ev.NodeRunID, ts(ev.CreatedAt, now))
	}
}

// CreateRun inserts a run, its first node run and that node run's logs in
// one round trip and one transaction. An empty run Status is IN_PROGRESS;
// zero times are now.
func (s *Store) CreateRun(ctx context.Context, run store.Run, first store.NodeRun, logs []store.Log) error {
	return s.createRun(ctx, store.Creation{Run: run, NodeRuns: []store.NodeRun{first}, Logs: logs})
}

var _ store.RunCreator = (*Store)(nil)

// CreateRunWith inserts a run with its first node runs, their logs and its
// lease in one batch: one round trip, one transaction (store.RunCreator).
func (s *Store) CreateRunWith(ctx context.Context, c store.Creation) error {
	if c.Lease != nil && c.Lease.Owner == "" {
		return fmt.Errorf("postgres: create run %s: empty lease owner", c.Run.Identifier)
	}
	return s.createRun(ctx, c)
}

// createRun inserts a run, its first node runs and their logs, and, when
// c.Lease is not nil, the run's lease (CreateRunLeased), in one batch: one
// round trip, one transaction.
func (s *Store) createRun(ctx context.Context, c store.Creation) error {
	run, lease := c.Run, c.Lease
	if run.Identifier == "" {
		return errors.New("postgres: create run: empty identifier")
	}
	if len(c.NodeRuns) == 0 {
		return fmt.Errorf("postgres: create run %s: no node run", run.Identifier)
	}
	now := time.Now()
	status := run.Status
	if status == "" {
		status = store.StatusInProgress
	}
	created := ts(run.CreatedAt, now)
	updated := created
	if !run.UpdatedAt.IsZero() {
		updated = run.UpdatedAt
	}
	var completed *time.Time
	if run.CompletedAt != nil {
		completed = new(ts(*run.CompletedAt, now))
	}
	var w batch
	w.exec("insert", sqlInsertRun, run.Identifier, run.WorkflowID, run.WorkflowVersion, status, run.Result, run.CreatedBy, run.TriggerNode,
		created, updated, completed)
	var err error
	for i := range c.NodeRuns {
		if err = queueNodeRun(&w, run.Identifier, &c.NodeRuns[i], now); err != nil {
			break
		}
	}
	if err == nil {
		err = queueLogs(&w, c.Logs, now)
	}
	if err == nil && c.Seal != nil {
		queueSeal(&w, store.Transition{RunID: run.Identifier, Seal: c.Seal}, now)
	}
	if err == nil {
		if lease != nil {
			w.exec("lease", `INSERT INTO run_leases (run_id, owner, expires_at) VALUES ($1, $2, $3)`, run.Identifier, lease.Owner, lease.Until)
		}
		if p := c.TraceParent; !p.IsZero() {
			w.exec("trace parent", `UPDATE runs SET trace_parent = $2 WHERE identifier = $1`, run.Identifier, p.String())
		}
		err = s.send(ctx, &w)
	}
	if err != nil {
		return fmt.Errorf("postgres: create run %s: %w", run.Identifier, err)
	}
	return nil
}

// Apply commits a transition in one round trip and one transaction, in
// this order: the run (Finish, or a check that it is IN_PROGRESS, holding
// it FOR SHARE), Complete, Start, Wait, Logs, Audit. So Wait and Logs may
// name the node run Start inserts, and Wait naming the node run Complete
// finishes is ErrConflict. The first statement that fails aborts the
// transaction on the server: nothing of the transition is applied.
//
// As in the SQLite store, a run's UpdatedAt is read from its node runs, and
// Wait moves the waiting node run's UpdatedAt forward to the transition's
// time (Finish's, else Complete's, else Start's CreatedAt, else now).
// Completing a node run clears its Waiting flag. Wait also stores
// WaitUntil and WaitContinue (store.WaitStore) and WakeAt, WaitState and
// WaitFor (store.WakeStore) in the same statement.
func (s *Store) Apply(ctx context.Context, t store.Transition) error {
	if err := s.apply(ctx, t); err != nil {
		return fmt.Errorf("postgres: apply transition to run %s: %w", t.RunID, err)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, t store.Transition) error {
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
	var w batch
	if f := t.Finish; f != nil {
		w.exec("finish run", sqlFinishRun, f.Result, ts(f.CompletedAt, now), t.RunID)
	} else {
		w.exec("", sqlLockRun, t.RunID)
	}
	if c := t.Complete; c != nil {
		w.exec("complete node run "+c.NodeRunID, sqlCompleteNodeRun, c.Result, output(c.Output), encodeLinks(c.Links), ts(c.CompletedAt, now), c.NodeRunID, t.RunID)
	}
	for i := range t.Passed {
		if err := queueNodeRun(&w, t.RunID, &t.Passed[i], now); err != nil {
			return err
		}
	}
	if t.Start != nil {
		if err := queueNodeRun(&w, t.RunID, t.Start, now); err != nil {
			return err
		}
	}
	if t.Wait != "" {
		var (
			deadline, wake *time.Time
			state          []byte
			waitFor        *string
		)
		if !t.WaitUntil.IsZero() {
			deadline = &t.WaitUntil
		}
		if !t.WakeAt.IsZero() {
			wake = &t.WakeAt
		}
		if !t.WaitState.IsZero() {
			state = t.WaitState.Bytes()
		}
		if t.WaitFor != "" {
			waitFor = &t.WaitFor
		}
		setWake := wake != nil || state != nil || waitFor != nil
		w.exec("wait on node run "+t.Wait, sqlWaitNodeRun, when, t.Wait, t.RunID, deadline, t.WaitContinue, setWake, wake, state, waitFor)
	}
	if err := queueLogs(&w, t.Logs, now); err != nil {
		return err
	}
	queueAudit(&w, t.Audit, now)
	queueSeal(&w, t, now)
	return s.send(ctx, &w)
}

// GetRun returns a run.
func (s *Store) GetRun(ctx context.Context, identifier string) (store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runSelectCols+` FROM runs WHERE identifier = $1`, identifier))
	if err != nil {
		return store.Run{}, fmt.Errorf("postgres: get run %s: %w", identifier, mapErr(err))
	}
	return r, nil
}

// inClause appends "col = ANY($n)" for a non-empty set.
func inClause[T any](where []string, args []any, col string, set []T) ([]string, []any) {
	if len(set) == 0 {
		return where, args
	}
	args = append(args, set)
	return append(where, col+" = ANY($"+strconv.Itoa(len(args))+")"), args
}

// ListRuns returns one page of the runs that match f, newest first (ties in
// CreatedAt: the greater identifier first), and how many match in all. The
// page and the total are read in one REPEATABLE READ transaction: one
// snapshot. f.Viewer keeps the runs the viewer created and those of public
// workflow versions (visibleRunsFrom); f.Before pages by keyset, and
// f.After by keyset backwards.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error) {
	limit, offset, err := clamp(f.Limit, f.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list runs: %w", err)
	}
	var (
		where []string
		args  []any
	)
	from := ` FROM runs`
	if f.Viewer != nil {
		from = visibleRunsFrom
		args = append(args, f.Viewer.ActorID)
	}
	where, args = inClause(where, args, "workflow_id", f.WorkflowIDs)
	where, args = inClause(where, args, "status", f.Statuses)
	where, args = inClause(where, args, "result", f.Results)
	where, args = inClause(where, args, "created_by", f.CreatedBy)
	where, args = inClause(where, args, "identifier", f.RunIDs)
	where, args = inClause(where, args, "workflow_version", f.WorkflowVersions)
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
		n := len(pageArgs)
		pageCond += kw + `(created_at, identifier) < ($` + strconv.Itoa(n+1) + `, $` + strconv.Itoa(n+2) + `)`
		pageArgs = append(pageArgs, f.Before.CreatedAt, f.Before.Identifier)
	}
	// After pages backwards: the runs nearest the position are read
	// oldest first, and the page is turned newest first below.
	order := ` ORDER BY created_at DESC, identifier DESC`
	if f.After != nil {
		kw := " WHERE "
		if pageCond != "" {
			kw = " AND "
		}
		n := len(pageArgs)
		pageCond += kw + `(created_at, identifier) > ($` + strconv.Itoa(n+1) + `, $` + strconv.Itoa(n+2) + `)`
		pageArgs = append(pageArgs, f.After.CreatedAt, f.After.Identifier)
		order = ` ORDER BY created_at, identifier`
	}
	var (
		runs  []store.Run
		total int
	)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list runs: begin: %w", mapErr(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only: nothing to undo
	if err := tx.QueryRow(ctx, `SELECT count(*)`+from+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: list runs: count: %w", mapErr(err))
	}
	n := len(pageArgs)
	runs, err = collect(ctx, tx, scanRun, `SELECT `+runSelectCols+from+pageCond+
		order+` LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(pageArgs, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list runs: %w", err)
	}
	if f.After != nil {
		slices.Reverse(runs)
	}
	return runs, total, nil
}

// visibleRunsFrom is the FROM clause of a run list for a viewer (its
// parameter $1 is the viewer's id): the runs it created and those of public
// workflow versions, each set found through an index (runs_created_by, and
// runs_version per public version), joined back to runs by seq, so that a
// list costs what the visible runs cost, however many the viewer may not
// view. Its columns are those of runs, so the filters apply unchanged.
const visibleRunsFrom = ` FROM (SELECT runs.* FROM (SELECT seq AS vseq FROM runs WHERE created_by = $1
	UNION SELECT r.seq FROM workflows w JOIN runs r ON r.workflow_id = w.identifier AND r.workflow_version = w.version
	WHERE w.allow_anyone_to_view_runs) AS visible JOIN runs ON runs.seq = visible.vseq) AS runs`

// ListInProgressRuns returns the runs still IN_PROGRESS, oldest first.
func (s *Store) ListInProgressRuns(ctx context.Context) ([]store.Run, error) {
	runs, err := collect(ctx, s.pool, scanRun, `SELECT `+runSelectCols+` FROM runs WHERE status = $1 ORDER BY created_at, seq`, store.StatusInProgress)
	if err != nil {
		return nil, fmt.Errorf("postgres: list in-progress runs: %w", err)
	}
	return runs, nil
}

// NodeRuns returns a run's node runs ordered by Seq; none for a missing run.
func (s *Store) NodeRuns(ctx context.Context, runID string) ([]store.NodeRun, error) {
	nrs, err := collect(ctx, s.pool, scanNodeRun, `SELECT `+nodeRunCols+` FROM node_runs WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: node runs of %s: %w", runID, err)
	}
	return nrs, nil
}

// GetNodeRun returns one node run.
func (s *Store) GetNodeRun(ctx context.Context, identifier string) (store.NodeRun, error) {
	nr, err := scanNodeRun(s.pool.QueryRow(ctx, `SELECT `+nodeRunCols+` FROM node_runs WHERE identifier = $1`, identifier))
	if err != nil {
		return store.NodeRun{}, fmt.Errorf("postgres: get node run %s: %w", identifier, mapErr(err))
	}
	return nr, nil
}

// Logs returns a node run's logs in the order they were written; none for
// a missing node run.
func (s *Store) Logs(ctx context.Context, nodeRunID string) ([]store.Log, error) {
	scan := func(row pgx.Row) (store.Log, error) {
		var (
			l       = store.Log{NodeRunID: nodeRunID}
			message string
			tags    []byte
		)
		if err := row.Scan(&l.Level, &message, &tags, &l.CreatedAt); err != nil {
			return store.Log{}, err
		}
		// Messages were redacted when they were written.
		l.Message = redact.TrustedText(message)
		if len(tags) > 0 {
			// Tags were redacted when they were written, as messages.
			if err := store.DecodeTags(&l, tags); err != nil {
				return store.Log{}, err
			}
		}
		return l, nil
	}
	logs, err := collect(ctx, s.pool, scan, `SELECT level, message, tags, created_at FROM node_run_logs
		WHERE node_run_id = $1 ORDER BY id`, nodeRunID)
	if err != nil {
		return nil, fmt.Errorf("postgres: logs of node run %s: %w", nodeRunID, err)
	}
	return logs, nil
}

// BeginAttempt counts one more attempt to execute a node run and returns
// the count after it. The count and, when nothing was counted, the reason
// are read in one round trip.
func (s *Store) BeginAttempt(ctx context.Context, nodeRunID string) (int, error) {
	var (
		attempts          int
		counted, found    bool
		status, runStatus string
		waiting           bool
	)
	var w batch
	w.queryRow("count", sqlBeginAttempt, func(row pgx.Row) error {
		err := row.Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		counted = err == nil
		return err
	}, nodeRunID)
	w.queryRow("", sqlAttemptRefused, func(row pgx.Row) error {
		err := row.Scan(&status, &waiting, &runStatus)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	}, nodeRunID)
	err := s.send(ctx, &w)
	switch {
	case err != nil:
	case counted:
		return attempts, nil
	case !found:
		err = store.ErrNotFound
	case waiting && status == store.StatusInProgress:
		err = fmt.Errorf("it waits for a completion from outside: %w", store.ErrConflict)
	case status != store.StatusInProgress:
		err = fmt.Errorf("it is %s: %w", status, store.ErrConflict)
	default:
		err = fmt.Errorf("its run is %s: %w", runStatus, store.ErrConflict)
	}
	return 0, fmt.Errorf("postgres: begin an attempt of node run %s: %w", nodeRunID, err)
}

// AppendLogs appends logs in one round trip and one transaction; zero
// times are now.
func (s *Store) AppendLogs(ctx context.Context, logs []store.Log) error {
	if len(logs) == 0 {
		return nil
	}
	var w batch
	err := queueLogs(&w, logs, time.Now())
	if err == nil {
		err = s.send(ctx, &w)
	}
	if err != nil {
		return fmt.Errorf("postgres: append logs: %w", err)
	}
	return nil
}
