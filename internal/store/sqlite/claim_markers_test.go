package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// TestClaimMarkersUpgrade undoes migration 0017 on a store holding runs as
// the previous version left them, applies it again (found by name, so the
// test survives a renumbering), and checks that it marks the run that
// needed a driver and had no row, and only it.
func TestClaimMarkersUpgrade(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{})
	var err error
	now := time.Now()
	runs := []struct {
		id      string
		lease   bool
		waiting bool
		done    bool
	}{
		{id: "wfr_orphan"},                 // no row, not waiting: the upgrade marks it
		{id: "wfr_waiting", waiting: true}, // waits: no row
		{id: "wfr_leased", lease: true},    // driven by a live process
		{id: "wfr_done", done: true},       // finished
	}
	for _, r := range runs {
		run := store.Run{Identifier: r.id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: now}
		first := store.NodeRun{Identifier: r.id + "_0", RunID: r.id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: now}
		if r.lease {
			err = s.CreateRunLeased(ctx, run, first, nil, store.Lease{Owner: "proc-a", Until: now.Add(time.Hour)})
		} else {
			err = s.CreateRun(ctx, run, first, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.waiting {
			if err := s.Apply(ctx, store.Transition{RunID: r.id, Wait: first.Identifier}); err != nil {
				t.Fatal(err)
			}
		}
		if r.done {
			if err := s.Apply(ctx, store.Transition{RunID: r.id, Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return strings.HasSuffix(m.name, "_claim_markers.sql") })
	if i < 0 {
		t.Fatal("no migration *_claim_markers.sql")
	}
	for _, q := range []string{
		`DROP TRIGGER node_runs_needs_driver`,
		`DROP INDEX IF EXISTS run_leases_expiry`, // 0019 dropped it again
		`ALTER TABLE run_leases DROP COLUMN redrive`,
		ms[i].sql,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer s.Close()
	got, err := s.ClaimRuns(ctx, store.Lease{Owner: "proc-b", Until: now.Add(time.Minute)}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"wfr_orphan"}; !slices.Equal(got, want) {
		t.Errorf("ClaimRuns after the upgrade = %v, want %v", got, want)
	}
}
