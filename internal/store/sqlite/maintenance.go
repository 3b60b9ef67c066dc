package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var (
	_ store.Retainer = (*Store)(nil)
	_ store.Backuper = (*Store)(nil)
)

// defaultRetainLimit is the batch size of DeleteRunsBefore and
// DeleteAuditBefore when the caller gives none.
const defaultRetainLimit = 100

// maxRetainLimit bounds one batch, so that one transaction never holds the
// writer for long.
const maxRetainLimit = 1000

func retainLimit(limit int) int {
	switch {
	case limit <= 0:
		return defaultRetainLimit
	case limit > maxRetainLimit:
		return maxRetainLimit
	}
	return limit
}

// runChildren are the deletes of what is kept under the runs whose
// identifiers are the JSON array ?1, children before parents (foreign keys
// are on). The node runs' identifiers are looked up through node_runs'
// primary key (run_id, seq).
var runChildren = []string{
	`DELETE FROM input_responses WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id IN (SELECT value FROM json_each(?1)))`,
	`DELETE FROM inputs WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id IN (SELECT value FROM json_each(?1)))`,
	`DELETE FROM integration_claims WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id IN (SELECT value FROM json_each(?1)))`,
	`DELETE FROM node_run_logs WHERE node_run_id IN (SELECT n.identifier FROM node_runs n WHERE n.run_id IN (SELECT value FROM json_each(?1)))`,
	`DELETE FROM node_runs WHERE run_id IN (SELECT value FROM json_each(?1))`,
	`DELETE FROM catalog_run_depths WHERE run_id IN (SELECT value FROM json_each(?1))`,
	`DELETE FROM runs WHERE identifier IN (SELECT value FROM json_each(?1))`,
}

// DeleteRunsBefore deletes at most limit COMPLETED runs completed before
// the given time, oldest first, with everything under them, in one
// transaction. The runs are found through runs_status (status, created_at):
// a run completed before t was created before it too.
func (s *Store) DeleteRunsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = retainLimit(limit)
	t := before.UnixNano()
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT identifier FROM runs
			WHERE status = 'COMPLETED' AND created_at < ?1 AND completed_at < ?1
			ORDER BY created_at, seq LIMIT ?2`, t, limit)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		for _, q := range runChildren {
			if _, err := tx.ExecContext(ctx, q, string(list)); err != nil {
				return fmt.Errorf("%.40s...: %w", q, err)
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete runs completed before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// DeleteAuditBefore deletes at most limit audit events created before the
// given time, oldest first (index audit_events_created, migration 0013).
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = retainLimit(limit)
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE created_at < ? ORDER BY created_at, id LIMIT ?)`, before.UnixNano(), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete audit events before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}

// Backup writes a consistent copy of the database to path with VACUUM INTO,
// on a connection of its own: WAL lets the writer go on meanwhile, and the copy
// is the snapshot the statement's read transaction sees, every commit
// before it and none after. The copy is written to a temporary file beside
// path, synced, then linked to path, so that path never holds a partial
// copy and an existing file is never replaced (store.ErrExists).
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := s.backup(ctx, path); err != nil {
		return fmt.Errorf("sqlite: backup %s to %s: %w", s.path, path, err)
	}
	return nil
}

func (s *Store) backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: the file is there already (a backup never replaces a file)", store.ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	tmpf, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return err
	}
	tmp := tmpf.Name()
	tmpf.Close()
	// VACUUM INTO wants a file that is missing or empty: it is empty.
	defer os.Remove(tmp)
	// A connection of its own: the read pool's are query_only, which
	// VACUUM INTO refuses, and the writer must stay free for the engine.
	// Outside a transaction the statement reads one snapshot; it takes no
	// write lock on the store.
	db, err := sql.Open("sqlite", dsn(s.path, SyncNormal, DefaultBusyTimeout, false))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return transient(fmt.Errorf("vacuum into: %w", err))
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Link fails when path appeared meanwhile: nothing is replaced.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: the file appeared during the backup (a backup never replaces a file)", store.ErrExists)
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the new name, durably; best effort on filesystems that refuse
		d.Close()
	}
	return nil
}
