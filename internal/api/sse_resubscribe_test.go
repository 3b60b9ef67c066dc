package api

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluice-run/sluice/internal/runevents"
)

// fullAfterFirst is a runevents.Source whose watchers are full (ErrFull)
// after its first subscription: the state a stream meets when it lagged
// and, in the moment between closing its subscription and taking a new
// one, other requests took every slot.
type fullAfterFirst struct {
	*runevents.Hub
	n atomic.Int32
}

func (f *fullAfterFirst) Subscribe(runID string, onlyFinished bool) (*runevents.Subscription, error) {
	if f.n.Add(1) > 1 {
		return nil, runevents.ErrFull
	}
	return f.Hub.Subscribe(runID, onlyFinished)
}

// TestRunEventsLagWhenFull: an event stream that lags and cannot subscribe
// again (the source is full) ends cleanly, for the client to reconnect. It
// panicked: the failed Subscribe left its subscription nil, which the
// handler's deferred Close then dereferenced, so the client saw the
// connection cut mid-stream instead of the stream's end.
func TestRunEventsLagWhenFull(t *testing.T) {
	src := &fullAfterFirst{Hub: runevents.NewHub(runevents.Options{Buffer: 1})}
	e := newEnvWith(t, func(o *Options) { o.Events = src })
	url, release := newGate(t)
	e.createWorkflow(workflowDef("gated", true, url+"/call", nil, nil))
	runID := e.start("gated", e.admin)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.hs.URL+"/v1/workflows/runs/"+runID+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the stream subscribes", func() bool { return src.Watchers() == 1 })
	// Events into a buffer of one until the stream lags and closes its
	// subscription (a stream that reads fast enough takes more of them).
	n := 0
	waitFor(t, "the stream lags", func() bool {
		for range 100 {
			n++
			src.Publish(runevents.Event{Kind: runevents.KindNodeStarted, RunID: runID, NodeID: "call", NodeRunID: "wfnr_lag" + strconv.Itoa(n)})
		}
		return src.Watchers() == 0
	})
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream was cut instead of ending: %v", err)
	}
	release()
	e.completed(runID)
}
