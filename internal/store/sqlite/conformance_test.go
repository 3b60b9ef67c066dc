package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// TestConformance runs the conformance suite on stores opened on copies
// of a migrated database (sqlitetest), not migrated one by one: the
// migrations themselves are tested from scratch by TestReopen and the
// other tests of this package.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlitetest.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
