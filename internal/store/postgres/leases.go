package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.LeaseStore = (*Store)(nil)

// sqlUpsertLease leases $1 to $2 until $3 when it has no lease, its lease
// expired at or before $4 (a marker, expires_at the epoch, always has), or
// $2 holds it already. ON CONFLICT re-checks the WHERE against the newest
// committed row, so of two processes racing for one lease exactly one gets
// a row back. Taking the row clears redrive: the drive that follows reads
// every completion committed before it.
const sqlUpsertLease = `INSERT INTO run_leases (run_id, owner, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at, redrive = false
	WHERE run_leases.owner = EXCLUDED.owner OR run_leases.expires_at <= $4
	RETURNING run_id`

// dropNotDrivable returns the DELETE of the rows of run_leases chosen by
// the caller's condition (cond names the table's alias; its arguments are
// $1, $2...) whose run needs no driver: finished, or waiting on the
// outside with no completion arrived since the row was taken. The
// condition and redrive are re-checked on the newest version of a row a
// concurrent transaction changed: a row taken meanwhile by another process
// is kept, and so is a row a completion committed after this statement's
// snapshot marked (redrive; migration 0013). The LATERAL ... LIMIT 1
// lookups keep the plan a loop over the chosen rows with index lookups:
// without statistics PostgreSQL would otherwise hash every unfinished run
// and every waiting node run.
func dropNotDrivable(cond func(alias string) string) string {
	return `DELETE FROM run_leases l USING (
		SELECT e.run_id, r.status IS DISTINCT FROM 'IN_PROGRESS' AS done FROM run_leases e
		LEFT JOIN LATERAL (SELECT status FROM runs r WHERE r.identifier = e.run_id LIMIT 1) r ON true
		LEFT JOIN LATERAL (SELECT true AS w FROM node_runs n WHERE n.run_id = e.run_id AND n.status = 'IN_PROGRESS' AND n.waiting LIMIT 1) w ON true
		WHERE ` + cond("e") + ` AND (r.status IS DISTINCT FROM 'IN_PROGRESS' OR w.w)) d
	WHERE l.run_id = d.run_id AND ` + cond("l") + ` AND (d.done OR NOT l.redrive)`
}

// marker is the expires_at of a run that needs a driver and has none.
var marker = time.Unix(0, 0).UTC()

// CreateRunLeased is CreateRun with the run's lease inserted in the same
// implicit transaction (store.LeaseStore).
func (s *Store) CreateRunLeased(ctx context.Context, run store.Run, first store.NodeRun, logs []store.Log, l store.Lease) error {
	if l.Owner == "" {
		return fmt.Errorf("postgres: create run %s: empty lease owner", run.Identifier)
	}
	return s.createRun(ctx, store.Creation{Run: run, NodeRuns: []store.NodeRun{first}, Logs: logs, Lease: &l})
}

// AcquireLease leases a run (store.LeaseStore): one upsert, and a read of
// the run only when the upsert did not apply, to tell why.
func (s *Store) AcquireLease(ctx context.Context, runID string, l store.Lease, now time.Time) (bool, error) {
	if l.Owner == "" {
		return false, fmt.Errorf("postgres: acquire lease on %s: empty owner", runID)
	}
	var status string
	err := s.pool.QueryRow(ctx, `SELECT status FROM runs WHERE identifier = $1`, runID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("postgres: acquire lease on %s: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("postgres: acquire lease on %s: %w", runID, mapErr(err))
	}
	if status != store.StatusInProgress {
		return false, fmt.Errorf("postgres: acquire lease on %s: the run is %s: %w", runID, status, store.ErrConflict)
	}
	var got string
	err = s.pool.QueryRow(ctx, sqlUpsertLease, runID, l.Owner, l.Until, now).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: acquire lease on %s: %w", runID, mapErr(err))
	}
	return true, nil
}

// RenewLeases extends owner's leases on runIDs in one UPDATE
// (store.LeaseStore).
func (s *Store) RenewLeases(ctx context.Context, owner string, runIDs []string, until time.Time) ([]string, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	held, err := collect(ctx, s.pool, scanString, `UPDATE run_leases SET expires_at = $3
		WHERE owner = $1 AND run_id = ANY($2) RETURNING run_id`, owner, runIDs, until)
	if err != nil {
		return nil, fmt.Errorf("postgres: renew leases of %s: %w", owner, err)
	}
	return held, nil
}

// ReleaseLeases drops owner's leases (store.LeaseStore): the row of a run
// that is finished or waits goes; the row of a run that still needs a
// driver (its driver gave up, a shutdown, a completion arrived meanwhile)
// stays as a marker (empty owner, expires_at the epoch) for the next claim.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, runIDs []string) error {
	cond, args := func(a string) string { return a + `.owner = $1` }, []any{owner}
	if len(runIDs) > 0 {
		cond = func(a string) string { return a + `.owner = $1 AND ` + a + `.run_id = ANY($2)` }
		args = append(args, runIDs)
	}
	var b pgx.Batch
	b.Queue(dropNotDrivable(cond), args...)
	b.Queue(fmt.Sprintf(`UPDATE run_leases l SET owner = '', expires_at = $%d WHERE %s`, len(args)+1, cond("l")), append(args, marker)...)
	// One implicit transaction: no release half done.
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("postgres: release leases of %s: %w", owner, mapErr(err))
	}
	return nil
}

// ClaimRuns leases runs whose row in run_leases expired (a marker, or the
// lease of a process that died) and that do not wait on the outside
// (store.LeaseStore). It reads the expired rows through run_leases_expiry,
// then each one's run and waiting node run by index (LATERAL ... LIMIT 1
// keeps that plan without statistics), never the runs that wait
// (migration 0013), first deleting those it finds
// of finished or waiting runs, as their release would have. The candidates
// are read FOR UPDATE SKIP LOCKED, so concurrent claimers take different
// runs instead of queueing on the same rows, and the UPDATE's WHERE
// settles any race left over.
func (s *Store) ClaimRuns(ctx context.Context, l store.Lease, now time.Time, limit int) ([]string, error) {
	if l.Owner == "" {
		return nil, errors.New("postgres: claim runs: empty owner")
	}
	if limit <= 0 {
		limit = 100
	}
	if _, err := s.pool.Exec(ctx, dropNotDrivable(func(a string) string { return a + `.expires_at <= $1` }), now); err != nil {
		return nil, fmt.Errorf("postgres: claim runs: drop: %w", mapErr(err))
	}
	ids, err := collect(ctx, s.pool, scanString, `WITH c AS (
		SELECT e.run_id FROM run_leases e
		CROSS JOIN LATERAL (SELECT created_at, seq FROM runs r WHERE r.identifier = e.run_id AND r.status = 'IN_PROGRESS' LIMIT 1) r
		LEFT JOIN LATERAL (SELECT true AS w FROM node_runs n WHERE n.run_id = e.run_id AND n.status = 'IN_PROGRESS' AND n.waiting LIMIT 1) w ON true
		WHERE e.expires_at <= $3 AND w.w IS NULL
		ORDER BY r.created_at, r.seq LIMIT $4
		FOR UPDATE OF e SKIP LOCKED)
		UPDATE run_leases SET owner = $1, expires_at = $2, redrive = false
		FROM c WHERE run_leases.run_id = c.run_id AND run_leases.expires_at <= $3
		RETURNING run_leases.run_id`, l.Owner, l.Until, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim runs: %w", err)
	}
	return ids, nil
}

// GetLease returns a run's lease (store.LeaseStore); a marker (empty owner)
// is no lease.
func (s *Store) GetLease(ctx context.Context, runID string) (store.Lease, error) {
	var l store.Lease
	err := s.pool.QueryRow(ctx, `SELECT owner, expires_at FROM run_leases WHERE run_id = $1 AND owner <> ''`, runID).Scan(&l.Owner, &l.Until)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, fmt.Errorf("postgres: lease of %s: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("postgres: lease of %s: %w", runID, mapErr(err))
	}
	l.Until = l.Until.UTC()
	return l, nil
}

func scanString(row pgx.Row) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}
