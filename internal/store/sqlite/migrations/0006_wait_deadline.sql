-- 0006: the deadline of a node run that waits for a completion from outside
-- (a KAFKA node, an async WEBHOOK with timeoutSeconds), so that the wait
-- ends at its deadline even across a restart, with no goroutine per waiting
-- node run: the server asks for the expired ones (ExpiredWaits). NULL: no
-- deadline. wait_continue is 1 when the node's onTimeout is "continue" (it
-- then succeeds with {"timeout": true}) and 0 when it fails.
ALTER TABLE node_runs ADD COLUMN wait_deadline INTEGER;
ALTER TABLE node_runs ADD COLUMN wait_continue INTEGER NOT NULL DEFAULT 0;

-- Only waiting node runs with a deadline are indexed: completing a node run
-- clears waiting, which takes it out of the index.
CREATE INDEX node_runs_wait_deadline ON node_runs (wait_deadline) WHERE waiting = 1 AND wait_deadline IS NOT NULL;
