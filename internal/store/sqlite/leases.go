package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.LeaseStore = (*Store)(nil)

// sqlUpsertLease leases ?1 to ?2 until ?3 when it has no lease, its lease
// expired at or before ?4 (a marker, expires_at 0, always has), or ?2 holds
// it already. Taking the row clears redrive: the drive that follows reads
// every completion committed before it.
const sqlUpsertLease = `INSERT INTO run_leases (run_id, owner, expires_at) VALUES (?1, ?2, ?3)
	ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, redrive = 0
	WHERE run_leases.owner = excluded.owner OR run_leases.expires_at <= ?4
	RETURNING run_id`

// sqlDropNotDrivable deletes the rows of run_leases chosen by the caller's
// condition (its arguments ?1, ?2...) whose run needs no driver: finished,
// or waiting on the outside with no completion arrived since the row was
// taken (redrive). Migration 0017 says why a waiting run has no row.
const sqlDropNotDrivable = `DELETE FROM run_leases WHERE %s
	AND (NOT EXISTS (SELECT 1 FROM runs r WHERE r.identifier = run_leases.run_id AND r.status = 'IN_PROGRESS')
		OR (NOT redrive AND EXISTS (SELECT 1 FROM node_runs n WHERE n.run_id = run_leases.run_id AND n.status = 'IN_PROGRESS' AND n.waiting)))`

// CreateRunLeased is CreateRun with the run's lease inserted in the same
// (group-committed) transaction (store.LeaseStore).
func (s *Store) CreateRunLeased(ctx context.Context, run store.Run, first store.NodeRun, logs []store.Log, l store.Lease) error {
	if l.Owner == "" {
		return fmt.Errorf("sqlite: create run %s: empty lease owner", run.Identifier)
	}
	return s.createRun(ctx, store.Creation{Run: run, NodeRuns: []store.NodeRun{first}, Logs: logs, Lease: &l})
}

// AcquireLease leases a run (store.LeaseStore), in one IMMEDIATE
// transaction with the check of the run's status.
func (s *Store) AcquireLease(ctx context.Context, runID string, l store.Lease, now time.Time) (bool, error) {
	if l.Owner == "" {
		return false, fmt.Errorf("sqlite: acquire lease on %s: empty owner", runID)
	}
	var ok bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var status string
		if err := s.prepared(tx).QueryRowContext(ctx, `SELECT status FROM runs WHERE identifier = ?`, runID).Scan(&status); err != nil {
			return notFound(err)
		}
		if status != store.StatusInProgress {
			return fmt.Errorf("the run is %s: %w", status, store.ErrConflict)
		}
		var got string
		err := s.prepared(tx).QueryRowContext(ctx, sqlUpsertLease, runID, l.Owner, l.Until.UnixNano(), now.UnixNano()).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return mapErr(err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease on %s: %w", runID, err)
	}
	return ok, nil
}

// RenewLeases extends owner's leases on runIDs in one UPDATE
// (store.LeaseStore).
func (s *Store) RenewLeases(ctx context.Context, owner string, runIDs []string, until time.Time) ([]string, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	ids, err := json.Marshal(runIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: renew leases of %s: %w", owner, err)
	}
	var held []string
	err = s.write(ctx, func(tx *sql.Tx) error {
		held = held[:0]
		rows, err := s.prepared(tx).QueryContext(ctx, `UPDATE run_leases SET expires_at = ?
			WHERE owner = ? AND run_id IN (SELECT value FROM json_each(?)) RETURNING run_id`, until.UnixNano(), owner, string(ids))
		if err != nil {
			return mapErr(err)
		}
		held, err = collect(rows, func(r scanner) (string, error) {
			var id string
			err := r.Scan(&id)
			return id, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: renew leases of %s: %w", owner, err)
	}
	return held, nil
}

// ReleaseLeases drops owner's leases (store.LeaseStore): the row of a run
// that is finished or waits goes; the row of a run that still needs a
// driver (its driver gave up, a shutdown, a completion arrived meanwhile)
// stays as a marker (empty owner, expires_at 0) for the next claim. One
// transaction (group-committed with the engine's writes, its statements
// prepared once): no completion commits between the two statements.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, runIDs []string) error {
	err := s.group(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		tx := s.prepared(sqlTx)
		cond, args := `owner = ?1`, []any{owner}
		switch {
		case len(runIDs) == 1: // a driver's release: the index, no json_each
			cond, args = `owner = ?1 AND run_id = ?2`, []any{owner, runIDs[0]}
		case len(runIDs) > 1:
			b, err := json.Marshal(runIDs)
			if err != nil {
				return err
			}
			cond, args = `owner = ?1 AND run_id IN (SELECT value FROM json_each(?2))`, []any{owner, string(b)}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(sqlDropNotDrivable, cond), args...); err != nil {
			return fmt.Errorf("drop: %w", mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE run_leases SET owner = '', expires_at = 0 WHERE `+cond, args...); err != nil {
			return fmt.Errorf("mark: %w", mapErr(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: release leases of %s: %w", owner, err)
	}
	return nil
}

// ClaimRuns leases runs whose row in run_leases expired (a marker, or the
// lease of a process that died) and that do not wait on the outside
// (store.LeaseStore), in one IMMEDIATE transaction: SQLite has one writer
// at a time, so two claimers never see the same candidate. It reads
// run_leases whole, never the runs that wait (migration 0017): the table
// holds only this process's in-flight runs and the markers (0019 dropped
// its expiry index, which cost every run more than it saved a claim); the
// rows it finds of finished or waiting runs it deletes, as their release
// would have.
func (s *Store) ClaimRuns(ctx context.Context, l store.Lease, now time.Time, limit int) ([]string, error) {
	if l.Owner == "" {
		return nil, errors.New("sqlite: claim runs: empty owner")
	}
	if limit <= 0 {
		limit = 100
	}
	var ids []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.prepared(tx).ExecContext(ctx, fmt.Sprintf(sqlDropNotDrivable, `expires_at <= ?1`), now.UnixNano()); err != nil {
			return fmt.Errorf("drop: %w", mapErr(err))
		}
		// CROSS JOIN keeps run_leases the outer loop (SQLite does not
		// reorder it): without statistics the planner would read every
		// IN_PROGRESS run through runs_status instead.
		rows, err := s.prepared(tx).QueryContext(ctx, `WITH c AS (
			SELECT l.run_id FROM run_leases l CROSS JOIN runs r ON r.identifier = l.run_id
			WHERE l.expires_at <= ?3 AND r.status = 'IN_PROGRESS'
			AND NOT EXISTS (SELECT 1 FROM node_runs n WHERE n.run_id = l.run_id AND n.status = 'IN_PROGRESS' AND n.waiting)
			ORDER BY r.created_at, r.seq LIMIT ?4)
			UPDATE run_leases SET owner = ?1, expires_at = ?2, redrive = 0
			WHERE run_id IN (SELECT run_id FROM c) AND expires_at <= ?3
			RETURNING run_id`, l.Owner, l.Until.UnixNano(), now.UnixNano(), limit)
		if err != nil {
			return mapErr(err)
		}
		ids, err = collect(rows, func(r scanner) (string, error) {
			var id string
			err := r.Scan(&id)
			return id, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim runs: %w", err)
	}
	return ids, nil
}

// GetLease returns a run's lease (store.LeaseStore); a marker (empty owner)
// is no lease.
func (s *Store) GetLease(ctx context.Context, runID string) (store.Lease, error) {
	var (
		l     store.Lease
		until int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT owner, expires_at FROM run_leases WHERE run_id = ? AND owner <> ''`, runID).Scan(&l.Owner, &until)
	if err != nil {
		return l, fmt.Errorf("sqlite: lease of %s: %w", runID, notFound(transient(err)))
	}
	l.Until = fromTS(until)
	return l, nil
}
