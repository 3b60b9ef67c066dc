package cli

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// TestBackupLeavesTheSchemaAlone: sluice backup copies the store as it is.
// Taken with a newer binary before an upgrade (while the older serve still
// runs on it), it must not migrate the live database, which the older
// serve would then run on; nor may a store newer than the binary be
// refused. The copy holds the schema of the source.
func TestBackupLeavesTheSchemaAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// edit makes the store look written by another version of sluice.
		edit string
	}{
		{"older store", `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`},
		{"newer store", `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db := filepath.Join(dir, "sluice.db")
			st, err := sqlitetest.Open(ctx, db, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			before := schemaVersion(t, db, tc.edit)
			dst := filepath.Join(t.TempDir(), "backup.db")
			r := sluice(t, "", "backup", "--data-dir", dir, "--to", dst)
			if r.code != 0 {
				t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if got := schemaVersion(t, db, ""); got != before {
				t.Errorf("the live store's schema version went from %d to %d during the backup", before, got)
			}
			if got := schemaVersion(t, dst, ""); got != before {
				t.Errorf("the copy's schema version = %d, want the source's %d", got, before)
			}
		})
	}
}

// schemaVersion runs edit (when set) on the database at path, then reads
// its schema version.
func schemaVersion(t *testing.T, path, edit string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if edit != "" {
		if _, err := db.Exec(edit); err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := db.QueryRow(`SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
