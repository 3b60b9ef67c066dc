-- 0012: people signing in to the web UI: a password hash per user and the
-- server-side sessions of the UI. Both go with their user (ON DELETE
-- CASCADE), so `sluice users delete` ends the user's sessions too. Only
-- hashes are kept: an argon2id hash of the password (its PHC string), a
-- SHA-256 of the session token.
CREATE TABLE user_passwords (
	user_id    TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	hash       TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE ui_sessions (
	hash       BLOB    PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);
