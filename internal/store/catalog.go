package store

import (
	"context"
	"time"
)

// Blueprint is a catalog blueprint as stored. Definition is the blueprint's
// JSON as the API shows it (identifier, title, icon, description, schema,
// relations, ...) without the server's fields (timestamps, createdBy),
// which are kept in the columns beside it.
type Blueprint struct {
	Identifier string
	Definition []byte
	CreatedBy  string
	UpdatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Entity is a catalog entity as stored. Data is a JSON object with the
// entity's title, icon, team, properties and relations.
type Entity struct {
	Blueprint  string
	Identifier string
	Data       []byte
	CreatedBy  string
	UpdatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EntityRef names an entity.
type EntityRef struct {
	Blueprint  string
	Identifier string
}

// EntityTimer is a date-time property of an entity that fires a
// TIMER_EXPIRED catalog event once At has passed.
type EntityTimer struct {
	Property string
	At       time.Time
}

// Catalog event actions.
const (
	ActionCreate       = "CREATE"
	ActionUpdate       = "UPDATE"
	ActionDelete       = "DELETE"
	ActionTimerExpired = "TIMER_EXPIRED"
)

// CatalogEvent is one committed change of the catalog, kept in an outbox
// until the runs it starts have been started (MarkCatalogEventDone).
type CatalogEvent struct {
	ID         int64 // assigned by the store, increasing
	Action     string
	Blueprint  string
	Entity     string
	Property   string // the timer property of a TIMER_EXPIRED event
	Before     []byte // the entity before the change, as the API shows it; nil when none
	After      []byte // the entity after the change; nil when none
	Depth      int    // how many runs started by events led to this change (1: none)
	SourceRun  string // the run whose node made the change, "" when none
	SourceNode string // that node run
	CreatedAt  time.Time
}

// EntityWrite is one change of one entity, committed atomically with its
// references check, its timers and its event.
type EntityWrite struct {
	// Entity is the entity as it is to be stored; for a delete only
	// Blueprint and Identifier are read.
	Entity Entity
	Delete bool
	// IfUpdatedAt is the UpdatedAt of the stored entity the change was
	// computed from; zero means the entity must not exist yet. Otherwise
	// the write fails with ErrConflict (ErrExists for a create) and
	// applies nothing.
	IfUpdatedAt time.Time
	// Refs are the entities the entity relates to: each must exist (else
	// ErrNotFound and nothing is applied). They replace the entity's
	// stored references.
	Refs []EntityRef
	// Timers replace the entity's timers.
	Timers []EntityTimer
	// Event, when set, is appended to the outbox in the same transaction.
	Event *CatalogEvent
}

// CatalogStore keeps the software catalog: blueprints, entities, the
// outbox of their changes, entity timers and the depth of runs started by
// catalog events. It is apart from Store so that a store can add it on its
// own schedule; the catalog, EVENT_TRIGGER and UPSERT_ENTITY work only on a
// store that implements it.
type CatalogStore interface {
	// CreateBlueprint stores a new blueprint; ErrExists when taken.
	CreateBlueprint(ctx context.Context, b Blueprint) error
	// UpdateBlueprint replaces a blueprint's Definition, UpdatedBy and
	// UpdatedAt if its stored UpdatedAt still equals ifUpdatedAt
	// (ErrConflict otherwise); ErrNotFound when missing.
	UpdateBlueprint(ctx context.Context, b Blueprint, ifUpdatedAt time.Time) error
	// GetBlueprint returns a blueprint; ErrNotFound when missing.
	GetBlueprint(ctx context.Context, identifier string) (Blueprint, error)
	// ListBlueprints returns every blueprint ordered by identifier.
	ListBlueprints(ctx context.Context) ([]Blueprint, error)
	// DeleteBlueprint removes a blueprint; ErrNotFound when missing,
	// ErrConflict (and nothing removed) while it has entities.
	DeleteBlueprint(ctx context.Context, identifier string) error

	// WriteEntity applies one entity change (see EntityWrite). Deleting a
	// missing entity is ErrNotFound; deleting one that another entity
	// refers to is ErrConflict.
	WriteEntity(ctx context.Context, w EntityWrite) error
	// GetEntity returns an entity; ErrNotFound when missing.
	GetEntity(ctx context.Context, blueprint, identifier string) (Entity, error)
	// ListEntities returns the entities of a blueprint ("" for every
	// blueprint) ordered by blueprint and identifier.
	ListEntities(ctx context.Context, blueprint string) ([]Entity, error)
	// ReferringEntities returns the entities whose relations point at the
	// given entity.
	ReferringEntities(ctx context.Context, target EntityRef) ([]EntityRef, error)

	// PendingCatalogEvents returns at most limit (<= 0: 100) events not yet
	// marked done, oldest first.
	PendingCatalogEvents(ctx context.Context, limit int) ([]CatalogEvent, error)
	// MarkCatalogEventDone marks an event done; marking it again is no
	// error, ErrNotFound when there is no such event.
	MarkCatalogEventDone(ctx context.Context, id int64) error
	// FireDueTimers turns at most limit (<= 0: 100) entity timers whose
	// time is at or before now into TIMER_EXPIRED events, removing each
	// timer in the transaction that appends its event, and returns how
	// many fired.
	FireDueTimers(ctx context.Context, now time.Time, limit int) (int, error)

	// RecordRunDepth records the event depth of a run started by a catalog
	// event, before the run is created; recording it again is no error.
	RecordRunDepth(ctx context.Context, runID string, depth int) error
	// RunDepth returns a run's recorded depth, 0 when none was recorded.
	RunDepth(ctx context.Context, runID string) (int, error)
}

// Schedule is the stored state of a SCHEDULE_TRIGGER: the next time it
// fires.
type Schedule struct {
	WorkflowID string
	Trigger    string
	Cron       string
	NextAt     time.Time
}

// ScheduleStore keeps the next fire time of each schedule trigger, so that
// a tick is fired once across restarts and processes.
type ScheduleStore interface {
	// GetSchedule returns a trigger's schedule; ErrNotFound when none.
	GetSchedule(ctx context.Context, workflowID, trigger string) (Schedule, error)
	// PutSchedule stores s if the stored NextAt still equals ifNextAt; a
	// zero ifNextAt means none may be stored yet. Otherwise ErrConflict
	// and nothing is written.
	PutSchedule(ctx context.Context, s Schedule, ifNextAt time.Time) error
}
