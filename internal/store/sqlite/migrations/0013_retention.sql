-- 0013: retention (store.Retainer, docs/decisions/017-backup-and-retention.md).
-- Audit events are deleted oldest first by creation time, in small batches:
-- without this index every batch would scan the whole table. Runs need no
-- index of their own: runs_status (status, created_at, seq) finds the
-- completed ones created before the cutoff.
CREATE INDEX audit_events_created ON audit_events (created_at, id);
