package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// newGate is a webhook receiver that holds every request until release is
// closed, then answers as newReceiver does (202 for /async paths).
func newGate(t *testing.T) (url string, release func()) {
	t.Helper()
	ch := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		select {
		case <-ch:
		case <-req.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(req.URL.Path, "/async") {
			w.WriteHeader(http.StatusAccepted)
		}
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	done := false
	rel := func() {
		if !done {
			done = true
			close(ch)
		}
	}
	t.Cleanup(func() { rel(); srv.Close() })
	return srv.URL, rel
}

// A long poll of a run that this process is driving waits without reading
// the run first when its caller may view every run, and answers exactly as
// any other long poll: the finished run, or at the deadline the run as it
// stands when the drive ended with the run waiting on the outside, or at
// once when another request cancelled the run meanwhile. A Member (who may
// not view every run) takes the path that reads the run first, to the same
// answer.
func TestWaitOnARunDrivenHere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		path       string // the webhook's path on the gate
		member     bool
		wait       time.Duration
		act        func(e *env, runID string, release func())
		wantStatus string
		wantResult string
	}{
		{name: "the run finishes", path: "/call", wait: 30 * time.Second,
			act:        func(e *env, _ string, release func()) { release() },
			wantStatus: store.StatusCompleted, wantResult: store.ResultSuccess},
		{name: "a Member, the run finishes", path: "/call", member: true, wait: 30 * time.Second,
			act:        func(e *env, _ string, release func()) { release() },
			wantStatus: store.StatusCompleted, wantResult: store.ResultSuccess},
		{name: "the drive ends waiting on the outside", path: "/async", wait: 700 * time.Millisecond,
			act:        func(e *env, _ string, release func()) { release() },
			wantStatus: store.StatusInProgress},
		{name: "another request cancels the run", path: "/call", wait: 30 * time.Second,
			act: func(e *env, runID string, _ func()) {
				e.do("POST", "/v1/workflows/runs/"+runID+"/cancel", e.admin, nil).expect(e.t, http.StatusOK)
			},
			wantStatus: store.StatusCompleted, wantResult: store.ResultCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			url, release := newGate(t)
			e.createWorkflow(workflowDef("gated", true, url+tc.path, nil, nil))
			token := e.admin
			if tc.member {
				token = e.user("m@example.com", store.RoleMember)
			}
			var live atomic.Int32
			e.srv.liveWaited = func() { live.Add(1) }
			runID := e.start("gated", e.admin)
			waitFor(t, "the engine drives the run", func() bool { return e.srv.hub.Driving(runID) })

			got := make(chan answer, 1)
			began := time.Now()
			go func() {
				got <- e.do("GET", "/v1/workflows/runs/"+runID+"?wait="+tc.wait.String(), token, nil)
			}()
			waitFor(t, "the long poll subscribes", func() bool { return e.srv.hub.Watchers() == 1 })
			tc.act(e, runID, release)
			a := <-got
			took := time.Since(began)
			a.expect(t, http.StatusOK)
			run := a.obj("workflowRun")
			if run["status"] != tc.wantStatus || (tc.wantResult != "" && run["result"] != tc.wantResult) {
				t.Fatalf("long poll answered %v/%v, want %s/%s", run["status"], run["result"], tc.wantStatus, tc.wantResult)
			}
			if tc.wantStatus == store.StatusInProgress && took < tc.wait {
				t.Errorf("answered IN_PROGRESS after %s, before its %s deadline", took, tc.wait)
			}
			if want := int32(1); tc.member {
				if live.Load() != 0 {
					t.Errorf("a Member's long poll skipped the read of the run")
				}
			} else if live.Load() != want {
				t.Errorf("the long poll read the run first (live waits %d, want %d)", live.Load(), want)
			}
			release()
			if tc.wantStatus == store.StatusCompleted {
				// The answer is the run as a plain GET shows it.
				plain := e.do("GET", "/v1/workflows/runs/"+runID, token, nil).expect(t, http.StatusOK).obj("workflowRun")
				if !reflect.DeepEqual(normalized(t, run), normalized(t, plain)) {
					t.Errorf("long poll answered\n%v\nplain GET answers\n%v", run, plain)
				}
			}
			if strings.Contains(a.raw, secretValue) {
				t.Errorf("answer holds the secret: %s", a.raw)
			}
			waitFor(t, "the drive ends", func() bool { return !e.srv.hub.Driving(runID) })
		})
	}
}

// normalized is v through JSON, so that answers decoded apart compare.
func normalized(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
