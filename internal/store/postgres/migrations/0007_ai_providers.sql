-- 0007: AI providers, the OpenAI-compatible endpoints that AI nodes call
-- (SQLite's 0011): the NAME of the secret holding the API key (never a
-- key), the default model, extra headers (a JSON object), and at most one
-- default provider (the partial unique index). docs/ai.md.
CREATE TABLE ai_providers (
	name           text        COLLATE "C" PRIMARY KEY,
	base_url       text        NOT NULL,
	api_key_secret text        NOT NULL DEFAULT '',
	model          text        NOT NULL,
	headers        jsonb       NOT NULL DEFAULT '{}',
	is_default     boolean     NOT NULL DEFAULT false,
	created_by     text        NOT NULL DEFAULT '',
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL
);

CREATE UNIQUE INDEX ai_providers_one_default ON ai_providers (is_default) WHERE is_default;
