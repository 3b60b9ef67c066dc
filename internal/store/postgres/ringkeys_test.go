package postgres

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store/storetest"
)

// TestAdmitRingKeyShared races AdmitRingKey, with a different key each,
// across separate stores (each its own connections, as separate processes
// have) opened on one new database: exactly one key is recorded.
func TestAdmitRingKeyShared(t *testing.T) {
	storetest.RunRingKeysShared(t, openShared)
}
