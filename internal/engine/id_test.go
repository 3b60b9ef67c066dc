package engine

import (
	"strings"
	"testing"
	"time"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 2000; i++ {
		id := newID("wfnr_", base.Add(time.Duration(i)*time.Millisecond))
		if len(id) != len("wfnr_")+16 || !strings.HasPrefix(id, "wfnr_") {
			t.Fatalf("id %q: want wfnr_ + 16 characters", id)
		}
		for _, c := range id[len("wfnr_"):] {
			if !strings.ContainsRune(idAlphabet, c) {
				t.Fatalf("id %q holds %q, not an alphanumeric", id, c)
			}
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		// Identifiers of later milliseconds sort after earlier ones, so
		// the store's indexes append at their right edge.
		if id[:len("wfnr_")+7] < prev {
			t.Fatalf("id %q sorts before the earlier %q", id, prev)
		}
		prev = id[:len("wfnr_")+7]
	}
	if a, b := NewRunID(), NewRunID(); a == b || !strings.HasPrefix(a, "wfr_") || len(a) != 20 {
		t.Errorf("NewRunID: %q %q", a, b)
	}
}
