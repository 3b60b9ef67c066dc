-- 0001: the first schema. Times are INTEGER nanoseconds since the Unix epoch
-- (UTC); NULL means unset.

-- Every version of every workflow. The current version of an identifier is
-- its highest version that is not deleted; deleting marks all its versions.
CREATE TABLE workflows (
	identifier TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	definition BLOB    NOT NULL,
	created_by TEXT    NOT NULL,
	updated_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (identifier, version)
) WITHOUT ROWID;

CREATE INDEX workflows_live ON workflows (identifier, version) WHERE deleted = 0;

-- Runs. seq is the insertion order and breaks ties between equal created_at.
CREATE TABLE runs (
	seq              INTEGER PRIMARY KEY,
	identifier       TEXT    NOT NULL UNIQUE,
	workflow_id      TEXT    NOT NULL,
	workflow_version INTEGER NOT NULL,
	status           TEXT    NOT NULL,
	result           TEXT    NOT NULL DEFAULT '',
	created_by       TEXT    NOT NULL,
	trigger_node     TEXT    NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	completed_at     INTEGER
);

CREATE INDEX runs_newest      ON runs (created_at DESC, seq DESC);
CREATE INDEX runs_workflow    ON runs (workflow_id, created_at DESC, seq DESC);
CREATE INDEX runs_created_by  ON runs (created_by, created_at DESC, seq DESC);
CREATE INDEX runs_status      ON runs (status, created_at, seq);

CREATE TABLE node_runs (
	identifier   TEXT    NOT NULL UNIQUE,
	run_id       TEXT    NOT NULL REFERENCES runs (identifier),
	node_id      TEXT    NOT NULL,
	seq          INTEGER NOT NULL,
	status       TEXT    NOT NULL,
	result       TEXT    NOT NULL DEFAULT '',
	output       BLOB,
	links        TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	completed_at INTEGER,
	-- Keyed by run and order: a step completes one node run and starts the
	-- next in the same leaf page, so a commit writes that page and the
	-- identifier index, not a table page and two index pages.
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- id is the order the lines were written in.
CREATE TABLE node_run_logs (
	id          INTEGER PRIMARY KEY,
	node_run_id TEXT    NOT NULL REFERENCES node_runs (identifier),
	level       TEXT    NOT NULL,
	message     TEXT    NOT NULL,
	tags        TEXT,
	created_at  INTEGER NOT NULL
);

CREATE INDEX node_run_logs_node_run ON node_run_logs (node_run_id, id);

-- Secrets, their values only sealed.
CREATE TABLE secrets (
	name        TEXT    PRIMARY KEY,
	description TEXT    NOT NULL,
	key_id      TEXT    NOT NULL,
	ciphertext  BLOB    NOT NULL,
	created_by  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: an event id is never reused, even after the newest is gone.
CREATE TABLE audit_events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	action      TEXT    NOT NULL,
	actor       TEXT    NOT NULL,
	secret      TEXT    NOT NULL,
	run_id      TEXT    NOT NULL DEFAULT '',
	node_run_id TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
