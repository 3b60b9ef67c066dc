-- 0016: the W3C traceparent a run-creation request carried (SQLite's 0020),
-- so that every process reporting the run's spans puts them in the caller's
-- trace (docs/decisions/029-joining-the-callers-trace.md). NULL: the run is
-- the root of a trace of its own.
ALTER TABLE runs ADD COLUMN trace_parent text;
