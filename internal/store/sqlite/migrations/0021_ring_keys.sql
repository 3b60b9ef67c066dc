-- 0021: the keys processes start with (docs/decisions/030-shared-key-ring.md).
-- Each row names the primary key of a key ring that a process started with,
-- by its id and keyed fingerprint (never the key), so that a process with
-- another ring is refused at start instead of writing what the others
-- cannot read. lost_at is set when the operator declares the key lost for
-- good (`sluice keys forget`); fingerprint is then empty if the key was
-- never recorded.
CREATE TABLE ring_keys (
	key_id      TEXT    PRIMARY KEY,
	fingerprint BLOB    NOT NULL,
	first_seen  INTEGER NOT NULL,
	lost_at     INTEGER
) WITHOUT ROWID;
