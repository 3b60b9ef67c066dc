package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var _ store.InputStore = (*Store)(nil)

// nodeRunState reads the status of a node run and of its run.
func nodeRunState(ctx context.Context, tx *sql.Tx, nodeRunID string) (status, runStatus string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT n.status, r.status FROM node_runs n JOIN runs r ON r.identifier = n.run_id
		WHERE n.identifier = ?`, nodeRunID).Scan(&status, &runStatus)
	return status, runStatus, notFound(err)
}

// OpenInput records (or replaces the prompt of) an INPUT node run's request
// (store.InputStore).
func (s *Store) OpenInput(ctx context.Context, req store.InputRequest) error {
	if req.Prompt.IsZero() {
		return fmt.Errorf("sqlite: open input %s: empty prompt", req.NodeRunID)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		status, runStatus, err := nodeRunState(ctx, tx, req.NodeRunID)
		switch {
		case err != nil:
			return err
		case status != store.StatusInProgress || runStatus != store.StatusInProgress:
			return fmt.Errorf("the node run is %s in a run %s: %w", status, runStatus, store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO inputs (node_run_id, run_id, prompt, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (node_run_id) DO UPDATE SET prompt = excluded.prompt`,
			req.NodeRunID, req.RunID, req.Prompt.Bytes(), ts(req.CreatedAt, time.Now()))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: open input %s: %w", req.NodeRunID, err)
	}
	return nil
}

func scanInput(sc scanner) (store.InputRequest, error) {
	var (
		r       store.InputRequest
		prompt  []byte
		created int64
	)
	if err := sc.Scan(&r.NodeRunID, &r.RunID, &prompt, &created); err != nil {
		return r, err
	}
	r.Prompt = redact.Reload(prompt)
	r.CreatedAt = fromTS(created)
	return r, nil
}

// GetInput returns the request of a node run (store.InputStore).
func (s *Store) GetInput(ctx context.Context, nodeRunID string) (store.InputRequest, error) {
	r, err := scanInput(s.r.QueryRowContext(ctx, `SELECT node_run_id, run_id, prompt, created_at FROM inputs WHERE node_run_id = ?`, nodeRunID))
	if err != nil {
		return r, fmt.Errorf("sqlite: get input %s: %w", nodeRunID, transient(notFound(err)))
	}
	return r, nil
}

func scanResponse(sc scanner) (store.InputResponse, error) {
	var (
		r      store.InputResponse
		inputs []byte
		at     int64
	)
	if err := sc.Scan(&r.NodeRunID, &r.ResponderID, &r.Email, &r.FirstName, &r.LastName, &r.Button, &inputs, &at); err != nil {
		return r, err
	}
	r.Inputs = redact.Reload(inputs)
	r.RespondedAt = fromTS(at)
	return r, nil
}

const responseColumns = `node_run_id, responder_id, email, first_name, last_name, button, inputs, responded_at`

// decision reads an input's outlet and responses within tx.
func decision(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, nodeRunID string) (store.InputDecision, error) {
	d := store.InputDecision{NodeRunID: nodeRunID}
	var outlet sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT run_id, outlet FROM inputs WHERE node_run_id = ?`, nodeRunID).Scan(&d.RunID, &outlet); err != nil {
		return d, notFound(err)
	}
	d.Outlet = outlet.String
	rs, err := queryAll(ctx, q, scanResponse, `SELECT `+responseColumns+` FROM input_responses WHERE node_run_id = ? ORDER BY seq`, nodeRunID)
	if err != nil {
		return d, err
	}
	d.Responses = rs
	return d, nil
}

// Respond records a response and decides the outlet (store.InputStore).
func (s *Store) Respond(ctx context.Context, r store.InputResponse, outlets []store.InputOutlet) (store.InputDecision, error) {
	if r.Inputs.IsZero() {
		return store.InputDecision{}, fmt.Errorf("sqlite: respond to %s: empty inputs", r.NodeRunID)
	}
	var d store.InputDecision
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = decision(ctx, tx, r.NodeRunID); err != nil {
			return err
		}
		status, runStatus, err := nodeRunState(ctx, tx, r.NodeRunID)
		switch {
		case err != nil:
			return err
		case d.Outlet != "":
			return fmt.Errorf("outlet %q was taken: %w", d.Outlet, store.ErrDecided)
		case status != store.StatusInProgress || runStatus != store.StatusInProgress:
			return fmt.Errorf("the node run is %s in a run %s: %w", status, runStatus, store.ErrDecided)
		}
		for _, prev := range d.Responses {
			if prev.ResponderID == r.ResponderID {
				return fmt.Errorf("responder %s: %w", r.ResponderID, store.ErrResponded)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO input_responses (`+responseColumns+`, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.NodeRunID, r.ResponderID, r.Email, r.FirstName, r.LastName, r.Button, r.Inputs.Bytes(), ts(r.RespondedAt, time.Now()), len(d.Responses))
		if err != nil {
			return mapErr(err)
		}
		if r.RespondedAt.IsZero() {
			r.RespondedAt = time.Now().UTC()
		}
		r.RespondedAt = r.RespondedAt.UTC()
		d.Responses = append(d.Responses, r)
		counts := map[string]int{}
		for _, x := range d.Responses {
			counts[x.Button]++
		}
		for _, o := range outlets {
			if o.Need > 0 && counts[o.Button] >= o.Need {
				d.Outlet = o.Button
				break
			}
		}
		if d.Outlet != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE inputs SET outlet = ? WHERE node_run_id = ?`, d.Outlet, r.NodeRunID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.InputDecision{}, fmt.Errorf("sqlite: respond to %s: %w", r.NodeRunID, err)
	}
	return d, nil
}

// Responses returns an input's decision and responses (store.InputStore).
func (s *Store) Responses(ctx context.Context, nodeRunID string) (store.InputDecision, error) {
	var d store.InputDecision
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = decision(ctx, tx, nodeRunID)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("sqlite: responses of %s: %w", nodeRunID, err)
	}
	return d, nil
}

// sqlUndeliveredDecisions finds the decided inputs whose node run is still
// IN_PROGRESS. CROSS JOIN keeps inputs the outer loop, read through
// inputs_outlet: without statistics the planner read every node run ever
// stored instead, once a second (the wait loop's tick), a cost that grew
// with the store's history (1.2 % of sluice's CPU under the load harness
// with 20,000 node runs, none of them an INPUT).
const sqlUndeliveredDecisions = `SELECT i.node_run_id FROM inputs i
	CROSS JOIN node_runs n ON n.identifier = i.node_run_id CROSS JOIN runs r ON r.identifier = i.run_id
	WHERE i.outlet IS NOT NULL AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
	ORDER BY i.created_at LIMIT ?`

// UndeliveredDecisions lists decided inputs whose node run is still
// IN_PROGRESS (store.InputStore).
func (s *Store) UndeliveredDecisions(ctx context.Context, limit int) ([]store.InputDecision, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.InputDecision
	err := s.read(ctx, func(tx *sql.Tx) error {
		ids, err := queryAll(ctx, tx, func(sc scanner) (string, error) {
			var id string
			return id, sc.Scan(&id)
		}, sqlUndeliveredDecisions, limit)
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
		return nil, fmt.Errorf("sqlite: undelivered input decisions: %w", err)
	}
	return out, nil
}

// OpenInputs lists the requests that take responses (store.InputStore).
func (s *Store) OpenInputs(ctx context.Context, limit int) ([]store.InputRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	rs, err := queryAll(ctx, s.r, scanInput, `SELECT i.node_run_id, i.run_id, i.prompt, i.created_at FROM inputs i
		JOIN node_runs n ON n.identifier = i.node_run_id JOIN runs r ON r.identifier = i.run_id
		WHERE i.outlet IS NULL AND n.status = 'IN_PROGRESS' AND r.status = 'IN_PROGRESS'
		ORDER BY i.created_at LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open inputs: %w", transient(err))
	}
	return rs, nil
}
