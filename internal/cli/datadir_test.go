package cli

import (
	"path/filepath"
	"testing"

	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// dataDir returns a new data dir that already holds a migrated, empty
// sluice.db (sqlitetest.Prepare), for tests whose command creates the
// store anyway: in-process or in a `sluice serve` child, a fresh
// sqlite.Open applies every migration, about a second under the race
// detector, the most expensive step of such a test. The store the command
// opens is the one it would have created (sqlitetest's
// TestTemplateIsAFreshStore); tests of what happens on an empty data dir
// (TestDemo, the data dir lock, credentials created at start, backup's "no
// store") keep t.TempDir().
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := sqlitetest.Prepare(filepath.Join(dir, "sluice.db")); err != nil {
		t.Fatal(err)
	}
	return dir
}
