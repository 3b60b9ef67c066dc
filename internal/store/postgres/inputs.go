package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var _ store.InputStore = (*Store)(nil)

// SQLSTATEs raised by the input statements (through sluice_assert), mapped
// by mapErr to store.ErrResponded and store.ErrDecided.
const (
	codeResponded = "SLRSP"
	codeDecided   = "SLDCD"
)

const (
	// sqlInputNodeRunLive fails unless node run $1 and its run are
	// IN_PROGRESS, holding the run FOR SHARE (a cancel waits, or is seen).
	sqlInputNodeRunLive = `SELECT sluice_assert(s.ns = 'IN_PROGRESS' AND s.rs = 'IN_PROGRESS',
			CASE WHEN s.ns IS NULL THEN 'SLNFD' ELSE 'SLCNF' END,
			CASE WHEN s.ns IS NULL THEN 'node run not found' ELSE 'the node run is ' || s.ns || ' in a run ' || s.rs END)
		FROM (SELECT 1) one LEFT JOIN (SELECT n.status AS ns, r.status AS rs FROM node_runs n JOIN runs r ON r.identifier = n.run_id
			WHERE n.identifier = $1 FOR SHARE OF r) s ON true`
	sqlOpenInput = `INSERT INTO inputs (node_run_id, run_id, prompt, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (node_run_id) DO UPDATE SET prompt = excluded.prompt`

	// The statements of Respond, sent in one batch. sqlLockInput takes
	// the input's row FOR UPDATE (responses to one node run take turns)
	// and its run FOR SHARE; the statements after it take their snapshot
	// once the lock is held (READ COMMITTED), so they see every response
	// committed before.
	sqlLockInput = `SELECT 1 FROM inputs i JOIN runs r ON r.identifier = i.run_id WHERE i.node_run_id = $1
		FOR UPDATE OF i FOR SHARE OF r`
	// sqlRespondCheck refuses a response, in the SQLite store's order: no
	// input, an outlet taken, a node run or run no longer IN_PROGRESS, a
	// responder who responded already.
	sqlRespondCheck = `SELECT sluice_assert(c.code IS NULL, c.code, c.message) FROM (SELECT
			CASE WHEN i.node_run_id IS NULL THEN 'SLNFD'
				WHEN i.outlet IS NOT NULL OR n.status <> 'IN_PROGRESS' OR r.status <> 'IN_PROGRESS' THEN 'SLDCD'
				WHEN EXISTS (SELECT 1 FROM input_responses p WHERE p.node_run_id = $1 AND p.responder_id = $2) THEN 'SLRSP' END AS code,
			CASE WHEN i.node_run_id IS NULL THEN 'no input was opened for the node run'
				WHEN i.outlet IS NOT NULL THEN 'outlet "' || i.outlet || '" was taken'
				WHEN n.status <> 'IN_PROGRESS' OR r.status <> 'IN_PROGRESS' THEN 'the node run is ' || n.status || ' in a run ' || r.status
				ELSE 'responder ' || $2 || ' responded already' END AS message
		FROM (SELECT 1) one LEFT JOIN inputs i ON i.node_run_id = $1
			LEFT JOIN node_runs n ON n.identifier = i.node_run_id LEFT JOIN runs r ON r.identifier = i.run_id) c`
	sqlInsertResponse = `INSERT INTO input_responses (node_run_id, responder_id, email, first_name, last_name, button, inputs, responded_at, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT count(*) FROM input_responses WHERE node_run_id = $1))`
	// sqlDecide takes the first outlet, in the order of the arrays $2
	// (buttons) and $3 (counts needed), whose button has as many responses.
	sqlDecide = `UPDATE inputs SET outlet = (SELECT o.button FROM unnest($2::text[], $3::integer[]) WITH ORDINALITY AS o(button, need, ord)
			WHERE o.need > 0 AND (SELECT count(*) FROM input_responses p WHERE p.node_run_id = $1 AND p.button = o.button) >= o.need
			ORDER BY o.ord LIMIT 1)
		WHERE node_run_id = $1 RETURNING run_id, coalesce(outlet, '')`
	sqlResponses = `SELECT ` + responseCols + ` FROM input_responses WHERE node_run_id = $1 ORDER BY seq`
)

const responseCols = `node_run_id, responder_id, email, first_name, last_name, button, inputs, responded_at`

// OpenInput records (or replaces the prompt of) an INPUT node run's request
// in one round trip (store.InputStore).
func (s *Store) OpenInput(ctx context.Context, req store.InputRequest) error {
	if req.Prompt.IsZero() {
		return fmt.Errorf("postgres: open input %s: empty prompt", req.NodeRunID)
	}
	var w batch
	w.exec("", sqlInputNodeRunLive, req.NodeRunID)
	w.exec("", sqlOpenInput, req.NodeRunID, req.RunID, req.Prompt.Bytes(), ts(req.CreatedAt, time.Now()))
	if err := s.send(ctx, &w); err != nil {
		return fmt.Errorf("postgres: open input %s: %w", req.NodeRunID, err)
	}
	return nil
}

func scanInput(row pgx.Row) (store.InputRequest, error) {
	var (
		r      store.InputRequest
		prompt []byte
	)
	if err := row.Scan(&r.NodeRunID, &r.RunID, &prompt, &r.CreatedAt); err != nil {
		return r, err
	}
	// The prompt was redacted when it was stored.
	r.Prompt = redact.Reload(prompt)
	return r, nil
}

// GetInput returns the request of a node run (store.InputStore).
func (s *Store) GetInput(ctx context.Context, nodeRunID string) (store.InputRequest, error) {
	r, err := scanInput(s.pool.QueryRow(ctx, `SELECT node_run_id, run_id, prompt, created_at FROM inputs WHERE node_run_id = $1`, nodeRunID))
	if err != nil {
		return r, fmt.Errorf("postgres: get input %s: %w", nodeRunID, mapErr(err))
	}
	return r, nil
}

func scanResponse(row pgx.Row) (store.InputResponse, error) {
	var (
		r      store.InputResponse
		inputs []byte
	)
	if err := row.Scan(&r.NodeRunID, &r.ResponderID, &r.Email, &r.FirstName, &r.LastName, &r.Button, &inputs, &r.RespondedAt); err != nil {
		return r, err
	}
	// The inputs were redacted when they were stored.
	r.Inputs = redact.Reload(inputs)
	return r, nil
}

// Respond records a response and decides the outlet in one round trip and
// one transaction (store.InputStore): the input is locked, the response
// checked, inserted and counted, the outlet taken and the responses read,
// all by the statements of one batch.
func (s *Store) Respond(ctx context.Context, r store.InputResponse, outlets []store.InputOutlet) (store.InputDecision, error) {
	if r.Inputs.IsZero() {
		return store.InputDecision{}, fmt.Errorf("postgres: respond to %s: empty inputs", r.NodeRunID)
	}
	buttons := make([]string, len(outlets))
	needs := make([]int32, len(outlets))
	for i, o := range outlets {
		buttons[i], needs[i] = o.Button, int32(min(max(o.Need, 0), 1<<30))
	}
	d := store.InputDecision{NodeRunID: r.NodeRunID}
	var w batch
	w.exec("", sqlLockInput, r.NodeRunID)
	w.exec("", sqlRespondCheck, r.NodeRunID, r.ResponderID)
	w.exec("", sqlInsertResponse, r.NodeRunID, r.ResponderID, r.Email, r.FirstName, r.LastName, r.Button, r.Inputs.Bytes(), ts(r.RespondedAt, time.Now()))
	w.queryRow("decide", sqlDecide, func(row pgx.Row) error { return row.Scan(&d.RunID, &d.Outlet) }, r.NodeRunID, buttons, needs)
	qq := w.b.Queue(sqlResponses, r.NodeRunID)
	qq.Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		d.Responses = nil
		for rows.Next() {
			resp, err := scanResponse(rows)
			if err != nil {
				return mapErr(err)
			}
			d.Responses = append(d.Responses, resp)
		}
		return mapErr(rows.Err())
	}
	if err := s.send(ctx, &w); err != nil {
		return store.InputDecision{}, fmt.Errorf("postgres: respond to %s: %w", r.NodeRunID, err)
	}
	return d, nil
}

// decision reads an input's outlet and responses with q.
func decision(ctx context.Context, q pgx.Tx, nodeRunID string) (store.InputDecision, error) {
	d := store.InputDecision{NodeRunID: nodeRunID}
	if err := q.QueryRow(ctx, `SELECT run_id, coalesce(outlet, '') FROM inputs WHERE node_run_id = $1`, nodeRunID).Scan(&d.RunID, &d.Outlet); err != nil {
		return d, mapErr(err)
	}
	rs, err := collect(ctx, q, scanResponse, sqlResponses, nodeRunID)
	if err != nil {
		return d, err
	}
	d.Responses = rs
	return d, nil
}

// read runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only: nothing to undo
	return fn(tx)
}

// Responses returns an input's decision and responses (store.InputStore).
func (s *Store) Responses(ctx context.Context, nodeRunID string) (store.InputDecision, error) {
	var d store.InputDecision
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = decision(ctx, tx, nodeRunID)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("postgres: responses of %s: %w", nodeRunID, err)
	}
	return d, nil
}

// UndeliveredDecisions lists decided inputs whose node run is still
// IN_PROGRESS in an IN_PROGRESS run, oldest first (store.InputStore).
func (s *Store) UndeliveredDecisions(ctx context.Context, limit int) ([]store.InputDecision, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.InputDecision
	err := s.read(ctx, func(tx pgx.Tx) error {
		ids, err := collect(ctx, tx, func(row pgx.Row) (string, error) {
			var id string
			return id, row.Scan(&id)
		}, `SELECT i.node_run_id FROM inputs i JOIN node_runs n ON n.identifier = i.node_run_id JOIN runs r ON r.identifier = i.run_id
			WHERE i.outlet IS NOT NULL AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
			ORDER BY i.created_at, i.node_run_id LIMIT $1`, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			d, err := decision(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: undelivered input decisions: %w", err)
	}
	return out, nil
}

// OpenInputs lists the requests that take responses, oldest first
// (store.InputStore).
func (s *Store) OpenInputs(ctx context.Context, limit int) ([]store.InputRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	rs, err := collect(ctx, s.pool, scanInput, `SELECT i.node_run_id, i.run_id, i.prompt, i.created_at FROM inputs i
		JOIN node_runs n ON n.identifier = i.node_run_id JOIN runs r ON r.identifier = i.run_id
		WHERE i.outlet IS NULL AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
		ORDER BY i.created_at, i.node_run_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: open inputs: %w", err)
	}
	return rs, nil
}
