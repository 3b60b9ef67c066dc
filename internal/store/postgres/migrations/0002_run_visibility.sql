-- 0002: run visibility in the query, and keyset paging of run lists (the
-- SQLite store's 0010).
--
-- Each workflow version records whether anyone may view its runs
-- (allowAnyoneToViewRuns, true when the definition does not say), filled
-- when a version is saved, so that store.RunFilter.Viewer filters in the
-- query. Existing versions are filled from their definition; one that is
-- not a JSON object counts as true, like the default.
ALTER TABLE workflows ADD COLUMN allow_anyone_to_view_runs boolean NOT NULL DEFAULT true;
DO $$
DECLARE
	w record;
BEGIN
	FOR w IN SELECT identifier, version, definition FROM workflows LOOP
		BEGIN
			IF jsonb_typeof(convert_from(w.definition, 'UTF8')::jsonb) = 'object'
				AND convert_from(w.definition, 'UTF8')::jsonb -> 'allowAnyoneToViewRuns' = 'false'::jsonb THEN
				UPDATE workflows SET allow_anyone_to_view_runs = false
					WHERE identifier = w.identifier AND version = w.version;
			END IF;
		EXCEPTION WHEN others THEN
			NULL; -- not JSON: public, like the default
		END;
	END LOOP;
END
$$;

-- The runs of one workflow version, for the visible runs of public versions.
CREATE INDEX runs_version ON runs (workflow_id, workflow_version);

-- Run lists are ordered, and paged by keyset, on (created_at, identifier):
-- the identifier, not the insertion order, breaks ties, so that a cursor
-- (store.RunCursor) names a position.
DROP INDEX runs_newest;
DROP INDEX runs_workflow;
DROP INDEX runs_created_by;
CREATE INDEX runs_keyset     ON runs (created_at DESC, identifier DESC);
CREATE INDEX runs_workflow   ON runs (workflow_id, created_at DESC, identifier DESC);
CREATE INDEX runs_created_by ON runs (created_by, created_at DESC, identifier DESC);
