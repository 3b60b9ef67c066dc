-- 0009: retention (store.Retainer, docs/decisions/017-backup-and-retention.md;
-- the SQLite store's 0013). Audit events are deleted oldest first by
-- creation time, in small batches: without this index every batch would
-- scan the whole table. Runs use runs_status (status, created_at, seq).
CREATE INDEX audit_events_created ON audit_events (created_at, id);
