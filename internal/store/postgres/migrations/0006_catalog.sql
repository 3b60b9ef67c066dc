-- 0006: the software catalog (the SQLite store's 0008): blueprints, entities,
-- the references between entities, the outbox of catalog changes that
-- EVENT_TRIGGER workflows react to, entity timers (TIMER_EXPIRED), the event
-- depth of runs started by catalog events (the loop guard) and the next
-- fire time of schedule triggers. Definitions, entity data and event bodies
-- are bytea, kept byte for byte as the API shows them.
CREATE TABLE blueprints (
	identifier text        COLLATE "C" PRIMARY KEY,
	definition bytea       NOT NULL,
	created_by text        NOT NULL,
	updated_by text        NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE entities (
	blueprint  text        COLLATE "C" NOT NULL REFERENCES blueprints (identifier),
	identifier text        COLLATE "C" NOT NULL,
	data       bytea       NOT NULL,
	created_by text        NOT NULL,
	updated_by text        NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (blueprint, identifier)
);

-- One row per relation target. The target's foreign key makes "a target in
-- use cannot be deleted" hold under concurrency (WriteEntity checks it
-- first, to say which entity relates to it).
CREATE TABLE entity_refs (
	blueprint     text COLLATE "C" NOT NULL,
	identifier    text COLLATE "C" NOT NULL,
	to_blueprint  text COLLATE "C" NOT NULL,
	to_identifier text COLLATE "C" NOT NULL,
	PRIMARY KEY (blueprint, identifier, to_blueprint, to_identifier),
	FOREIGN KEY (blueprint, identifier) REFERENCES entities (blueprint, identifier) ON DELETE CASCADE,
	FOREIGN KEY (to_blueprint, to_identifier) REFERENCES entities (blueprint, identifier)
);
CREATE INDEX entity_refs_target ON entity_refs (to_blueprint, to_identifier);

CREATE TABLE entity_timers (
	blueprint  text        COLLATE "C" NOT NULL,
	identifier text        COLLATE "C" NOT NULL,
	property   text        COLLATE "C" NOT NULL,
	fire_at    timestamptz NOT NULL,
	PRIMARY KEY (blueprint, identifier, property),
	FOREIGN KEY (blueprint, identifier) REFERENCES entities (blueprint, identifier) ON DELETE CASCADE
);
CREATE INDEX entity_timers_due ON entity_timers (fire_at);

-- An identity is never reused.
CREATE TABLE catalog_events (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action      text        NOT NULL,
	blueprint   text        NOT NULL,
	entity      text        NOT NULL,
	property    text        NOT NULL DEFAULT '',
	before      bytea,
	after       bytea,
	depth       integer     NOT NULL,
	source_run  text        NOT NULL DEFAULT '',
	source_node text        NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL,
	done        boolean     NOT NULL DEFAULT false
);
CREATE INDEX catalog_events_pending ON catalog_events (id) WHERE NOT done;

CREATE TABLE catalog_run_depths (
	run_id text    COLLATE "C" PRIMARY KEY,
	depth  integer NOT NULL
);

CREATE TABLE schedules (
	workflow_id text        COLLATE "C" NOT NULL,
	trigger     text        COLLATE "C" NOT NULL,
	cron        text        NOT NULL,
	next_at     timestamptz NOT NULL,
	PRIMARY KEY (workflow_id, trigger)
);
