-- 0004: how many times the engine began executing a node run. It is
-- incremented in its own commit before each execution, so a node run whose
-- execution keeps killing the process is failed after a bound instead of
-- being retried forever on every restart.
ALTER TABLE node_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
