-- 0005: INPUT nodes (the SQLite store's 0007). An input is the request of an
-- INPUT node run (its description and form as rendered, redacted); its
-- responses are one per responder. outlet is set, once, by the response
-- that makes an outlet reach its count (store.InputStore.Respond): a node
-- run whose input has an outlet takes no more responses.
CREATE TABLE inputs (
	node_run_id text        COLLATE "C" PRIMARY KEY REFERENCES node_runs (identifier),
	run_id      text        COLLATE "C" NOT NULL,
	prompt      bytea       NOT NULL,
	outlet      text,
	created_at  timestamptz NOT NULL
);

-- The inputs that are decided or still open, for the server's checks.
CREATE INDEX inputs_outlet ON inputs (outlet, created_at);

CREATE TABLE input_responses (
	node_run_id  text        COLLATE "C" NOT NULL REFERENCES inputs (node_run_id),
	seq          integer     NOT NULL,
	responder_id text        COLLATE "C" NOT NULL,
	email        text        NOT NULL,
	first_name   text        NOT NULL,
	last_name    text        NOT NULL,
	button       text        NOT NULL,
	inputs       bytea       NOT NULL,
	responded_at timestamptz NOT NULL,
	PRIMARY KEY (node_run_id, seq),
	UNIQUE (node_run_id, responder_id)
);
