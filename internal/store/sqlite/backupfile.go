package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// BackupFile is Store.Backup of the database at path without opening it
// as a store: nothing is migrated, so a backup taken with another version
// of sluice (a newer binary before an upgrade, while the older serve still
// runs) copies the store as it is and leaves its schema alone. The database
// must exist.
func BackupFile(ctx context.Context, path, to string) error {
	if path == "" {
		return errors.New("sqlite: backup: empty path")
	}
	if fi, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: backup %s: %w", path, err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("sqlite: backup %s: not a file: %w", path, fs.ErrInvalid)
	}
	s := &Store{path: path}
	return s.Backup(ctx, to)
}
