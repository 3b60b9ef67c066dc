package postgres

import (
	"context"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// TestAdmitRingKeyShared races AdmitRingKey, with a different key each,
// across separate stores (each its own connections, as separate processes
// have) opened on one new database: exactly one key is recorded.
func TestAdmitRingKeyShared(t *testing.T) {
	storetest.RunRingKeysShared(t, func(t *testing.T, n int) []store.Store {
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
	})
}
