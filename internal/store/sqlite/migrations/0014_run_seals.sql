-- What each unfinished run's redactor knows, sealed by the secret service
-- (AES-256-GCM under the master key ring, bound to the run): appended with
-- the step that used the values, deleted when the run finishes.
CREATE TABLE run_seals (
	id         INTEGER PRIMARY KEY,
	run_id     TEXT    NOT NULL,
	origin     INTEGER NOT NULL DEFAULT 0,
	key_id     TEXT    NOT NULL,
	sealed     BLOB    NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE INDEX run_seals_run ON run_seals (run_id, id);
CREATE INDEX run_seals_key ON run_seals (key_id);
