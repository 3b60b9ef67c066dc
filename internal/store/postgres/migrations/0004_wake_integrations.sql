-- 0004: wake times, saved state and hand-offs of waiting node runs, and
-- installations with the claims of external integrations (the SQLite
-- store's 0009; docs/decisions/012-wake-and-handoff.md). wait_state is the
-- executor's state as redacted when stored (bytes of JSON, kept byte for
-- byte); wait_for is 'integration:<installation id>' for a node run handed
-- to an external integration. A claim never holds the configuration the
-- claim returned.
ALTER TABLE node_runs ADD COLUMN wake_at timestamptz;
ALTER TABLE node_runs ADD COLUMN wait_state bytea;
ALTER TABLE node_runs ADD COLUMN wait_for text COLLATE "C";

-- Only waiting node runs are indexed: completing a node run clears waiting.
CREATE INDEX node_runs_wake_at ON node_runs (wake_at) WHERE waiting AND wake_at IS NOT NULL;
CREATE INDEX node_runs_wait_for ON node_runs (wait_for, created_at, identifier) WHERE waiting AND wait_for IS NOT NULL;

CREATE TABLE integrations (
	id           text        COLLATE "C" PRIMARY KEY,
	provider     text        NOT NULL,
	base_url     text        NOT NULL DEFAULT '',
	token_secret text        NOT NULL DEFAULT '',
	external     boolean     NOT NULL DEFAULT false,
	created_by   text        NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);

CREATE TABLE integration_claims (
	node_run_id     text        COLLATE "C" PRIMARY KEY,
	run_id          text        COLLATE "C" NOT NULL,
	installation_id text        COLLATE "C" NOT NULL,
	claimed_by      text        NOT NULL,
	claimed_until   timestamptz NOT NULL,
	claims          integer     NOT NULL DEFAULT 1,
	acked_at        timestamptz
);
