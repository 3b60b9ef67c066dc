package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestWaitSurvivesAMissedRunFinished plays the notification of a run's end
// from another process being lost: the server's events come from a
// PGRelay on a real PostgreSQL, as on any serve sharing a database, and
// the run is finished in the store by nobody that publishes it (as when
// another process's NOTIFY is missed). The long poll (wait=30s) and the
// event stream must still answer with the run COMPLETED, by re-reading it,
// long before the wait's deadline.
func TestWaitSurvivesAMissedRunFinished(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	relay, err := runevents.NewPGRelay(ctx, url, pool, nil, runevents.Options{Recheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Close)
	e := newEnvWith(t, func(o *Options) { o.Events, o.OnEvent = relay, relay.OnEngineEvent })
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("deploy", e.admin)
	nr := e.waiting(runID)

	poll := make(chan answer, 1)
	stream := make(chan answer, 1)
	go func() { poll <- e.do("GET", "/v1/workflows/runs/"+runID+"?wait=30s", e.admin, nil) }()
	go func() { stream <- e.do("GET", "/v1/workflows/runs/"+runID+"/events", e.admin, nil) }()
	waitFor(t, "both subscribe", func() bool { return relay.Watchers() == 2 })
	// Each reads the run right after subscribing; give both that read
	// (two recheck periods) before the run ends, so that they wait.
	time.Sleep(400 * time.Millisecond)
	// Finished with no event published anywhere: a lost run.finished.
	now := time.Now().UTC()
	if err := e.st.Apply(ctx, store.Transition{RunID: runID,
		Complete: &store.NodeRunCompletion{NodeRunID: nr, Result: store.ResultCancelled, CompletedAt: now},
		Finish:   &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: now}}); err != nil {
		t.Fatal(err)
	}
	// 20 s is a hang guard well inside the 30 s wait: an answer after it
	// would be the deadline's, which the recheck exists to avoid.
	for _, tc := range []struct {
		name  string
		c     chan answer
		check func(t *testing.T, a answer)
	}{
		{"long poll", poll, func(t *testing.T, a answer) {
			if s := a.expect(t, http.StatusOK).obj("workflowRun")["status"]; s != store.StatusCompleted {
				t.Errorf("status %v, want COMPLETED", s)
			}
		}},
		{"event stream", stream, func(t *testing.T, a answer) {
			evs := sseRead(t, a.expect(t, http.StatusOK).raw)
			if len(evs) == 0 || evs[len(evs)-1][1] != runevents.KindRunFinished || !strings.Contains(evs[len(evs)-1][2], `"result":"CANCELLED"`) {
				t.Errorf("stream ended with %v, want run.finished CANCELLED last", evs)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			select {
			case a := <-tc.c:
				tc.check(t, a)
			case <-time.After(20 * time.Second):
				t.Fatal("no answer 20 s after the run finished: the wait would have lasted until its deadline")
			}
		})
	}
	metrics := e.do("GET", "/metrics", "", nil).expect(t, http.StatusOK).raw
	// Both learned of the end by re-reading, unless one was slower than
	// the pause above to make its first read and saw the end there (also
	// right, but not a recheck): at least one recheck, at most two.
	if !strings.Contains(metrics, "sluice_run_waits_rechecked_total 2") && !strings.Contains(metrics, "sluice_run_waits_rechecked_total 1") {
		t.Errorf("metrics lack sluice_run_waits_rechecked_total 1 or 2:\n%s", metricLines(metrics, "sluice_run_waits_rechecked_total"))
	}
	if !strings.Contains(metrics, "sluice_run_events_dropped_total 0") {
		t.Errorf("metrics lack sluice_run_events_dropped_total 0")
	}
}

// metricLines returns the lines of a metrics page that name metric.
func metricLines(page, metric string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.Contains(l, metric) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
