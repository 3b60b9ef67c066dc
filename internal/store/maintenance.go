package store

import (
	"context"
	"time"
)

// Retainer is implemented by stores that can delete old data, for the
// retention settings of serve (--retain-runs, --retain-audit;
// docs/decisions/017-backup-and-retention.md). It is apart from Store so
// that a store adds it on its own schedule; serve refuses a retention
// setting on a store without it.
type Retainer interface {
	// DeleteRunsBefore deletes at most limit runs (limit <= 0 means 100)
	// that are COMPLETED and completed before the given time, oldest
	// first, each with everything kept under it: node runs, their logs,
	// inputs and responses, integration claims and catalog depths. A run
	// IN_PROGRESS is never deleted, however old. Audit events are not
	// touched (they have their own retention). It returns how many runs
	// it deleted; fewer than limit means none is left to delete.
	DeleteRunsBefore(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteAuditBefore deletes at most limit audit events (limit <= 0
	// means 100) created before the given time, oldest first, and
	// returns how many.
	DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error)
}

// Backuper is implemented by stores that can write a consistent copy of
// themselves to a file while they are in use (the SQLite store, with
// VACUUM INTO). The PostgreSQL store does not: pg_dump does it.
type Backuper interface {
	// Backup writes a consistent copy of the store to path, which must not
	// exist; it fails with ErrExists when it does, writing nothing.
	Backup(ctx context.Context, path string) error
}
