-- What each unfinished run's redactor knows, sealed by the secret service
-- (AES-256-GCM under the master key ring, bound to the run): appended with
-- the step that used the values, deleted when the run finishes.
CREATE TABLE run_seals (
	id         BIGSERIAL   PRIMARY KEY,
	run_id     TEXT        NOT NULL,
	origin     BOOLEAN     NOT NULL DEFAULT FALSE,
	key_id     TEXT        NOT NULL,
	sealed     BYTEA       NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX run_seals_run ON run_seals (run_id, id);
CREATE INDEX run_seals_key ON run_seals (key_id);
