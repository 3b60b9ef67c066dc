package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var (
	_ store.CatalogStore  = (*Store)(nil)
	_ store.ScheduleStore = (*Store)(nil)
)

const blueprintCols = `identifier, definition, created_by, updated_by, created_at, updated_at`

func scanBlueprint(sc scanner) (store.Blueprint, error) {
	var (
		b                store.Blueprint
		created, updated int64
	)
	if err := sc.Scan(&b.Identifier, &b.Definition, &b.CreatedBy, &b.UpdatedBy, &created, &updated); err != nil {
		return store.Blueprint{}, err
	}
	b.CreatedAt, b.UpdatedAt = fromTS(created), fromTS(updated)
	return b, nil
}

// CreateBlueprint stores a new blueprint (store.CatalogStore).
func (s *Store) CreateBlueprint(ctx context.Context, b store.Blueprint) error {
	if b.Identifier == "" {
		return errors.New("sqlite: create blueprint: empty identifier")
	}
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		updatedBy := b.UpdatedBy
		if updatedBy == "" {
			updatedBy = b.CreatedBy
		}
		created := ts(b.CreatedAt, now)
		updated := created
		if !b.UpdatedAt.IsZero() {
			updated = b.UpdatedAt.UnixNano()
		}
		_, err := s.prepared(tx).ExecContext(ctx, `INSERT INTO blueprints (`+blueprintCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			b.Identifier, b.Definition, b.CreatedBy, updatedBy, created, updated)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create blueprint %s: %w", b.Identifier, err)
	}
	return nil
}

// UpdateBlueprint replaces a blueprint if it is unchanged since ifUpdatedAt
// (store.CatalogStore).
func (s *Store) UpdateBlueprint(ctx context.Context, b store.Blueprint, ifUpdatedAt time.Time) error {
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var cur int64
		if err := s.prepared(tx).QueryRowContext(ctx, `SELECT updated_at FROM blueprints WHERE identifier = ?`, b.Identifier).Scan(&cur); err != nil {
			return notFound(err)
		}
		if ifUpdatedAt.IsZero() || cur != ifUpdatedAt.UnixNano() {
			return store.ErrConflict
		}
		_, err := s.prepared(tx).ExecContext(ctx, `UPDATE blueprints SET definition = ?, updated_by = ?, updated_at = ? WHERE identifier = ?`,
			b.Definition, b.UpdatedBy, ts(b.UpdatedAt, now), b.Identifier)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update blueprint %s: %w", b.Identifier, err)
	}
	return nil
}

// GetBlueprint returns a blueprint (store.CatalogStore).
func (s *Store) GetBlueprint(ctx context.Context, identifier string) (store.Blueprint, error) {
	b, err := scanBlueprint(s.preparedR().QueryRowContext(ctx, `SELECT `+blueprintCols+` FROM blueprints WHERE identifier = ?`, identifier))
	if err != nil {
		return store.Blueprint{}, fmt.Errorf("sqlite: get blueprint %s: %w", identifier, notFound(err))
	}
	return b, nil
}

// ListBlueprints returns every blueprint (store.CatalogStore).
func (s *Store) ListBlueprints(ctx context.Context) ([]store.Blueprint, error) {
	bs, err := queryAll(ctx, s.preparedR(), scanBlueprint, `SELECT `+blueprintCols+` FROM blueprints ORDER BY identifier`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list blueprints: %w", err)
	}
	return bs, nil
}

// DeleteBlueprint removes a blueprint without entities (store.CatalogStore).
func (s *Store) DeleteBlueprint(ctx context.Context, identifier string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.prepared(tx).QueryRowContext(ctx, `SELECT count(*) FROM entities WHERE blueprint = ?`, identifier).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: the blueprint has %d entities", store.ErrConflict, n)
		}
		res, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM blueprints WHERE identifier = ?`, identifier)
		if err != nil {
			return mapErr(err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete blueprint %s: %w", identifier, err)
	}
	return nil
}

const entityCols = `blueprint, identifier, data, created_by, updated_by, created_at, updated_at`

func scanEntity(sc scanner) (store.Entity, error) {
	var (
		e                store.Entity
		created, updated int64
	)
	if err := sc.Scan(&e.Blueprint, &e.Identifier, &e.Data, &e.CreatedBy, &e.UpdatedBy, &created, &updated); err != nil {
		return store.Entity{}, err
	}
	e.CreatedAt, e.UpdatedAt = fromTS(created), fromTS(updated)
	return e, nil
}

// WriteEntity applies one entity change with its references, timers and
// event in one transaction (store.CatalogStore).
func (s *Store) WriteEntity(ctx context.Context, w store.EntityWrite) error {
	e := w.Entity
	now := time.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := s.prepared(tx).QueryRowContext(ctx, `SELECT updated_at FROM entities WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier).Scan(&cur)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		switch {
		case w.Delete && !exists:
			return store.ErrNotFound
		case !w.Delete && w.IfUpdatedAt.IsZero() && exists:
			return store.ErrExists
		case !w.Delete && !w.IfUpdatedAt.IsZero() && !exists:
			return store.ErrConflict
		case exists && !w.IfUpdatedAt.IsZero() && cur != w.IfUpdatedAt.UnixNano():
			return store.ErrConflict
		}
		if w.Delete {
			var ref store.EntityRef
			err := s.prepared(tx).QueryRowContext(ctx, `SELECT blueprint, identifier FROM entity_refs WHERE to_blueprint = ? AND to_identifier = ?
				AND NOT (blueprint = ? AND identifier = ?) LIMIT 1`, e.Blueprint, e.Identifier, e.Blueprint, e.Identifier).Scan(&ref.Blueprint, &ref.Identifier)
			switch {
			case err == nil:
				return fmt.Errorf("%w: entity %s of blueprint %s relates to it", store.ErrConflict, ref.Identifier, ref.Blueprint)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM entities WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier); err != nil {
				return mapErr(err)
			}
		} else {
			updatedBy := e.UpdatedBy
			if updatedBy == "" {
				updatedBy = e.CreatedBy
			}
			created := ts(e.CreatedAt, now)
			updated := ts(e.UpdatedAt, now)
			if exists {
				_, err = s.prepared(tx).ExecContext(ctx, `UPDATE entities SET data = ?, updated_by = ?, updated_at = ? WHERE blueprint = ? AND identifier = ?`,
					e.Data, updatedBy, updated, e.Blueprint, e.Identifier)
			} else {
				_, err = s.prepared(tx).ExecContext(ctx, `INSERT INTO entities (`+entityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					e.Blueprint, e.Identifier, e.Data, e.CreatedBy, updatedBy, created, updated)
			}
			if err != nil {
				return mapErr(err)
			}
			if _, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM entity_refs WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier); err != nil {
				return err
			}
			for _, r := range w.Refs {
				var one int
				err := s.prepared(tx).QueryRowContext(ctx, `SELECT 1 FROM entities WHERE blueprint = ? AND identifier = ?`, r.Blueprint, r.Identifier).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: related entity %s of blueprint %s", store.ErrNotFound, r.Identifier, r.Blueprint)
				} else if err != nil {
					return err
				}
				if _, err := s.prepared(tx).ExecContext(ctx, `INSERT OR IGNORE INTO entity_refs (blueprint, identifier, to_blueprint, to_identifier) VALUES (?, ?, ?, ?)`,
					e.Blueprint, e.Identifier, r.Blueprint, r.Identifier); err != nil {
					return err
				}
			}
			if _, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM entity_timers WHERE blueprint = ? AND identifier = ?`, e.Blueprint, e.Identifier); err != nil {
				return err
			}
			for _, t := range w.Timers {
				if _, err := s.prepared(tx).ExecContext(ctx, `INSERT OR REPLACE INTO entity_timers (blueprint, identifier, property, fire_at) VALUES (?, ?, ?, ?)`,
					e.Blueprint, e.Identifier, t.Property, t.At.UnixNano()); err != nil {
					return err
				}
			}
		}
		if w.Event != nil {
			return insertEvent(ctx, s.prepared(tx), *w.Event, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: write entity %s of blueprint %s: %w", e.Identifier, e.Blueprint, err)
	}
	return nil
}

func insertEvent(ctx context.Context, tx preparedTx, ev store.CatalogEvent, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_events (action, blueprint, entity, property, before, after, depth, source_run, source_node, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.Action, ev.Blueprint, ev.Entity, ev.Property, ev.Before, ev.After, ev.Depth, ev.SourceRun, ev.SourceNode, ts(ev.CreatedAt, now))
	return mapErr(err)
}

// GetEntity returns an entity (store.CatalogStore).
func (s *Store) GetEntity(ctx context.Context, blueprint, identifier string) (store.Entity, error) {
	e, err := scanEntity(s.preparedR().QueryRowContext(ctx, `SELECT `+entityCols+` FROM entities WHERE blueprint = ? AND identifier = ?`, blueprint, identifier))
	if err != nil {
		return store.Entity{}, fmt.Errorf("sqlite: get entity %s of blueprint %s: %w", identifier, blueprint, notFound(err))
	}
	return e, nil
}

// ListEntities returns the entities of a blueprint, or every entity
// (store.CatalogStore).
func (s *Store) ListEntities(ctx context.Context, blueprint string) ([]store.Entity, error) {
	q := `SELECT ` + entityCols + ` FROM entities`
	var args []any
	if blueprint != "" {
		q += ` WHERE blueprint = ?`
		args = append(args, blueprint)
	}
	es, err := queryAll(ctx, s.preparedR(), scanEntity, q+` ORDER BY blueprint, identifier`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list entities: %w", err)
	}
	return es, nil
}

// ReferringEntities returns the entities that relate to target
// (store.CatalogStore).
func (s *Store) ReferringEntities(ctx context.Context, target store.EntityRef) ([]store.EntityRef, error) {
	scan := func(sc scanner) (store.EntityRef, error) {
		var r store.EntityRef
		err := sc.Scan(&r.Blueprint, &r.Identifier)
		return r, err
	}
	rs, err := queryAll(ctx, s.preparedR(), scan, `SELECT blueprint, identifier FROM entity_refs WHERE to_blueprint = ? AND to_identifier = ?
		ORDER BY blueprint, identifier`, target.Blueprint, target.Identifier)
	if err != nil {
		return nil, fmt.Errorf("sqlite: referring entities: %w", err)
	}
	return rs, nil
}

const eventCols = `id, action, blueprint, entity, property, before, after, depth, source_run, source_node, created_at`

func scanEvent(sc scanner) (store.CatalogEvent, error) {
	var (
		ev      store.CatalogEvent
		created int64
	)
	if err := sc.Scan(&ev.ID, &ev.Action, &ev.Blueprint, &ev.Entity, &ev.Property, &ev.Before, &ev.After, &ev.Depth, &ev.SourceRun, &ev.SourceNode, &created); err != nil {
		return store.CatalogEvent{}, err
	}
	ev.CreatedAt = fromTS(created)
	return ev, nil
}

// PendingCatalogEvents returns the events not yet done, oldest first
// (store.CatalogStore).
func (s *Store) PendingCatalogEvents(ctx context.Context, limit int) ([]store.CatalogEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	evs, err := queryAll(ctx, s.preparedR(), scanEvent, `SELECT `+eventCols+` FROM catalog_events WHERE done = 0 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending catalog events: %w", err)
	}
	return evs, nil
}

// MarkCatalogEventDone marks an event done (store.CatalogStore).
func (s *Store) MarkCatalogEventDone(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.prepared(tx).ExecContext(ctx, `UPDATE catalog_events SET done = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: mark catalog event %d done: %w", id, err)
	}
	return nil
}

// FireDueTimers turns due entity timers into TIMER_EXPIRED events
// (store.CatalogStore).
func (s *Store) FireDueTimers(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	var fired int
	err := s.write(ctx, func(tx *sql.Tx) error {
		fired = 0
		rows, err := s.prepared(tx).QueryContext(ctx, `SELECT blueprint, identifier, property FROM entity_timers WHERE fire_at <= ? ORDER BY fire_at LIMIT ?`, now.UnixNano(), limit)
		if err != nil {
			return err
		}
		type due struct{ bp, id, prop string }
		var ds []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.bp, &d.id, &d.prop); err != nil {
				rows.Close()
				return err
			}
			ds = append(ds, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := s.prepared(tx).ExecContext(ctx, `DELETE FROM entity_timers WHERE blueprint = ? AND identifier = ? AND property = ?`, d.bp, d.id, d.prop); err != nil {
				return err
			}
			ev := store.CatalogEvent{Action: store.ActionTimerExpired, Blueprint: d.bp, Entity: d.id, Property: d.prop, Depth: 1}
			if err := insertEvent(ctx, s.prepared(tx), ev, time.Now()); err != nil {
				return err
			}
			fired++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: fire due timers: %w", err)
	}
	return fired, nil
}

// RecordRunDepth records a run's event depth (store.CatalogStore).
func (s *Store) RecordRunDepth(ctx context.Context, runID string, depth int) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.prepared(tx).ExecContext(ctx, `INSERT INTO catalog_run_depths (run_id, depth) VALUES (?, ?) ON CONFLICT (run_id) DO NOTHING`, runID, depth)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: record depth of run %s: %w", runID, err)
	}
	return nil
}

// RunDepth returns a run's recorded event depth, 0 when none
// (store.CatalogStore).
func (s *Store) RunDepth(ctx context.Context, runID string) (int, error) {
	var d int
	err := s.preparedR().QueryRowContext(ctx, `SELECT depth FROM catalog_run_depths WHERE run_id = ?`, runID).Scan(&d)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("sqlite: depth of run %s: %w", runID, transient(err))
	}
	return d, nil
}

// GetSchedule returns a schedule trigger's state (store.ScheduleStore).
func (s *Store) GetSchedule(ctx context.Context, workflowID, trigger string) (store.Schedule, error) {
	sc := store.Schedule{WorkflowID: workflowID, Trigger: trigger}
	var next int64
	err := s.preparedR().QueryRowContext(ctx, `SELECT cron, next_at FROM schedules WHERE workflow_id = ? AND trigger = ?`, workflowID, trigger).Scan(&sc.Cron, &next)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("sqlite: get schedule %s/%s: %w", workflowID, trigger, notFound(err))
	}
	sc.NextAt = fromTS(next)
	return sc, nil
}

// PutSchedule stores a schedule trigger's state if unchanged since
// ifNextAt (store.ScheduleStore).
func (s *Store) PutSchedule(ctx context.Context, sc store.Schedule, ifNextAt time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if ifNextAt.IsZero() {
			res, err = s.prepared(tx).ExecContext(ctx, `INSERT INTO schedules (workflow_id, trigger, cron, next_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (workflow_id, trigger) DO NOTHING`, sc.WorkflowID, sc.Trigger, sc.Cron, sc.NextAt.UnixNano())
		} else {
			res, err = s.prepared(tx).ExecContext(ctx, `UPDATE schedules SET cron = ?, next_at = ? WHERE workflow_id = ? AND trigger = ? AND next_at = ?`,
				sc.Cron, sc.NextAt.UnixNano(), sc.WorkflowID, sc.Trigger, ifNextAt.UnixNano())
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: put schedule %s/%s: %w", sc.WorkflowID, sc.Trigger, err)
	}
	return nil
}
