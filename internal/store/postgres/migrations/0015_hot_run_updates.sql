-- 0015: a run's finish and a node run's completion become HOT updates
-- (heap-only tuples: the new row version goes on the same page and no
-- index gets an entry), measured in docs/performance.md ("PostgreSQL: a
-- cheaper write per run").
--
-- PostgreSQL updates a row HOT only when no indexed column changes (columns
-- in a partial index's predicate count too) and the page has room. The
-- finish sets runs.status, which runs_status indexed, so every finish wrote
-- a new entry into each of the seven indexes of runs. Without it, status is
-- in no index of runs. What read it:
-- - the retention query (COMPLETED runs created and completed before a
--   cutoff, oldest first) walks runs_keyset from its old end and skips the
--   few runs still IN_PROGRESS;
-- - a run list filtered by status walks runs_keyset newest first, as an
--   unfiltered list does (the runs IN_PROGRESS are the newest, mostly), and
--   its count reads the rows, as an unfiltered count does;
-- - ListInProgressRuns (a process that does not lease runs; sluice serve
--   and sluice worker on PostgreSQL always do) reads the table.
DROP INDEX runs_status;

-- Room on each page for the new versions of the rows inserted there: a run
-- is updated once (its finish), a node run once or twice (its completion,
-- a wait), soon after the insert, while the page is still hot. It applies
-- to pages filled from now on.
ALTER TABLE runs SET (fillfactor = 70);
ALTER TABLE node_runs SET (fillfactor = 80);
