package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// TestCreateFirstClientShared races the first client's creation across
// separate stores (each its own pools, as separate processes have) opened
// on one new file.
func TestCreateFirstClientShared(t *testing.T) {
	storetest.RunClientBootstrapShared(t, openShared)
}

// openShared opens n separate stores (each its own connections, as
// separate processes have) on one new, empty file, for the races
// of storetest's Run...Shared.
func openShared(t *testing.T, n int) []store.Store {
	path := filepath.Join(t.TempDir(), "sluice.db")
	stores := make([]store.Store, n)
	for i := range stores {
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		stores[i] = s
	}
	return stores
}
