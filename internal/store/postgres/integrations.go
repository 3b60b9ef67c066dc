package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.IntegrationStore = (*Store)(nil)

const installationCols = `id, provider, base_url, token_secret, external, created_by, created_at, updated_at`

func scanInstallation(row pgx.Row) (store.Installation, error) {
	var in store.Installation
	err := row.Scan(&in.ID, &in.Provider, &in.BaseURL, &in.TokenSecret, &in.External, &in.CreatedBy, &in.CreatedAt, &in.UpdatedAt)
	return in, err
}

// CreateInstallation adds an installation (store.IntegrationStore); zero
// times are now.
func (s *Store) CreateInstallation(ctx context.Context, in store.Installation) error {
	created := ts(in.CreatedAt, time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO integrations (`+installationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		in.ID, in.Provider, in.BaseURL, in.TokenSecret, in.External, in.CreatedBy, created, ts(in.UpdatedAt, created))
	if err != nil {
		return fmt.Errorf("postgres: create installation %s: %w", in.ID, mapErr(err))
	}
	return nil
}

// GetInstallation returns one installation (store.IntegrationStore).
func (s *Store) GetInstallation(ctx context.Context, id string) (store.Installation, error) {
	in, err := scanInstallation(s.pool.QueryRow(ctx, `SELECT `+installationCols+` FROM integrations WHERE id = $1`, id))
	if err != nil {
		return store.Installation{}, fmt.Errorf("postgres: installation %s: %w", id, mapErr(err))
	}
	return in, nil
}

// ListInstallations returns every installation by id, in byte order
// (store.IntegrationStore).
func (s *Store) ListInstallations(ctx context.Context) ([]store.Installation, error) {
	ins, err := collect(ctx, s.pool, scanInstallation, `SELECT `+installationCols+` FROM integrations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list installations: %w", err)
	}
	return ins, nil
}

// DeleteInstallation removes one installation (store.IntegrationStore).
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	ct, err := s.pool.Exec(ctx, `DELETE FROM integrations WHERE id = $1`, id)
	if err == nil && ct.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete installation %s: %w", id, mapErr(err))
	}
	return nil
}

const claimCols = `node_run_id, run_id, installation_id, claimed_by, claimed_until, claims, acked_at`

func scanClaim(row pgx.Row) (store.Claim, error) {
	var c store.Claim
	err := row.Scan(&c.NodeRunID, &c.RunID, &c.InstallationID, &c.ClaimedBy, &c.ClaimedUntil, &c.Claims, &c.AckedAt)
	return c, err
}

// sqlClaim claims, in one statement, at most $3 node runs that wait for
// $1 and are free at $2, for claimer $5 until $6 ($4 is the installation).
// Candidates are locked FOR NO KEY UPDATE SKIP LOCKED, so concurrent
// claimers pass each other's candidates by instead of waiting; and the
// upsert re-checks, on the newest version of a claim row (which ON
// CONFLICT always sees, whatever the statement's snapshot), that the claim
// is still free, so a claim committed after this statement's snapshot was
// taken is never claimed again. The claims come back oldest first.
const sqlClaim = `WITH cand AS (
		SELECT n.identifier, n.run_id, n.created_at FROM node_runs n
		WHERE n.waiting AND n.wait_for = $1 AND n.status = 'IN_PROGRESS'
		AND EXISTS (SELECT 1 FROM runs r WHERE r.identifier = n.run_id AND r.status = 'IN_PROGRESS')
		AND NOT EXISTS (SELECT 1 FROM integration_claims c WHERE c.node_run_id = n.identifier
			AND (c.acked_at IS NOT NULL OR c.claimed_until > $2))
		ORDER BY n.created_at, n.identifier LIMIT $3
		FOR NO KEY UPDATE OF n SKIP LOCKED),
	ins AS (
		INSERT INTO integration_claims (node_run_id, run_id, installation_id, claimed_by, claimed_until, claims)
		SELECT identifier, run_id, $4, $5, $6, 1 FROM cand
		ON CONFLICT (node_run_id) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until,
			claims = integration_claims.claims + 1
		WHERE integration_claims.acked_at IS NULL AND integration_claims.claimed_until <= $2
		RETURNING ` + claimCols + `)
	SELECT ins.node_run_id, ins.run_id, ins.installation_id, ins.claimed_by, ins.claimed_until, ins.claims, ins.acked_at
	FROM ins JOIN cand ON cand.identifier = ins.node_run_id ORDER BY cand.created_at, cand.identifier`

// ClaimNodeRuns claims waiting node runs of an installation in one round
// trip and one statement (store.IntegrationStore; see sqlClaim). A claimer
// racing others may get fewer than limit while others hold the rest.
func (s *Store) ClaimNodeRuns(ctx context.Context, installationID, claimer string, now, until time.Time, limit int) ([]store.Claim, error) {
	if limit < 1 || limit > 100 {
		return nil, fmt.Errorf("postgres: claim node runs: limit must be 1 to 100, got %d", limit)
	}
	var (
		cs  []store.Claim
		err error
	)
	for range maxRetries {
		cs, err = collect(ctx, s.pool, scanClaim, sqlClaim, store.WaitForIntegration(installationID), now, limit, installationID, claimer, until)
		if err == nil || !retryable(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: claim node runs of %s: %w", installationID, err)
	}
	return cs, nil
}

// AckNodeRun acknowledges a claim (store.IntegrationStore) in one
// statement; only when it acknowledged nothing is the claim read, to say
// why.
func (s *Store) AckNodeRun(ctx context.Context, nodeRunID, claimer string, now time.Time) (store.Claim, error) {
	c, err := scanClaim(s.pool.QueryRow(ctx, `UPDATE integration_claims SET acked_at = $3
		WHERE node_run_id = $1 AND acked_at IS NULL AND claimed_by = $2 AND claimed_until > $3
		RETURNING `+claimCols, nodeRunID, claimer, now))
	if errors.Is(err, pgx.ErrNoRows) {
		var cur store.Claim
		cur, err = s.GetClaim(ctx, nodeRunID)
		switch {
		case err != nil:
		case cur.AckedAt != nil:
			err = store.ErrAlreadyAcked
		default:
			err = store.ErrNotClaimed
		}
	}
	if err != nil {
		return store.Claim{}, fmt.Errorf("postgres: acknowledge node run %s: %w", nodeRunID, mapErr(err))
	}
	return c, nil
}

// GetClaim returns a node run's claim state (store.IntegrationStore).
func (s *Store) GetClaim(ctx context.Context, nodeRunID string) (store.Claim, error) {
	c, err := scanClaim(s.pool.QueryRow(ctx, `SELECT `+claimCols+` FROM integration_claims WHERE node_run_id = $1`, nodeRunID))
	if err != nil {
		return store.Claim{}, fmt.Errorf("postgres: claim of %s: %w", nodeRunID, mapErr(err))
	}
	return c, nil
}
