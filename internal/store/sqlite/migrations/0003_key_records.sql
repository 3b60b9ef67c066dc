-- 0003: the keys the secrets were written with. Each row names a key-ring
-- key by its id and a keyed fingerprint of it (never the key), so that a
-- process holding a ring without that key refuses to read or write secrets
-- instead of splitting the store between two keys.
CREATE TABLE secret_keys (
	key_id      TEXT    PRIMARY KEY,
	fingerprint BLOB    NOT NULL,
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Which secrets use a key: a key record is removed only once none does.
CREATE INDEX secrets_key_id ON secrets (key_id);
