-- 0008: the software catalog (blueprints, entities, the references between
-- entities), the outbox of catalog changes that EVENT_TRIGGER workflows
-- react to, entity timers (TIMER_EXPIRED), the event depth of runs started
-- by catalog events (the loop guard) and the next fire time of schedule
-- triggers.
CREATE TABLE blueprints (
	identifier TEXT    NOT NULL PRIMARY KEY,
	definition BLOB    NOT NULL,
	created_by TEXT    NOT NULL,
	updated_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE entities (
	blueprint  TEXT    NOT NULL REFERENCES blueprints (identifier),
	identifier TEXT    NOT NULL,
	data       BLOB    NOT NULL,
	created_by TEXT    NOT NULL,
	updated_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (blueprint, identifier)
);

-- entity_refs holds one row per relation target, so that a target in use
-- cannot be deleted.
CREATE TABLE entity_refs (
	blueprint     TEXT NOT NULL,
	identifier    TEXT NOT NULL,
	to_blueprint  TEXT NOT NULL,
	to_identifier TEXT NOT NULL,
	PRIMARY KEY (blueprint, identifier, to_blueprint, to_identifier),
	FOREIGN KEY (blueprint, identifier) REFERENCES entities (blueprint, identifier) ON DELETE CASCADE
);
CREATE INDEX entity_refs_target ON entity_refs (to_blueprint, to_identifier);

CREATE TABLE entity_timers (
	blueprint  TEXT    NOT NULL,
	identifier TEXT    NOT NULL,
	property   TEXT    NOT NULL,
	fire_at    INTEGER NOT NULL,
	PRIMARY KEY (blueprint, identifier, property),
	FOREIGN KEY (blueprint, identifier) REFERENCES entities (blueprint, identifier) ON DELETE CASCADE
);
CREATE INDEX entity_timers_due ON entity_timers (fire_at);

CREATE TABLE catalog_events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	action      TEXT    NOT NULL,
	blueprint   TEXT    NOT NULL,
	entity      TEXT    NOT NULL,
	property    TEXT    NOT NULL DEFAULT '',
	before      BLOB,
	after       BLOB,
	depth       INTEGER NOT NULL,
	source_run  TEXT    NOT NULL DEFAULT '',
	source_node TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX catalog_events_pending ON catalog_events (id) WHERE done = 0;

CREATE TABLE catalog_run_depths (
	run_id TEXT    NOT NULL PRIMARY KEY,
	depth  INTEGER NOT NULL
);

CREATE TABLE schedules (
	workflow_id TEXT    NOT NULL,
	trigger     TEXT    NOT NULL,
	cron        TEXT    NOT NULL,
	next_at     INTEGER NOT NULL,
	PRIMARY KEY (workflow_id, trigger)
);
