package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var (
	_ store.WakeStore        = (*Store)(nil)
	_ store.IntegrationStore = (*Store)(nil)
)

// wakeNodeRun stores a Wait's WakeAt, WaitState and WaitFor (migration
// 0007) when the transition sets any of them; waitNodeRun has checked that
// the node run exists and is IN_PROGRESS.
func (s *Store) wakeNodeRun(ctx context.Context, tx *sql.Tx, t store.Transition) error {
	if t.WakeAt.IsZero() && t.WaitState.IsZero() && t.WaitFor == "" {
		return nil
	}
	var wake sql.NullInt64
	if !t.WakeAt.IsZero() {
		wake = sql.NullInt64{Int64: t.WakeAt.UnixNano(), Valid: true}
	}
	var state, waitFor sql.NullString
	if !t.WaitState.IsZero() {
		state = sql.NullString{String: string(t.WaitState.Bytes()), Valid: true}
	}
	if t.WaitFor != "" {
		waitFor = sql.NullString{String: t.WaitFor, Valid: true}
	}
	_, err := s.prepared(tx).ExecContext(ctx, `UPDATE node_runs SET wake_at = ?, wait_state = coalesce(?, wait_state), wait_for = coalesce(?, wait_for)
		WHERE identifier = ? AND run_id = ?`, wake, state, waitFor, t.Wait, t.RunID)
	if err != nil {
		return fmt.Errorf("set the wake of node run %s: %w", t.Wait, err)
	}
	return nil
}

// DueWakes returns the waiting node runs whose wake time is at or before
// now, earliest first (store.WakeStore), from the partial index of
// migration 0007.
func (s *Store) DueWakes(ctx context.Context, now time.Time, limit int) ([]store.DueWake, error) {
	if limit <= 0 {
		limit = 100
	}
	scan := func(sc scanner) (store.DueWake, error) {
		var (
			w     store.DueWake
			wake  int64
			state sql.NullString
		)
		if err := sc.Scan(&w.NodeRunID, &w.RunID, &wake, &state); err != nil {
			return store.DueWake{}, err
		}
		w.WakeAt = fromTS(wake)
		if state.Valid {
			w.State = redact.Reload([]byte(state.String))
		}
		return w, nil
	}
	ws, err := queryAll(ctx, s.r, scan, `SELECT n.identifier, n.run_id, n.wake_at, n.wait_state FROM node_runs n
		WHERE n.waiting = 1 AND n.wake_at IS NOT NULL AND n.wake_at <= ? AND n.status = 'IN_PROGRESS'
		AND (SELECT r.status FROM runs r WHERE r.identifier = n.run_id) = 'IN_PROGRESS'
		ORDER BY n.wake_at LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due wakes: %w", err)
	}
	return ws, nil
}

const installationCols = `id, provider, base_url, token_secret, external, created_by, created_at, updated_at`

func scanInstallation(sc scanner) (store.Installation, error) {
	var (
		in               store.Installation
		created, updated int64
	)
	if err := sc.Scan(&in.ID, &in.Provider, &in.BaseURL, &in.TokenSecret, &in.External, &in.CreatedBy, &created, &updated); err != nil {
		return store.Installation{}, err
	}
	in.CreatedAt, in.UpdatedAt = fromTS(created), fromTS(updated)
	return in, nil
}

// CreateInstallation adds an installation (store.IntegrationStore).
func (s *Store) CreateInstallation(ctx context.Context, in store.Installation) error {
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		created := ts(in.CreatedAt, now)
		_, err := tx.ExecContext(ctx, `INSERT INTO integrations (`+installationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, in.Provider, in.BaseURL, in.TokenSecret, in.External, in.CreatedBy, created, ts(in.UpdatedAt, time.Unix(0, created)))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create installation %s: %w", in.ID, err)
	}
	return nil
}

// GetInstallation returns one installation (store.IntegrationStore).
func (s *Store) GetInstallation(ctx context.Context, id string) (store.Installation, error) {
	in, err := scanInstallation(s.r.QueryRowContext(ctx, `SELECT `+installationCols+` FROM integrations WHERE id = ?`, id))
	if err != nil {
		return store.Installation{}, fmt.Errorf("sqlite: installation %s: %w", id, transient(notFound(err)))
	}
	return in, nil
}

// ListInstallations returns every installation by id (store.IntegrationStore).
func (s *Store) ListInstallations(ctx context.Context) ([]store.Installation, error) {
	ins, err := queryAll(ctx, s.r, scanInstallation, `SELECT `+installationCols+` FROM integrations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list installations: %w", err)
	}
	return ins, nil
}

// DeleteInstallation removes one installation (store.IntegrationStore).
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM integrations WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete installation %s: %w", id, err)
	}
	return nil
}

const claimCols = `node_run_id, run_id, installation_id, claimed_by, claimed_until, claims, acked_at`

func scanClaim(sc scanner) (store.Claim, error) {
	var (
		c     store.Claim
		until int64
		acked sql.NullInt64
	)
	if err := sc.Scan(&c.NodeRunID, &c.RunID, &c.InstallationID, &c.ClaimedBy, &until, &c.Claims, &acked); err != nil {
		return store.Claim{}, err
	}
	c.ClaimedUntil = fromTS(until)
	c.AckedAt = fromNullTS(acked)
	return c, nil
}

// ClaimNodeRuns claims waiting node runs of an installation in one IMMEDIATE
// transaction (store.IntegrationStore): SQLite runs one writer at a time,
// so two claims never pick the same node run.
func (s *Store) ClaimNodeRuns(ctx context.Context, installationID, claimer string, now, until time.Time, limit int) ([]store.Claim, error) {
	if limit < 1 || limit > 100 {
		return nil, fmt.Errorf("sqlite: claim node runs: limit must be 1 to 100, got %d", limit)
	}
	var out []store.Claim
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = nil
		type cand struct{ nodeRun, run string }
		rows, err := tx.QueryContext(ctx, `SELECT n.identifier, n.run_id FROM node_runs n
			LEFT JOIN integration_claims c ON c.node_run_id = n.identifier
			WHERE n.waiting = 1 AND n.wait_for = ? AND n.status = 'IN_PROGRESS'
			AND (SELECT r.status FROM runs r WHERE r.identifier = n.run_id) = 'IN_PROGRESS'
			AND (c.node_run_id IS NULL OR (c.acked_at IS NULL AND c.claimed_until <= ?))
			ORDER BY n.created_at, n.identifier LIMIT ?`, store.WaitForIntegration(installationID), now.UnixNano(), limit)
		if err != nil {
			return err
		}
		var cands []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.nodeRun, &c.run); err != nil {
				rows.Close()
				return err
			}
			cands = append(cands, c)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, c := range cands {
			_, err := tx.ExecContext(ctx, `INSERT INTO integration_claims (node_run_id, run_id, installation_id, claimed_by, claimed_until, claims)
				VALUES (?, ?, ?, ?, ?, 1)
				ON CONFLICT (node_run_id) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until, claims = claims + 1`,
				c.nodeRun, c.run, installationID, claimer, until.UnixNano())
			if err != nil {
				return err
			}
			cl, err := scanClaim(tx.QueryRowContext(ctx, `SELECT `+claimCols+` FROM integration_claims WHERE node_run_id = ?`, c.nodeRun))
			if err != nil {
				return err
			}
			out = append(out, cl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim node runs of %s: %w", installationID, err)
	}
	return out, nil
}

// AckNodeRun acknowledges a claim (store.IntegrationStore).
func (s *Store) AckNodeRun(ctx context.Context, nodeRunID, claimer string, now time.Time) (store.Claim, error) {
	var out store.Claim
	err := s.write(ctx, func(tx *sql.Tx) error {
		c, err := scanClaim(tx.QueryRowContext(ctx, `SELECT `+claimCols+` FROM integration_claims WHERE node_run_id = ?`, nodeRunID))
		if err != nil {
			return notFound(err)
		}
		switch {
		case c.AckedAt != nil:
			return store.ErrAlreadyAcked
		case c.ClaimedBy != claimer || !c.ClaimedUntil.After(now):
			return store.ErrNotClaimed
		}
		if _, err := tx.ExecContext(ctx, `UPDATE integration_claims SET acked_at = ? WHERE node_run_id = ?`, now.UnixNano(), nodeRunID); err != nil {
			return err
		}
		at := now.UTC()
		c.AckedAt = &at
		out = c
		return nil
	})
	if err != nil {
		return store.Claim{}, fmt.Errorf("sqlite: acknowledge node run %s: %w", nodeRunID, err)
	}
	return out, nil
}

// GetClaim returns a node run's claim state (store.IntegrationStore).
func (s *Store) GetClaim(ctx context.Context, nodeRunID string) (store.Claim, error) {
	c, err := scanClaim(s.r.QueryRowContext(ctx, `SELECT `+claimCols+` FROM integration_claims WHERE node_run_id = ?`, nodeRunID))
	if err != nil {
		return store.Claim{}, fmt.Errorf("sqlite: claim of %s: %w", nodeRunID, transient(notFound(err)))
	}
	return c, nil
}
