-- 0017: the keys processes start with (SQLite's 0021;
-- docs/decisions/030-shared-key-ring.md). Each row names the primary key of
-- a key ring that a process started with, by its id and keyed fingerprint
-- (never the key), so that a process with another ring is refused at start
-- instead of writing what the others cannot read. lost_at is set when the
-- operator declares the key lost for good (`sluice keys forget`);
-- fingerprint is then empty if the key was never recorded.
CREATE TABLE ring_keys (
	key_id      text        COLLATE "C" PRIMARY KEY,
	fingerprint bytea       NOT NULL,
	first_seen  timestamptz NOT NULL,
	lost_at     timestamptz
);
