-- 0007: INPUT nodes. An input is the request of an INPUT node run (its
-- description and form as rendered, redacted); its responses are one per
-- responder. outlet is set, once, by the response that makes an outlet
-- reach its count (store.InputStore.Respond): a node run whose input has an
-- outlet takes no more responses. Times are INTEGER nanoseconds (UTC).
CREATE TABLE inputs (
	node_run_id TEXT    PRIMARY KEY REFERENCES node_runs (identifier),
	run_id      TEXT    NOT NULL,
	prompt      BLOB    NOT NULL,
	outlet      TEXT,
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- The inputs that are decided or still open, for the server's checks.
CREATE INDEX inputs_outlet ON inputs (outlet, created_at);

CREATE TABLE input_responses (
	node_run_id  TEXT    NOT NULL REFERENCES inputs (node_run_id),
	seq          INTEGER NOT NULL,
	responder_id TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	first_name   TEXT    NOT NULL,
	last_name    TEXT    NOT NULL,
	button       TEXT    NOT NULL,
	inputs       BLOB    NOT NULL,
	responded_at INTEGER NOT NULL,
	PRIMARY KEY (node_run_id, seq),
	UNIQUE (node_run_id, responder_id)
) WITHOUT ROWID;
