package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// TestWaitLiveRunStranger: a caller who may not view a run that this
// process is driving learns nothing through ?wait=: the answer is the 404
// a plain GET gives, the same as for a run that does not exist, and it
// comes at once (while the run is still driven), not at the run's end or
// the wait's deadline; its subscription is released.
func TestWaitLiveRunStranger(t *testing.T) {
	e := newEnv(t)
	url, release := newGate(t)
	e.createWorkflow(workflowDef("private", false, url+"/call", nil, nil))
	stranger := e.user("m@example.com", store.RoleMember)
	runID := e.start("private", e.admin)
	waitFor(t, "the engine drives the run", func() bool { return e.srv.hub.Driving(runID) })
	const missing = "wfr_doesNotExist0000"
	for _, tc := range []struct {
		name, path string
	}{
		{"plain GET", "/v1/workflows/runs/" + runID},
		{"long poll", "/v1/workflows/runs/" + runID + "?wait=60s"},
		{"long poll with logs", "/v1/workflows/runs/" + runID + "?wait=60&include=logs"},
	} {
		a := e.do("GET", tc.path, stranger, nil).expect(t, http.StatusNotFound)
		none := e.do("GET", strings.Replace(tc.path, runID, missing, 1), stranger, nil).expect(t, http.StatusNotFound)
		if got, want := a.raw, strings.ReplaceAll(none.raw, missing, runID); got != want {
			t.Errorf("%s: a stranger gets\n%s\nfor a run that exists, and for one that does not\n%s", tc.name, got, want)
		}
		if !e.srv.hub.Driving(runID) {
			t.Fatalf("%s: answered only once the drive ended", tc.name)
		}
		if n := e.srv.hub.Watchers(); n != 0 {
			t.Errorf("%s: %d subscription(s) left open", tc.name, n)
		}
	}
	release()
	e.completed(runID)
}

// TestWaitLiveClientGone: a long poll of a run driven here whose client
// goes away releases its subscription at once, not at the wait's deadline
// or the run's end.
func TestWaitLiveClientGone(t *testing.T) {
	e := newEnv(t)
	url, release := newGate(t)
	e.createWorkflow(workflowDef("gated", true, url+"/call", nil, nil))
	runID := e.start("gated", e.admin)
	waitFor(t, "the engine drives the run", func() bool { return e.srv.hub.Driving(runID) })
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.hs.URL+"/v1/workflows/runs/"+runID+"?wait=60s", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the long poll subscribes", func() bool { return e.srv.hub.Watchers() == 1 })
	cancel()
	<-done
	waitFor(t, "the subscription is released", func() bool { return e.srv.hub.Watchers() == 0 })
	if !e.srv.hub.Driving(runID) {
		t.Fatalf("the drive ended before the client left: the test proves nothing")
	}
	release()
	e.completed(runID)
}
