-- 0015: run leases (PostgreSQL's 0011): which process drives a run, and
-- until when (store.LeaseStore), in nanoseconds since the epoch like every
-- time here. One process serves a data dir (its lock), but the engine takes
-- the same path as on PostgreSQL. A row outlives its run's end until its
-- owner releases it; only IN_PROGRESS runs are ever claimed.
CREATE TABLE run_leases (
	run_id     TEXT    PRIMARY KEY REFERENCES runs (identifier),
	owner      TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX run_leases_owner ON run_leases (owner);
