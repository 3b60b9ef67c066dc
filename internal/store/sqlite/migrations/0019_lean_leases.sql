-- 0019: fewer B-trees written per run (docs/performance.md, "Fifth look").
-- Every run inserts its lease row when it is created and deletes it when it
-- finishes; with the row's rowid table, its primary-key index and the
-- owner and expiry indexes, that was four B-trees written twice per run,
-- 22 % of the WAL frames under the load harness. SQLite has one process
-- per data dir (its lock), so the table holds only that process's
-- in-flight runs and the markers of runs waiting to be claimed (0017): a
-- claim or a renewal reads it whole at less cost than four indexes cost
-- every run. One B-tree now: the rows keyed by run_id, WITHOUT ROWID.
--
-- runs_newest (created_at DESC, seq DESC) has served no query since run
-- lists page by (created_at, identifier) through runs_keyset (0010).
DROP INDEX runs_newest;

-- The triggers that write run_leases go while the table is rebuilt (a
-- rename checks every trigger's body), and come back unchanged.
DROP TRIGGER node_runs_needs_driver;
DROP TRIGGER runs_finished_unleased;
ALTER TABLE run_leases RENAME TO run_leases_0018;
CREATE TABLE run_leases (
	run_id     TEXT    PRIMARY KEY REFERENCES runs (identifier),
	owner      TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	redrive    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO run_leases (run_id, owner, expires_at, redrive)
SELECT run_id, owner, expires_at, redrive FROM run_leases_0018;
DROP TABLE run_leases_0018;

CREATE TRIGGER node_runs_needs_driver AFTER UPDATE OF status, waiting ON node_runs
WHEN OLD.waiting AND OLD.status = 'IN_PROGRESS' AND NOT (NEW.waiting AND NEW.status = 'IN_PROGRESS')
BEGIN
	INSERT INTO run_leases (run_id, owner, expires_at, redrive)
	SELECT NEW.run_id, '', 0, 1 WHERE EXISTS (SELECT 1 FROM runs WHERE identifier = NEW.run_id AND status = 'IN_PROGRESS')
	ON CONFLICT (run_id) DO UPDATE SET redrive = 1;
END;

CREATE TRIGGER runs_finished_unleased AFTER UPDATE OF status ON runs
WHEN OLD.status = 'IN_PROGRESS' AND NEW.status <> 'IN_PROGRESS'
BEGIN
	DELETE FROM run_leases WHERE run_id = NEW.identifier;
END;
