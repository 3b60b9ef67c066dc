-- 0011: AI providers, the OpenAI-compatible endpoints that AI nodes call:
-- the NAME of the secret holding the API key (never a key), the default
-- model, extra headers (JSON object), and at most one default provider
-- (the partial unique index). docs/ai.md.
CREATE TABLE ai_providers (
	name           TEXT PRIMARY KEY,
	base_url       TEXT NOT NULL,
	api_key_secret TEXT NOT NULL DEFAULT '',
	model          TEXT NOT NULL,
	headers        TEXT NOT NULL DEFAULT '{}',
	is_default     INTEGER NOT NULL DEFAULT 0,
	created_by     TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);

CREATE UNIQUE INDEX ai_providers_one_default ON ai_providers (is_default) WHERE is_default = 1;
