-- 0018: a run that finishes loses its row in run_leases in the transaction
-- that finishes it (PostgreSQL's 0014). A finished run needs no driver, so
-- the driver that finished it need not release its lease in a transaction
-- of its own: that release was one more write per run, 19 % of sluice's
-- CPU under the load harness (docs/performance.md, "Fourth look").
CREATE TRIGGER runs_finished_unleased AFTER UPDATE OF status ON runs
WHEN OLD.status = 'IN_PROGRESS' AND NEW.status <> 'IN_PROGRESS'
BEGIN
	DELETE FROM run_leases WHERE run_id = NEW.identifier;
END;

-- Rows of runs finished before this migration.
DELETE FROM run_leases WHERE NOT EXISTS
	(SELECT 1 FROM runs r WHERE r.identifier = run_leases.run_id AND r.status = 'IN_PROGRESS');
