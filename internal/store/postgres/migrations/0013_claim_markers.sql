-- 0013: the claim tick reads an index, not every unfinished run (SQLite's
-- 0017; docs/decisions/023-leases-and-takeover.md, "2026-11-29: the claim
-- reads an index"). Invariant: every IN_PROGRESS run that does not wait on
-- the outside has a row in run_leases: a live lease (its driver), an
-- expired one (its driver died), or a marker (owner '', expires_at the
-- epoch: it needs a driver). A run that waits has none. So ClaimRuns reads
-- the rows whose expires_at has passed through run_leases_expiry, and the
-- runs that wait cost it nothing.
--
-- redrive says a waiting node run of the run completed while the row was
-- held: the holder's release keeps the row (as a marker) instead of
-- deleting it, even if its snapshot saw the run waiting (the release's
-- DELETE re-checks redrive on the row's newest version).
ALTER TABLE run_leases ADD COLUMN redrive boolean NOT NULL DEFAULT false;
CREATE INDEX run_leases_expiry ON run_leases (expires_at);

-- Runs left without a row by the previous version: unfinished, not
-- waiting, nobody's lease.
INSERT INTO run_leases (run_id, owner, expires_at, redrive)
SELECT r.identifier, '', 'epoch', true FROM runs r
WHERE r.status = 'IN_PROGRESS'
AND NOT EXISTS (SELECT 1 FROM run_leases l WHERE l.run_id = r.identifier)
AND NOT EXISTS (SELECT 1 FROM node_runs n WHERE n.run_id = r.identifier AND n.status = 'IN_PROGRESS' AND n.waiting);

-- A node run that stops waiting (completed by an outside answer, an
-- expired deadline, a wake's poll) makes its run need a driver: the marker
-- is written in the transaction of that transition, whatever path commits
-- it, so a process killed between that commit and its drive leaves the run
-- where the next claim finds it. DO UPDATE (not DO NOTHING) locks the row,
-- so a concurrent release waits for this transaction and sees redrive.
-- Other updates of node_runs (a step's completion of a node run that did
-- not wait) do not fire it (the WHEN is checked without calling it). The
-- function keeps the schema it was created in (search_path FROM CURRENT).
CREATE FUNCTION sluice_run_needs_driver() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	INSERT INTO run_leases (run_id, owner, expires_at, redrive)
	SELECT NEW.run_id, '', 'epoch', true WHERE EXISTS (SELECT 1 FROM runs WHERE identifier = NEW.run_id AND status = 'IN_PROGRESS')
	ON CONFLICT (run_id) DO UPDATE SET redrive = true;
	RETURN NULL;
END
$$;

CREATE TRIGGER node_runs_needs_driver AFTER UPDATE OF status, waiting ON node_runs
FOR EACH ROW
WHEN (OLD.waiting AND OLD.status = 'IN_PROGRESS' AND NOT (NEW.waiting AND NEW.status = 'IN_PROGRESS'))
EXECUTE FUNCTION sluice_run_needs_driver();
