-- 0008: people signing in to the web UI (SQLite's 0012): a password hash
-- per user and the server-side sessions of the UI. Both go with their user
-- (ON DELETE CASCADE), so `sluice users delete` ends the user's sessions
-- too. Only hashes are kept: an argon2id hash of the password (its PHC
-- string), a SHA-256 of the session token.
CREATE TABLE user_passwords (
	user_id    text        COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	hash       text        NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE ui_sessions (
	hash       bytea       PRIMARY KEY,
	user_id    text        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);
