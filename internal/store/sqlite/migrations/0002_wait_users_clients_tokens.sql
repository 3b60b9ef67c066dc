-- 0002: node runs that wait for a completion from outside, and the people
-- and credentials that use the API. Times are INTEGER nanoseconds since the
-- Unix epoch (UTC), as in 0001.

-- 1 while an IN_PROGRESS node run waits for a completion from outside (an
-- async webhook, a Kafka consumer, an approval); completing it clears it.
ALTER TABLE node_runs ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;

-- Users. email_key is the email folded to lower case by the program (Go's
-- Unicode-aware strings.ToLower, which SQLite's lower() is not): it makes
-- emails unique regardless of case and orders ListUsers. teams is a JSON
-- array of strings.
CREATE TABLE users (
	id         TEXT    PRIMARY KEY,
	email      TEXT    NOT NULL,
	email_key  TEXT    NOT NULL UNIQUE,
	first_name TEXT    NOT NULL,
	last_name  TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	teams      TEXT    NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- API credentials. user_id is NULL for a machine client. scopes is a JSON
-- array of strings. Only a hash of the client secret is kept.
CREATE TABLE clients (
	id          TEXT    PRIMARY KEY,
	name        TEXT    NOT NULL,
	secret_hash BLOB    NOT NULL,
	user_id     TEXT    REFERENCES users (id),
	scopes      TEXT    NOT NULL DEFAULT '[]',
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX clients_user ON clients (user_id) WHERE user_id IS NOT NULL;

-- Issued access tokens, kept only as a hash of their value.
CREATE TABLE tokens (
	hash       BLOB    PRIMARY KEY,
	client_id  TEXT    NOT NULL REFERENCES clients (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX tokens_expiry ON tokens (expires_at);
CREATE INDEX tokens_client ON tokens (client_id);
