-- 0011: run leases (SQLite's 0015): which process drives a run, and until
-- when (store.LeaseStore). A row outlives its run's end until its owner
-- releases it; only IN_PROGRESS runs are ever claimed. The index serves the
-- heartbeat (one UPDATE per owner) and the release at shutdown.
CREATE TABLE run_leases (
	run_id     text        COLLATE "C" PRIMARY KEY REFERENCES runs (identifier),
	owner      text        COLLATE "C" NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX run_leases_owner ON run_leases (owner);
