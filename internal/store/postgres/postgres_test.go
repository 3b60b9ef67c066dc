package postgres

import (
	"context"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// open opens a store on a new schema of the test server.
func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}
