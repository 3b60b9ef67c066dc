-- 0005: keyed fingerprints of each secret's value and of its encoded forms,
-- so that a definition can be checked for a pasted secret without
-- decrypting every secret. Each row names the key-ring key it was made
-- with (key_id) and the version of the secret it was made from
-- (secret_updated_at): rows of an older version are ignored and replaced.
-- Never a value: anchor and sum are keyed hashes, the key is not stored.
CREATE TABLE secret_fingerprints (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	secret            TEXT    NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
	key_id            TEXT    NOT NULL,
	secret_updated_at INTEGER NOT NULL,
	length            INTEGER NOT NULL,
	anchor            INTEGER NOT NULL,
	sum               BLOB    NOT NULL
);
CREATE INDEX secret_fingerprints_secret ON secret_fingerprints (secret);
