package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
)

func (a *app) backupCmd() *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:     "backup --to FILE",
		GroupID: groupLocal,
		Short:   "Write a consistent copy of the SQLite store to FILE, while serve runs or not",
		Long: `Backup writes a consistent copy of the embedded SQLite store of --data-dir
to FILE (VACUUM INTO): every run, definition, secret and credential
committed before it began, and nothing after, while serve goes on running
and writing. FILE must not exist; it is written beside its final name and
appears only once complete, with mode 0600.

The master key is NOT in the copy: the secrets in it are sealed with the
key, and without the key the copy's secrets cannot be read. Keep the key
(<data-dir>/master.key, or what SLUICE_MASTER_KEY / SLUICE_MASTER_KEY_FILE
give) apart from the backups, as safely as the backups themselves.

On PostgreSQL (--database-url) backup does nothing: use pg_dump, as
docs/operating.md shows. Restoring: docs/operating.md.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if to == "" {
				return invalid("--to: the file to write the backup to is required")
			}
			if a.storeURL() != "" {
				return invalid("backup: the store is PostgreSQL (--database-url or SLUICE_DATABASE_URL): sluice backup copies the SQLite store only; take a consistent copy with pg_dump --format=custom (docs/operating.md)")
			}
			if _, err := os.Lstat(to); err == nil {
				return invalid("--to %s: the file exists; a backup never replaces a file", to)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return invalid("--to %s: %w", to, err)
			}
			if fi, err := os.Stat(filepath.Dir(to)); err != nil || !fi.IsDir() {
				return invalid("--to %s: the directory %s does not exist", to, filepath.Dir(to))
			}
			db := filepath.Join(a.dataDir, "sluice.db")
			if _, err := os.Stat(db); err != nil {
				return invalid("--data-dir %s: no store to back up (%s: %w)", a.dataDir, db, errors.Unwrap(err))
			}
			// The file as it is, not opened as a store: opening would
			// migrate it under a serve of another version.
			if err := sqlite.BackupFile(c.Context(), db, to); err != nil {
				if errors.Is(err, store.ErrExists) {
					return invalid("--to %s: %w", to, err)
				}
				return err
			}
			size := int64(0)
			if fi, err := os.Stat(to); err == nil {
				size = fi.Size()
			}
			fmt.Fprintf(a.io.Stdout, "backed up %s to %s (%d bytes)\n", db, to, size)
			fmt.Fprintf(a.io.Stdout, "The master key is NOT in the backup; without it the secrets in the backup cannot be read. Back it up apart: %s\n", a.keyWhere())
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "file to write the copy to (must not exist)")
	return c
}

// keyWhere says where this process's master key lives, for backup.
func (a *app) keyWhere() string {
	switch {
	case a.io.Getenv("SLUICE_MASTER_KEY") != "":
		return "it comes from SLUICE_MASTER_KEY in the environment"
	case a.io.Getenv("SLUICE_MASTER_KEY_FILE") != "":
		return "the file SLUICE_MASTER_KEY_FILE names, " + a.io.Getenv("SLUICE_MASTER_KEY_FILE")
	}
	return filepath.Join(a.dataDir, secret.DefaultKeyFileName)
}
