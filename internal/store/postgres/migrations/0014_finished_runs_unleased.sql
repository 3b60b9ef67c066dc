-- 0014: a run that finishes loses its row in run_leases in the transaction
-- that finishes it (SQLite's 0018). A finished run needs no driver, so the
-- driver that finished it need not release its lease in a statement of its
-- own: that release was one more write per run (docs/performance.md,
-- "Fourth look"). The function keeps the schema it was created in
-- (search_path FROM CURRENT).
CREATE FUNCTION sluice_run_finished_unleased() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	DELETE FROM run_leases WHERE run_id = NEW.identifier;
	RETURN NULL;
END
$$;

CREATE TRIGGER runs_finished_unleased AFTER UPDATE OF status ON runs
FOR EACH ROW
WHEN (OLD.status = 'IN_PROGRESS' AND NEW.status <> 'IN_PROGRESS')
EXECUTE FUNCTION sluice_run_finished_unleased();

-- Rows of runs finished before this migration.
DELETE FROM run_leases l WHERE NOT EXISTS
	(SELECT 1 FROM runs r WHERE r.identifier = l.run_id AND r.status = 'IN_PROGRESS');
