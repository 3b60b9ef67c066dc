package postgres

import (
	"context"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// TestCreateFirstClientShared races the first client's creation across
// separate stores (each its own connection pool, as separate processes
// have) opened on one new schema.
func TestCreateFirstClientShared(t *testing.T) {
	storetest.RunClientBootstrapShared(t, openShared)
}

// openShared opens n separate stores (each its own connections, as
// separate processes have) on one new, empty database, for the races
// of storetest's Run...Shared.
func openShared(t *testing.T, n int) []store.Store {
	url := pgtest.URL(t)
	stores := make([]store.Store, n)
	for i := range stores {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		stores[i] = s
	}
	return stores
}
