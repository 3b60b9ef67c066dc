-- The external run id of a node run (Port's externalRunId): the id an
-- external system gave the work it does for the node run, set by
-- PATCH /v1/workflows/nodes/runs/{wfnr}, redacted as run data, and looked up
-- by GET /v1/workflows/nodes/runs?external_run_id=. Deleted with its node
-- run. docs/decisions/024-external-run-ids.md.
CREATE TABLE node_run_external_ids (
	node_run_id     text        COLLATE "C" PRIMARY KEY REFERENCES node_runs (identifier) ON DELETE CASCADE,
	run_id          text        COLLATE "C" NOT NULL,
	external_run_id text        COLLATE "C" NOT NULL,
	set_at          timestamptz NOT NULL
);

CREATE INDEX node_run_external_ids_id ON node_run_external_ids (external_run_id, set_at);
