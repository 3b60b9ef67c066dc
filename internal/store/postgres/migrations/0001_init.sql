-- 0001: the whole schema of the PostgreSQL store, with the meaning of the
-- SQLite store's migrations 0001 to 0005 (internal/store/sqlite/migrations).
--
-- Times are timestamptz (microseconds, UTC instants). Keys, identifiers and
-- names are text COLLATE "C", so that everything listed in their order is
-- in byte order, as in SQLite, whatever the database's collation. Binary
-- values (definitions, outputs, ciphertexts, hashes) are bytea, kept byte
-- for byte; lists of strings are text[]; log tags are jsonb.

-- sluice_assert raises an error with the given SQLSTATE and message unless
-- ok is true. The store's writes use it inside the statements they send in
-- one round trip, so that a failed precondition (a finished run, a node run
-- that is no longer IN_PROGRESS) aborts the whole transaction on the server
-- without a round trip to ask the client. Codes: SLNFD (not found), SLCNF
-- (conflict).
CREATE FUNCTION sluice_assert(ok boolean, code text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF ok IS NOT TRUE THEN
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
	END IF;
END
$$;

-- Every version of every workflow. The current version of an identifier is
-- its highest version that is not deleted; deleting marks all its versions.
CREATE TABLE workflows (
	identifier text        COLLATE "C" NOT NULL,
	version    integer     NOT NULL,
	definition bytea       NOT NULL,
	created_by text        NOT NULL,
	updated_by text        NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	deleted    boolean     NOT NULL DEFAULT false,
	PRIMARY KEY (identifier, version)
);

-- Runs. seq is the insertion order and breaks ties between equal created_at.
CREATE TABLE runs (
	seq              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	identifier       text        COLLATE "C" NOT NULL UNIQUE,
	workflow_id      text        COLLATE "C" NOT NULL,
	workflow_version integer     NOT NULL,
	status           text        NOT NULL,
	result           text        NOT NULL DEFAULT '',
	created_by       text        NOT NULL,
	trigger_node     text        NOT NULL,
	created_at       timestamptz NOT NULL,
	-- A step writes only node runs; a run's UpdatedAt is read as the later
	-- of this and its node runs' (see runSelectCols).
	updated_at       timestamptz NOT NULL,
	completed_at     timestamptz
);

CREATE INDEX runs_newest     ON runs (created_at DESC, seq DESC);
CREATE INDEX runs_workflow   ON runs (workflow_id, created_at DESC, seq DESC);
CREATE INDEX runs_created_by ON runs (created_by, created_at DESC, seq DESC);
CREATE INDEX runs_status     ON runs (status, created_at, seq);

-- Node runs, keyed by run and order.
CREATE TABLE node_runs (
	identifier   text        COLLATE "C" NOT NULL UNIQUE,
	run_id       text        COLLATE "C" NOT NULL REFERENCES runs (identifier),
	node_id      text        NOT NULL,
	seq          integer     NOT NULL,
	status       text        NOT NULL,
	result       text        NOT NULL DEFAULT '',
	output       bytea,
	links        text[],
	-- true while an IN_PROGRESS node run waits for a completion from
	-- outside; completing it clears it.
	waiting      boolean     NOT NULL DEFAULT false,
	-- how many times the engine began executing the node run.
	attempts     integer     NOT NULL DEFAULT 0,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	completed_at timestamptz,
	PRIMARY KEY (run_id, seq)
);

-- id is the order the lines were written in.
CREATE TABLE node_run_logs (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	node_run_id text        COLLATE "C" NOT NULL REFERENCES node_runs (identifier),
	level       text        NOT NULL,
	message     text        NOT NULL,
	tags        jsonb,
	created_at  timestamptz NOT NULL
);

CREATE INDEX node_run_logs_node_run ON node_run_logs (node_run_id, id);

-- The keys the secrets were written with: an id and a keyed fingerprint of
-- the key (never the key). Unlike SQLite's, this store never held a secret
-- from before key records existed, so every secret references its key's
-- record and a record in use cannot be removed.
CREATE TABLE secret_keys (
	key_id      text        COLLATE "C" PRIMARY KEY,
	fingerprint bytea       NOT NULL,
	created_at  timestamptz NOT NULL
);

-- Secrets, their values only sealed.
CREATE TABLE secrets (
	name        text        COLLATE "C" PRIMARY KEY,
	description text        NOT NULL,
	key_id      text        COLLATE "C" NOT NULL REFERENCES secret_keys (key_id),
	ciphertext  bytea       NOT NULL,
	created_by  text        NOT NULL,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL
);

CREATE INDEX secrets_key_id ON secrets (key_id);

-- An identity is never reused, even after the newest event is gone.
CREATE TABLE audit_events (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action      text        NOT NULL,
	actor       text        NOT NULL,
	secret      text        NOT NULL,
	run_id      text        NOT NULL DEFAULT '',
	node_run_id text        NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL
);

-- Keyed fingerprints of each secret's value and encoded forms (never a
-- value), with the key they were made with and the version of the secret
-- they were made from. anchor holds the uint64 anchor's bits.
CREATE TABLE secret_fingerprints (
	id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	secret            text        COLLATE "C" NOT NULL REFERENCES secrets (name) ON DELETE CASCADE,
	key_id            text        NOT NULL,
	secret_updated_at timestamptz NOT NULL,
	length            integer     NOT NULL,
	anchor            bigint      NOT NULL,
	sum               bytea       NOT NULL
);
CREATE INDEX secret_fingerprints_secret ON secret_fingerprints (secret);

-- Users. email_key is the email folded to lower case by the program (Go's
-- strings.ToLower): it makes emails unique regardless of case and orders
-- ListUsers.
CREATE TABLE users (
	id         text        COLLATE "C" PRIMARY KEY,
	email      text        NOT NULL,
	email_key  text        COLLATE "C" NOT NULL UNIQUE,
	first_name text        NOT NULL,
	last_name  text        NOT NULL,
	role       text        NOT NULL,
	teams      text[]      NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL
);

-- API credentials. user_id is NULL for a machine client. Only a hash of the
-- client secret is kept.
CREATE TABLE clients (
	id          text        COLLATE "C" PRIMARY KEY,
	name        text        NOT NULL,
	secret_hash bytea       NOT NULL,
	user_id     text        COLLATE "C" REFERENCES users (id),
	scopes      text[]      NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL
);

CREATE INDEX clients_user ON clients (user_id) WHERE user_id IS NOT NULL;

-- Issued access tokens, kept only as a hash of their value.
CREATE TABLE tokens (
	hash       bytea       PRIMARY KEY,
	client_id  text        COLLATE "C" NOT NULL REFERENCES clients (id),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX tokens_expiry ON tokens (expires_at);
CREATE INDEX tokens_client ON tokens (client_id);
