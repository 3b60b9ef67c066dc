-- 0010: run visibility in the query, and keyset paging of run lists.
--
-- Each workflow version records whether anyone may view its runs
-- (allowAnyoneToViewRuns, true when the definition does not say), so that a
-- run list for a caller who may not view every run is filtered by the query
-- itself (store.RunFilter.Viewer), not by the server run by run. Existing
-- versions are filled from their definition.
ALTER TABLE workflows ADD COLUMN allow_anyone_to_view_runs INTEGER NOT NULL DEFAULT 1;
UPDATE workflows SET allow_anyone_to_view_runs = 0
	WHERE json_valid(CAST(definition AS TEXT))
	  AND json_type(CAST(definition AS TEXT), '$.allowAnyoneToViewRuns') = 'false';

-- The runs of one workflow version, for the visible runs of public versions.
CREATE INDEX runs_version ON runs (workflow_id, workflow_version);
-- Run lists are ordered, and paged by keyset, on (created_at, identifier).
CREATE INDEX runs_keyset ON runs (created_at DESC, identifier DESC);
