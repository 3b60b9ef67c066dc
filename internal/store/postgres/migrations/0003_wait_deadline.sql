-- 0003: the deadline of a node run that waits for a completion from outside
-- (the SQLite store's 0006): the wait ends at its deadline even across a
-- restart, with no goroutine per waiting node run (store.WaitStore). NULL:
-- no deadline. wait_continue: the node's onTimeout is "continue" (it then
-- succeeds with {"timeout": true}) rather than failing.
ALTER TABLE node_runs ADD COLUMN wait_deadline timestamptz;
ALTER TABLE node_runs ADD COLUMN wait_continue boolean NOT NULL DEFAULT false;

-- Only waiting node runs with a deadline are indexed: completing a node run
-- clears waiting, which takes it out of the index.
CREATE INDEX node_runs_wait_deadline ON node_runs (wait_deadline) WHERE waiting AND wait_deadline IS NOT NULL;
