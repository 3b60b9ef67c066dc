package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var (
	_ store.CatalogStore  = (*Store)(nil)
	_ store.ScheduleStore = (*Store)(nil)
)

const blueprintCols = `identifier, definition, created_by, updated_by, created_at, updated_at`

func scanBlueprint(row pgx.Row) (store.Blueprint, error) {
	var b store.Blueprint
	err := row.Scan(&b.Identifier, &b.Definition, &b.CreatedBy, &b.UpdatedBy, &b.CreatedAt, &b.UpdatedAt)
	return b, err
}

// ifTime is the stored time a conditional write compares with: NULL, which
// equals nothing, for a zero time or one with digits finer than a
// microsecond (no time this store returned; pgx would truncate it into a
// false match).
func ifTime(t time.Time) *time.Time {
	if !exactMicro(t) {
		return nil
	}
	return &t
}

// CreateBlueprint stores a new blueprint (store.CatalogStore). A zero
// CreatedAt is now, a zero UpdatedAt CreatedAt, an empty UpdatedBy
// CreatedBy.
func (s *Store) CreateBlueprint(ctx context.Context, b store.Blueprint) error {
	if b.Identifier == "" {
		return errors.New("postgres: create blueprint: empty identifier")
	}
	updatedBy := b.UpdatedBy
	if updatedBy == "" {
		updatedBy = b.CreatedBy
	}
	created := ts(b.CreatedAt, time.Now())
	_, err := s.pool.Exec(ctx, `INSERT INTO blueprints (`+blueprintCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		b.Identifier, b.Definition, b.CreatedBy, updatedBy, created, ts(b.UpdatedAt, created))
	if err != nil {
		return fmt.Errorf("postgres: create blueprint %s: %w", b.Identifier, mapErr(err))
	}
	return nil
}

// UpdateBlueprint replaces a blueprint if its UpdatedAt still equals
// ifUpdatedAt, in one statement (store.CatalogStore).
func (s *Store) UpdateBlueprint(ctx context.Context, b store.Blueprint, ifUpdatedAt time.Time) error {
	_, err := s.pool.Exec(ctx, `WITH u AS (
			UPDATE blueprints SET definition = $2, updated_by = $3, updated_at = $4 WHERE identifier = $1 AND updated_at = $5 RETURNING 1)
		SELECT sluice_assert(EXISTS (SELECT 1 FROM u),
			CASE WHEN EXISTS (SELECT 1 FROM blueprints WHERE identifier = $1) THEN 'SLCNF' ELSE 'SLNFD' END,
			CASE WHEN EXISTS (SELECT 1 FROM blueprints WHERE identifier = $1) THEN 'the blueprint changed' ELSE 'blueprint not found' END)`,
		b.Identifier, b.Definition, b.UpdatedBy, ts(b.UpdatedAt, time.Now()), ifTime(ifUpdatedAt))
	if err != nil {
		return fmt.Errorf("postgres: update blueprint %s: %w", b.Identifier, mapErr(err))
	}
	return nil
}

// GetBlueprint returns a blueprint (store.CatalogStore).
func (s *Store) GetBlueprint(ctx context.Context, identifier string) (store.Blueprint, error) {
	b, err := scanBlueprint(s.pool.QueryRow(ctx, `SELECT `+blueprintCols+` FROM blueprints WHERE identifier = $1`, identifier))
	if err != nil {
		return store.Blueprint{}, fmt.Errorf("postgres: get blueprint %s: %w", identifier, mapErr(err))
	}
	return b, nil
}

// ListBlueprints returns every blueprint by identifier (store.CatalogStore).
func (s *Store) ListBlueprints(ctx context.Context) ([]store.Blueprint, error) {
	bs, err := collect(ctx, s.pool, scanBlueprint, `SELECT `+blueprintCols+` FROM blueprints ORDER BY identifier`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list blueprints: %w", err)
	}
	return bs, nil
}

// DeleteBlueprint removes a blueprint without entities in one statement
// (store.CatalogStore). An entity inserted meanwhile makes the delete fail
// on the foreign key, as a conflict.
func (s *Store) DeleteBlueprint(ctx context.Context, identifier string) error {
	_, err := s.pool.Exec(ctx, `WITH n AS (SELECT count(*) AS c FROM entities WHERE blueprint = $1),
		d AS (DELETE FROM blueprints WHERE identifier = $1 AND (SELECT c FROM n) = 0 RETURNING 1)
		SELECT sluice_assert(EXISTS (SELECT 1 FROM d),
			CASE WHEN (SELECT c FROM n) > 0 THEN 'SLCNF' ELSE 'SLNFD' END,
			CASE WHEN (SELECT c FROM n) > 0 THEN 'the blueprint has ' || (SELECT c FROM n) || ' entities' ELSE 'blueprint not found' END)`, identifier)
	if isForeignKeyViolation(err) {
		err = fmt.Errorf("the blueprint has entities: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete blueprint %s: %w", identifier, mapErr(err))
	}
	return nil
}

const entityCols = `blueprint, identifier, data, created_by, updated_by, created_at, updated_at`

func scanEntity(row pgx.Row) (store.Entity, error) {
	var e store.Entity
	err := row.Scan(&e.Blueprint, &e.Identifier, &e.Data, &e.CreatedBy, &e.UpdatedBy, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// The statements of WriteEntity, sent in one batch.
const (
	// sqlEntityCheck locks the entity's row, when there is one, and
	// refuses the write ($3 delete, $4 the UpdatedAt it was computed from,
	// NULL for none, $5 whether one was given): deleting a missing entity
	// (SLNFD), creating one that exists (23505, ErrExists), updating a
	// missing or changed one (SLCNF).
	sqlEntityCheck = `SELECT sluice_assert(c.code IS NULL, c.code, c.message) FROM (SELECT
			CASE WHEN $3 AND cur IS NULL THEN 'SLNFD'
				WHEN NOT $3 AND NOT $5 AND cur IS NOT NULL THEN '23505'
				WHEN NOT $3 AND $5 AND cur IS NULL THEN 'SLCNF'
				WHEN cur IS NOT NULL AND $5 AND cur IS DISTINCT FROM $4::timestamptz THEN 'SLCNF' END AS code,
			CASE WHEN cur IS NULL THEN 'entity not found' WHEN NOT $5 THEN 'the entity exists' ELSE 'the entity changed' END AS message
		FROM (SELECT (SELECT updated_at FROM entities WHERE blueprint = $1 AND identifier = $2 FOR UPDATE) AS cur) x) c`
	// sqlEntityReferred refuses to delete an entity another one relates to.
	sqlEntityReferred = `SELECT sluice_assert(false, 'SLCNF', 'entity ' || identifier || ' of blueprint ' || blueprint || ' relates to it')
		FROM (SELECT blueprint, identifier FROM entity_refs WHERE to_blueprint = $1 AND to_identifier = $2
			AND NOT (blueprint = $1 AND identifier = $2) ORDER BY blueprint, identifier LIMIT 1) r`
	sqlDeleteEntity = `DELETE FROM entities WHERE blueprint = $1 AND identifier = $2`
	sqlUpsertEntity = `INSERT INTO entities (` + entityCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (blueprint, identifier) DO UPDATE SET data = excluded.data, updated_by = excluded.updated_by, updated_at = excluded.updated_at`
	sqlDeleteRefs = `DELETE FROM entity_refs WHERE blueprint = $1 AND identifier = $2`
	// sqlRefsExist names the first related entity ($3, $4: blueprints and
	// identifiers) that does not exist; the foreign key of entity_refs
	// keeps the others from going away before the commit.
	sqlRefsExist = `SELECT sluice_assert(false, 'SLNFD', 'related entity ' || r.id || ' of blueprint ' || r.bp)
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(bp, id, ord)
		WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.blueprint = r.bp AND e.identifier = r.id) ORDER BY r.ord LIMIT 1`
	sqlInsertRefs = `INSERT INTO entity_refs (blueprint, identifier, to_blueprint, to_identifier)
		SELECT $1, $2, r.bp, r.id FROM unnest($3::text[], $4::text[]) AS r(bp, id) ON CONFLICT DO NOTHING`
	sqlDeleteTimers = `DELETE FROM entity_timers WHERE blueprint = $1 AND identifier = $2`
	sqlInsertTimers = `INSERT INTO entity_timers (blueprint, identifier, property, fire_at)
		SELECT $1, $2, t.p, t.at FROM unnest($3::text[], $4::timestamptz[]) WITH ORDINALITY AS t(p, at, ord) ORDER BY t.ord
		ON CONFLICT (blueprint, identifier, property) DO UPDATE SET fire_at = excluded.fire_at`
	sqlInsertEvent = `INSERT INTO catalog_events (action, blueprint, entity, property, before, after, depth, source_run, source_node, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
)

// WriteEntity applies one entity change with its references check, its
// timers and its event in one round trip and one transaction
// (store.CatalogStore).
func (s *Store) WriteEntity(ctx context.Context, w store.EntityWrite) error {
	e := w.Entity
	now := time.Now()
	var b batch
	b.exec("", sqlEntityCheck, e.Blueprint, e.Identifier, w.Delete, ifTime(w.IfUpdatedAt), !w.IfUpdatedAt.IsZero())
	if w.Delete {
		b.exec("", sqlEntityReferred, e.Blueprint, e.Identifier)
		b.exec("", sqlDeleteEntity, e.Blueprint, e.Identifier)
	} else {
		updatedBy := e.UpdatedBy
		if updatedBy == "" {
			updatedBy = e.CreatedBy
		}
		b.exec("", sqlUpsertEntity, e.Blueprint, e.Identifier, e.Data, e.CreatedBy, updatedBy, ts(e.CreatedAt, now), ts(e.UpdatedAt, now))
		b.exec("", sqlDeleteRefs, e.Blueprint, e.Identifier)
		if len(w.Refs) > 0 {
			bps, ids := make([]string, len(w.Refs)), make([]string, len(w.Refs))
			for i, r := range w.Refs {
				bps[i], ids[i] = r.Blueprint, r.Identifier
			}
			b.exec("", sqlRefsExist, bps, ids)
			b.exec("", sqlInsertRefs, e.Blueprint, e.Identifier, bps, ids)
		}
		b.exec("", sqlDeleteTimers, e.Blueprint, e.Identifier)
		if len(w.Timers) > 0 {
			props, ats := make([]string, len(w.Timers)), make([]time.Time, len(w.Timers))
			for i, t := range w.Timers {
				props[i], ats[i] = t.Property, t.At
			}
			b.exec("", sqlInsertTimers, e.Blueprint, e.Identifier, props, ats)
		}
	}
	if ev := w.Event; ev != nil {
		b.exec("event", sqlInsertEvent, ev.Action, ev.Blueprint, ev.Entity, ev.Property, ev.Before, ev.After, ev.Depth, ev.SourceRun, ev.SourceNode, ts(ev.CreatedAt, now))
	}
	if err := s.send(ctx, &b); err != nil {
		return fmt.Errorf("postgres: write entity %s of blueprint %s: %w", e.Identifier, e.Blueprint, err)
	}
	return nil
}

// GetEntity returns an entity (store.CatalogStore).
func (s *Store) GetEntity(ctx context.Context, blueprint, identifier string) (store.Entity, error) {
	e, err := scanEntity(s.pool.QueryRow(ctx, `SELECT `+entityCols+` FROM entities WHERE blueprint = $1 AND identifier = $2`, blueprint, identifier))
	if err != nil {
		return store.Entity{}, fmt.Errorf("postgres: get entity %s of blueprint %s: %w", identifier, blueprint, mapErr(err))
	}
	return e, nil
}

// ListEntities returns the entities of a blueprint ("" for all), ordered
// by blueprint and identifier (store.CatalogStore).
func (s *Store) ListEntities(ctx context.Context, blueprint string) ([]store.Entity, error) {
	es, err := collect(ctx, s.pool, scanEntity, `SELECT `+entityCols+` FROM entities WHERE $1 = '' OR blueprint = $1
		ORDER BY blueprint, identifier`, blueprint)
	if err != nil {
		return nil, fmt.Errorf("postgres: list entities: %w", err)
	}
	return es, nil
}

// ReferringEntities returns the entities that relate to target
// (store.CatalogStore).
func (s *Store) ReferringEntities(ctx context.Context, target store.EntityRef) ([]store.EntityRef, error) {
	scan := func(row pgx.Row) (store.EntityRef, error) {
		var r store.EntityRef
		err := row.Scan(&r.Blueprint, &r.Identifier)
		return r, err
	}
	rs, err := collect(ctx, s.pool, scan, `SELECT blueprint, identifier FROM entity_refs WHERE to_blueprint = $1 AND to_identifier = $2
		ORDER BY blueprint, identifier`, target.Blueprint, target.Identifier)
	if err != nil {
		return nil, fmt.Errorf("postgres: referring entities: %w", err)
	}
	return rs, nil
}

const eventCols = `id, action, blueprint, entity, property, before, after, depth, source_run, source_node, created_at`

func scanEvent(row pgx.Row) (store.CatalogEvent, error) {
	var ev store.CatalogEvent
	err := row.Scan(&ev.ID, &ev.Action, &ev.Blueprint, &ev.Entity, &ev.Property, &ev.Before, &ev.After, &ev.Depth, &ev.SourceRun, &ev.SourceNode, &ev.CreatedAt)
	return ev, err
}

// PendingCatalogEvents returns the events not yet done, oldest first
// (store.CatalogStore).
func (s *Store) PendingCatalogEvents(ctx context.Context, limit int) ([]store.CatalogEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	evs, err := collect(ctx, s.pool, scanEvent, `SELECT `+eventCols+` FROM catalog_events WHERE NOT done ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending catalog events: %w", err)
	}
	return evs, nil
}

// MarkCatalogEventDone marks an event done (store.CatalogStore).
func (s *Store) MarkCatalogEventDone(ctx context.Context, id int64) error {
	ct, err := s.pool.Exec(ctx, `UPDATE catalog_events SET done = true WHERE id = $1`, id)
	if err == nil && ct.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: mark catalog event %d done: %w", id, mapErr(err))
	}
	return nil
}

// FireDueTimers turns due entity timers into TIMER_EXPIRED events in one
// statement (store.CatalogStore): each timer is removed in the transaction
// that appends its event, and timers another process is firing are
// skipped (SKIP LOCKED), so a timer fires once.
func (s *Store) FireDueTimers(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	var fired int
	err := s.pool.QueryRow(ctx, `WITH due AS (
			SELECT blueprint, identifier, property, fire_at FROM entity_timers WHERE fire_at <= $1
			ORDER BY fire_at, blueprint, identifier, property LIMIT $2 FOR UPDATE SKIP LOCKED),
		del AS (
			DELETE FROM entity_timers t USING due
			WHERE t.blueprint = due.blueprint AND t.identifier = due.identifier AND t.property = due.property
			RETURNING t.blueprint, t.identifier, t.property, due.fire_at),
		ins AS (
			INSERT INTO catalog_events (action, blueprint, entity, property, depth, created_at)
			SELECT $3, blueprint, identifier, property, 1, $4 FROM del ORDER BY fire_at, blueprint, identifier, property
			RETURNING 1)
		SELECT count(*) FROM ins`, now, limit, store.ActionTimerExpired, time.Now()).Scan(&fired)
	if err != nil {
		return 0, fmt.Errorf("postgres: fire due timers: %w", mapErr(err))
	}
	return fired, nil
}

// RecordRunDepth records a run's event depth; recording it again is no
// error (store.CatalogStore).
func (s *Store) RecordRunDepth(ctx context.Context, runID string, depth int) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO catalog_run_depths (run_id, depth) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING`, runID, depth); err != nil {
		return fmt.Errorf("postgres: record depth of run %s: %w", runID, mapErr(err))
	}
	return nil
}

// RunDepth returns a run's recorded event depth, 0 when none
// (store.CatalogStore).
func (s *Store) RunDepth(ctx context.Context, runID string) (int, error) {
	var d int
	err := s.pool.QueryRow(ctx, `SELECT depth FROM catalog_run_depths WHERE run_id = $1`, runID).Scan(&d)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("postgres: depth of run %s: %w", runID, mapErr(err))
	}
	return d, nil
}

// GetSchedule returns a schedule trigger's state (store.ScheduleStore).
func (s *Store) GetSchedule(ctx context.Context, workflowID, trigger string) (store.Schedule, error) {
	sc := store.Schedule{WorkflowID: workflowID, Trigger: trigger}
	err := s.pool.QueryRow(ctx, `SELECT cron, next_at FROM schedules WHERE workflow_id = $1 AND trigger = $2`, workflowID, trigger).Scan(&sc.Cron, &sc.NextAt)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("postgres: get schedule %s/%s: %w", workflowID, trigger, mapErr(err))
	}
	return sc, nil
}

// PutSchedule stores a schedule trigger's state if its NextAt still equals
// ifNextAt (none stored yet when zero), in one statement
// (store.ScheduleStore).
func (s *Store) PutSchedule(ctx context.Context, sc store.Schedule, ifNextAt time.Time) error {
	var err error
	var n int64
	if ifNextAt.IsZero() {
		ct, e := s.pool.Exec(ctx, `INSERT INTO schedules (workflow_id, trigger, cron, next_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (workflow_id, trigger) DO NOTHING`, sc.WorkflowID, sc.Trigger, sc.Cron, sc.NextAt)
		err, n = e, ct.RowsAffected()
	} else {
		ct, e := s.pool.Exec(ctx, `UPDATE schedules SET cron = $3, next_at = $4 WHERE workflow_id = $1 AND trigger = $2 AND next_at = $5`,
			sc.WorkflowID, sc.Trigger, sc.Cron, sc.NextAt, ifTime(ifNextAt))
		err, n = e, ct.RowsAffected()
	}
	if err == nil && n == 0 {
		err = store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("postgres: put schedule %s/%s: %w", sc.WorkflowID, sc.Trigger, mapErr(err))
	}
	return nil
}
