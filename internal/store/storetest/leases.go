package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testLeases checks store.LeaseStore, for stores that implement it; others
// skip it. Times are the suite's at(i): a lease until at(10) is live at
// at(9) and expired at at(10).
func testLeases(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.LeaseStore); !ok {
		t.Skip("the store does not implement store.LeaseStore")
	}
	leased := func(t *testing.T, s store.Store, id, owner string, until int) {
		t.Helper()
		r := newRun(id, "deploy", "ann", 0)
		first := newNodeRun(id+"_0", id, "trigger", 0, 0)
		must(t, "CreateRunLeased "+id, s.(store.LeaseStore).CreateRunLeased(ctx(t), r, first, nil, store.Lease{Owner: owner, Until: at(until)}))
	}
	owner := func(t *testing.T, s store.Store, id string) string {
		t.Helper()
		l, err := s.(store.LeaseStore).GetLease(ctx(t), id)
		if err != nil {
			t.Fatalf("GetLease %s: %v", id, err)
		}
		return l.Owner
	}
	acquire := func(t *testing.T, s store.Store, id, who string, until, now int) bool {
		t.Helper()
		ok, err := s.(store.LeaseStore).AcquireLease(ctx(t), id, store.Lease{Owner: who, Until: at(until)}, at(now))
		must(t, fmt.Sprintf("AcquireLease %s by %s", id, who), err)
		return ok
	}
	// claimOnly claims at at(now) as proc-z and wants exactly want.
	claimOnly := func(t *testing.T, ls store.LeaseStore, when string, now int, want ...string) {
		t.Helper()
		got, err := ls.ClaimRuns(ctx(t), store.Lease{Owner: "proc-z", Until: at(now + 100)}, at(now), 0)
		must(t, "ClaimRuns "+when, err)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("ClaimRuns %s = %v, want %v", when, got, want)
		}
	}
	claimNone := func(t *testing.T, ls store.LeaseStore, when string, now int) {
		t.Helper()
		claimOnly(t, ls, when, now)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, ls store.LeaseStore)
	}{
		{"CreateLeasesInTheSameTransaction", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			l, err := ls.GetLease(ctx(t), "wfr_a")
			must(t, "GetLease", err)
			if l.Owner != "proc-a" || !near(l.Until, at(10)) {
				t.Errorf("GetLease = %+v, want proc-a until %v", l, at(10))
			}
			if _, err := s.GetRun(ctx(t), "wfr_a"); err != nil {
				t.Fatalf("GetRun: %v", err)
			}
			// A failed creation leaves no lease behind.
			r := newRun("wfr_a", "deploy", "ann", 0)
			err = ls.CreateRunLeased(ctx(t), r, newNodeRun("wfr_a_x", "wfr_a", "trigger", 0, 0), nil, store.Lease{Owner: "proc-b", Until: at(20)})
			wantErr(t, "CreateRunLeased of a taken identifier", err, store.ErrExists)
			if got := owner(t, s, "wfr_a"); got != "proc-a" {
				t.Errorf("owner after a refused creation = %s, want proc-a", got)
			}
			_, err = ls.GetLease(ctx(t), "wfr_none")
			wantErr(t, "GetLease of a run without lease", err, store.ErrNotFound)
		}},
		{"FinishingARunDropsItsLease", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// The driver that finishes a run releases nothing: the
			// transition that finished it dropped the lease.
			for i, res := range []string{store.ResultSuccess, store.ResultFailed} {
				id := fmt.Sprintf("wfr_f%d", i)
				leased(t, s, id, "proc-a", 10)
				must(t, "Finish "+id, s.Apply(ctx(t), store.Transition{RunID: id, Finish: &store.RunCompletion{Result: res, CompletedAt: at(1)}}))
				_, err := ls.GetLease(ctx(t), id)
				wantErr(t, "GetLease of a run finished "+res, err, store.ErrNotFound)
			}
			// The lease of a run that has not finished stays, and nothing
			// of a finished run is claimed, even long after.
			leased(t, s, "wfr_live", "proc-a", 10)
			if got := owner(t, s, "wfr_live"); got != "proc-a" {
				t.Errorf("owner of an unfinished run = %q, want proc-a", got)
			}
			claimOnly(t, ls, "after the lease expired", 10, "wfr_live")
		}},
		{"AcquireRespectsLiveLeases", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			if acquire(t, s, "wfr_a", "proc-b", 20, 9) {
				t.Fatal("proc-b acquired a lease proc-a holds until at(10), at at(9)")
			}
			if got := owner(t, s, "wfr_a"); got != "proc-a" {
				t.Fatalf("owner = %s, want proc-a", got)
			}
			if !acquire(t, s, "wfr_a", "proc-a", 15, 9) {
				t.Fatal("the holder could not extend its own lease")
			}
			if acquire(t, s, "wfr_a", "proc-b", 20, 14) {
				t.Fatal("proc-b acquired before the extended lease expired")
			}
			if !acquire(t, s, "wfr_a", "proc-b", 30, 15) {
				t.Fatal("proc-b could not take over an expired lease")
			}
			if got := owner(t, s, "wfr_a"); got != "proc-b" {
				t.Fatalf("owner after takeover = %s, want proc-b", got)
			}
			// An unleased run is acquired at once.
			createRun(t, s, newRun("wfr_free", "deploy", "ann", 1))
			if !acquire(t, s, "wfr_free", "proc-a", 10, 0) {
				t.Fatal("an unleased run was not acquired")
			}
		}},
		{"AcquireErrors", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			_, err := ls.AcquireLease(ctx(t), "wfr_missing", store.Lease{Owner: "proc-a", Until: at(10)}, at(0))
			wantErr(t, "AcquireLease of a missing run", err, store.ErrNotFound)
			createRun(t, s, newRun("wfr_done", "deploy", "ann", 0))
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_done", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(1)}}))
			_, err = ls.AcquireLease(ctx(t), "wfr_done", store.Lease{Owner: "proc-a", Until: at(10)}, at(0))
			wantErr(t, "AcquireLease of a finished run", err, store.ErrConflict)
			if _, err := ls.GetLease(ctx(t), "wfr_done"); err == nil {
				t.Error("a refused AcquireLease left a lease")
			}
			_, err = ls.AcquireLease(ctx(t), "wfr_done", store.Lease{Until: at(10)}, at(0))
			if err == nil {
				t.Error("AcquireLease with an empty owner succeeded")
			}
		}},
		{"RenewOnlyWhatIsHeld", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			leased(t, s, "wfr_b", "proc-a", 10)
			leased(t, s, "wfr_c", "proc-b", 10)
			held, err := ls.RenewLeases(ctx(t), "proc-a", []string{"wfr_a", "wfr_b", "wfr_c", "wfr_missing"}, at(20))
			must(t, "RenewLeases", err)
			slices.Sort(held)
			if !slices.Equal(held, []string{"wfr_a", "wfr_b"}) {
				t.Fatalf("RenewLeases = %v, want [wfr_a wfr_b]", held)
			}
			if l, _ := ls.GetLease(ctx(t), "wfr_a"); !near(l.Until, at(20)) {
				t.Errorf("renewed lease until %v, want %v", l.Until, at(20))
			}
			if l, _ := ls.GetLease(ctx(t), "wfr_c"); l.Owner != "proc-b" || !near(l.Until, at(10)) {
				t.Errorf("another owner's lease = %+v, want proc-b until at(10)", l)
			}
			// proc-b takes wfr_b over once it expired: proc-a's next
			// heartbeat learns it lost it.
			if !acquire(t, s, "wfr_b", "proc-b", 40, 20) {
				t.Fatal("takeover of an expired lease failed")
			}
			held, err = ls.RenewLeases(ctx(t), "proc-a", []string{"wfr_a", "wfr_b"}, at(30))
			must(t, "RenewLeases after the takeover", err)
			if !slices.Equal(held, []string{"wfr_a"}) {
				t.Fatalf("RenewLeases after the takeover = %v, want [wfr_a]", held)
			}
			if held, err := ls.RenewLeases(ctx(t), "proc-a", nil, at(30)); err != nil || len(held) != 0 {
				t.Errorf("RenewLeases of nothing = %v, %v", held, err)
			}
		}},
		{"Release", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			leased(t, s, "wfr_b", "proc-a", 10)
			leased(t, s, "wfr_c", "proc-b", 10)
			must(t, "ReleaseLeases wfr_a, wfr_c", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_a", "wfr_c"}))
			if _, err := ls.GetLease(ctx(t), "wfr_a"); err == nil {
				t.Error("a released lease is still there")
			}
			if owner(t, s, "wfr_c") != "proc-b" {
				t.Error("releasing dropped another owner's lease")
			}
			// Released: another process acquires it at once.
			if !acquire(t, s, "wfr_a", "proc-b", 10, 0) {
				t.Error("a released run could not be acquired")
			}
			must(t, "ReleaseLeases of all", ls.ReleaseLeases(ctx(t), "proc-a", nil))
			if _, err := ls.GetLease(ctx(t), "wfr_b"); err == nil {
				t.Error("ReleaseLeases(nil) kept a lease")
			}
			if owner(t, s, "wfr_c") != "proc-b" || owner(t, s, "wfr_a") != "proc-b" {
				t.Error("ReleaseLeases(nil) dropped another owner's lease")
			}
		}},
		{"ClaimTakesOverWhatNobodyDrives", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_live", "proc-a", 10)
			leased(t, s, "wfr_dead", "proc-a", 5)
			// Released by a driver that gave up: it needs a driver.
			leased(t, s, "wfr_free", "proc-a", 10)
			must(t, "ReleaseLeases wfr_free", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_free"}))
			// Created without a lease (CreateRun): driven by its creator,
			// a process that does not lease, and never claimed.
			createRun(t, s, newRun("wfr_plain", "deploy", "ann", 1))
			// Waiting on the outside: no lease, never claimed.
			createRun(t, s, newRun("wfr_wait", "deploy", "ann", 2))
			nr := newNodeRun("wfr_wait_1", "wfr_wait", "publish", 1, 2)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_wait", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_wait", Wait: nr.Identifier}))
			// Finished: never claimed.
			createRun(t, s, newRun("wfr_done", "deploy", "ann", 3))
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_done", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(4)}}))
			// A run in flight whose node run is executing (not waiting)
			// is claimed once its lease expired.
			leased(t, s, "wfr_flight", "proc-a", 5)
			fl := newNodeRun("wfr_flight_1", "wfr_flight", "publish", 1, 3)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_flight", Start: &fl}))

			got, err := ls.ClaimRuns(ctx(t), store.Lease{Owner: "proc-b", Until: at(20)}, at(5), 0)
			must(t, "ClaimRuns", err)
			slices.Sort(got)
			if want := []string{"wfr_dead", "wfr_flight", "wfr_free"}; !slices.Equal(got, want) {
				t.Fatalf("ClaimRuns = %v, want %v", got, want)
			}
			for _, id := range got {
				if o := owner(t, s, id); o != "proc-b" {
					t.Errorf("owner of claimed %s = %s, want proc-b", id, o)
				}
			}
			if owner(t, s, "wfr_live") != "proc-a" {
				t.Error("a live lease was claimed")
			}
			again, err := ls.ClaimRuns(ctx(t), store.Lease{Owner: "proc-c", Until: at(20)}, at(5), 0)
			must(t, "ClaimRuns again", err)
			if len(again) != 0 {
				t.Fatalf("a second claimer got %v while the claims last", again)
			}
			// The limit, oldest first.
			later, err := ls.ClaimRuns(ctx(t), store.Lease{Owner: "proc-c", Until: at(40)}, at(20), 1)
			must(t, "ClaimRuns with a limit", err)
			if len(later) != 1 || later[0] != "wfr_live" {
				t.Fatalf("ClaimRuns(limit 1) after expiry = %v, want [wfr_live] (oldest first, now expired)", later)
			}
		}},
		{"LostHolderCannotTransitionAgain", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// proc-a drives node run _1, pauses past its lease; proc-b
			// takes over, executes _1 again and moves on. proc-a's
			// commit of the same step, when it wakes, applies nothing.
			leased(t, s, "wfr_a", "proc-a", 5)
			nr := newNodeRun("wfr_a_1", "wfr_a", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &nr}))
			if !acquire(t, s, "wfr_a", "proc-b", 20, 5) {
				t.Fatal("takeover failed")
			}
			step := func(next string) store.Transition {
				n := newNodeRun(next, "wfr_a", "notify", 2, 3)
				return store.Transition{RunID: "wfr_a",
					Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_1", Result: store.ResultSuccess, Output: redact.Reload([]byte(`{"ok":true}`)), CompletedAt: at(3)},
					Start:    &n}
			}
			must(t, "the new holder's step", s.Apply(ctx(t), step("wfr_a_2b")))
			before := takeSnapshot(t, s, "wfr_a")
			err := s.Apply(ctx(t), step("wfr_a_2a"))
			wantErr(t, "the stale holder's step", err, store.ErrConflict)
			checkSnapshot(t, "after the stale holder's refused step", takeSnapshot(t, s, "wfr_a"), before)
			held, err := ls.RenewLeases(ctx(t), "proc-a", []string{"wfr_a"}, at(30))
			must(t, "RenewLeases", err)
			if len(held) != 0 {
				t.Errorf("the stale holder still renews %v", held)
			}
		}},
		// Each way a run comes to need a driver, with its driver's process
		// killed at that point: the next claim finds the run.
		{"KilledBetweenACompletionAndItsDrive", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			nr := newNodeRun("wfr_a_1", "wfr_a", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Wait: nr.Identifier}))
			must(t, "ReleaseLeases", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_a"}))
			claimNone(t, ls, "while the run waits", 20)
			// The answer from outside is committed (by any path: the API, an
			// expired deadline, a wake) and its process dies before it
			// acquires the lease.
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_1", Result: store.ResultSuccess, Output: redact.Reload([]byte(`{"ok":true}`)), CompletedAt: at(12)}}))
			if _, err := ls.GetLease(ctx(t), "wfr_a"); err == nil {
				t.Error("a completion left a lease, not only a mark that the run needs a driver")
			}
			claimOnly(t, ls, "after the completion", 20, "wfr_a")
		}},
		{"KilledDuringADrive", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// Driven after a completion (acquired), killed mid-node.
			leased(t, s, "wfr_a", "proc-a", 10)
			nr := newNodeRun("wfr_a_1", "wfr_a", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Wait: nr.Identifier}))
			must(t, "ReleaseLeases", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_a"}))
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_1", Result: store.ResultSuccess, CompletedAt: at(12)}}))
			if !acquire(t, s, "wfr_a", "proc-b", 25, 13) {
				t.Fatal("the completion's process could not acquire the run")
			}
			next := newNodeRun("wfr_a_2", "wfr_a", "notify", 2, 14)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &next}))
			claimNone(t, ls, "while the lease lives", 24)
			claimOnly(t, ls, "once the lease expired", 25, "wfr_a")
		}},
		{"KilledHoldingAWaitingRun", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// A wait loop leased a waiting run to poll its wake, and died:
			// the run still needs no driver, and its row goes.
			leased(t, s, "wfr_a", "proc-a", 10)
			nr := newNodeRun("wfr_a_1", "wfr_a", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Wait: nr.Identifier}))
			claimNone(t, ls, "a waiting run whose lease expired", 20)
			if _, err := ls.GetLease(ctx(t), "wfr_a"); err == nil {
				t.Error("the claim kept the expired lease of a waiting run")
			}
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_1", Result: store.ResultSuccess, CompletedAt: at(21)}}))
			claimOnly(t, ls, "after the completion", 22, "wfr_a")
		}},
		{"ACompletionWhileTheRunIsHeld", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// proc-a's drive ends with the run waiting; before it
			// releases, proc-b commits the completion and cannot acquire
			// (proc-a holds it): proc-a's release leaves the run to the
			// next claim.
			leased(t, s, "wfr_a", "proc-a", 10)
			nr := newNodeRun("wfr_a_1", "wfr_a", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Wait: nr.Identifier}))
			must(t, "Complete", s.Apply(ctx(t), store.Transition{RunID: "wfr_a",
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_a_1", Result: store.ResultSuccess, CompletedAt: at(2)}}))
			if acquire(t, s, "wfr_a", "proc-b", 20, 3) {
				t.Fatal("proc-b acquired a run proc-a holds")
			}
			if o := owner(t, s, "wfr_a"); o != "proc-a" {
				t.Fatalf("the completion changed the lease: owner %s", o)
			}
			claimNone(t, ls, "while proc-a holds it", 9)
			must(t, "ReleaseLeases", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_a"}))
			claimOnly(t, ls, "after proc-a released it", 9, "wfr_a")
		}},
		{"ShutdownLeavesItsRunsToOthers", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			leased(t, s, "wfr_a", "proc-a", 10)
			leased(t, s, "wfr_b", "proc-a", 10)
			nr := newNodeRun("wfr_b_1", "wfr_b", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Wait: nr.Identifier}))
			leased(t, s, "wfr_c", "proc-a", 10)
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_c", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)}}))
			must(t, "ReleaseLeases of all", ls.ReleaseLeases(ctx(t), "proc-a", nil))
			// At once, not after the leases' expiry; the waiting and the
			// finished run need no driver.
			claimOnly(t, ls, "after the shutdown", 3, "wfr_a")
		}},
		{"FinishedRunsAreNeverClaimed", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			// A process died holding a run that had finished: its row
			// goes at the claim after its expiry.
			leased(t, s, "wfr_a", "proc-a", 10)
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)}}))
			claimNone(t, ls, "a finished run whose lease expired", 20)
			if _, err := ls.GetLease(ctx(t), "wfr_a"); err == nil {
				t.Error("the claim kept the expired lease of a finished run")
			}
			// A waiting node run completed with the run's end in one
			// transition marks nothing.
			leased(t, s, "wfr_b", "proc-a", 10)
			nr := newNodeRun("wfr_b_1", "wfr_b", "publish", 1, 1)
			must(t, "Start", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Start: &nr}))
			must(t, "Wait", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Wait: nr.Identifier}))
			must(t, "ReleaseLeases", ls.ReleaseLeases(ctx(t), "proc-a", []string{"wfr_b"}))
			must(t, "Complete and finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_b",
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_b_1", Result: store.ResultFailed, CompletedAt: at(3)},
				Finish:   &store.RunCompletion{Result: store.ResultFailed, CompletedAt: at(3)}}))
			claimNone(t, ls, "a run finished by its waiting node's end", 20)
		}},
		{"ConcurrentClaimersNeverShare", func(t *testing.T, s store.Store, ls store.LeaseStore) {
			const runs, claimers = 40, 4
			for i := range runs {
				// Leases of a process that died, expired by at(50).
				leased(t, s, fmt.Sprintf("wfr_%03d", i), "proc-dead", i)
			}
			var (
				mu  sync.Mutex
				got = map[string]string{}
				wg  sync.WaitGroup
			)
			for c := range claimers {
				who := fmt.Sprintf("proc-%d", c)
				wg.Go(func() {
					for range runs {
						ids, err := ls.ClaimRuns(ctx(t), store.Lease{Owner: who, Until: at(100)}, at(50), 3)
						if err != nil {
							t.Errorf("ClaimRuns by %s: %v", who, err)
							return
						}
						mu.Lock()
						for _, id := range ids {
							if prev, dup := got[id]; dup {
								t.Errorf("%s claimed by %s and %s", id, prev, who)
							}
							got[id] = who
						}
						mu.Unlock()
						if len(ids) == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			if len(got) != runs {
				t.Errorf("%d runs claimed, want %d", len(got), runs)
			}
			for id, who := range got {
				if o := owner(t, s, id); o != who {
					t.Errorf("%s: stored owner %s, claimer %s", id, o, who)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.run(t, s, s.(store.LeaseStore))
		})
	}
}
