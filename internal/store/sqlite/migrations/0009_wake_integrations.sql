-- 0009: node runs that wait may ask to be woken (an INTEGRATION_ACTION that
-- polls its provider's run) with the state their executor saved (redacted:
-- a provider run id and URL), and may wait for an external integration
-- (wait_for = 'integration:<installation id>'); installations, and the claims
-- of external integrations (who claimed a node run, until when, and whether
-- it was acknowledged; never the configuration the claim returned).
-- docs/decisions/012-wake-and-handoff.md.
ALTER TABLE node_runs ADD COLUMN wake_at INTEGER;
ALTER TABLE node_runs ADD COLUMN wait_state TEXT;
ALTER TABLE node_runs ADD COLUMN wait_for TEXT;

-- Only waiting node runs are indexed: completing a node run clears waiting.
CREATE INDEX node_runs_wake_at ON node_runs (wake_at) WHERE waiting = 1 AND wake_at IS NOT NULL;
CREATE INDEX node_runs_wait_for ON node_runs (wait_for, created_at) WHERE waiting = 1 AND wait_for IS NOT NULL;

CREATE TABLE integrations (
	id           TEXT PRIMARY KEY,
	provider     TEXT NOT NULL,
	base_url     TEXT NOT NULL DEFAULT '',
	token_secret TEXT NOT NULL DEFAULT '',
	external     INTEGER NOT NULL DEFAULT 0,
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);

CREATE TABLE integration_claims (
	node_run_id     TEXT PRIMARY KEY,
	run_id          TEXT NOT NULL,
	installation_id TEXT NOT NULL,
	claimed_by      TEXT NOT NULL,
	claimed_until   INTEGER NOT NULL,
	claims          INTEGER NOT NULL DEFAULT 1,
	acked_at        INTEGER
);
