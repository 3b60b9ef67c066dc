package api

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// A long poll answers once the run is COMPLETED, with the run as stored
// (redacted) and without logs unless asked.
func TestWaitAnswersWhenTheRunCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	for _, tc := range []struct {
		name  string
		query string
		logs  bool
	}{
		{"without logs", "?wait=60s", false},
		{"with logs", "?wait=60&include=logs", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runID := e.start("deploy", e.admin)
			nr := e.waiting(runID)
			e.do("POST", "/v1/workflows/nodes/runs/"+nr+"/logs", e.admin, map[string]any{"logs": []any{map[string]any{"message": "deploying with " + secretValue}}}).expect(t, http.StatusOK)
			got := make(chan answer, 1)
			go func() { got <- e.do("GET", "/v1/workflows/runs/"+runID+tc.query, e.admin, nil) }()
			waitFor(t, "the long poll subscribes", func() bool { return e.srv.hub.Watchers() == 1 })
			e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, e.admin, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"token": secretValue}}).expect(t, http.StatusOK)
			a := <-got
			a.expect(t, http.StatusOK)
			run := a.obj("workflowRun")
			if run["status"] != store.StatusCompleted || run["result"] != store.ResultSuccess {
				t.Fatalf("long poll answered %v/%v, want COMPLETED/SUCCESS", run["status"], run["result"])
			}
			node := run["nodeRuns"].([]any)[1].(map[string]any)
			logs, present := node["nodeRunLogs"].([]any)
			if !present {
				t.Fatalf("nodeRunLogs missing: %v", node)
			}
			if tc.logs != (len(logs) > 0) {
				t.Errorf("include logs %v: nodeRunLogs = %v", tc.logs, logs)
			}
			if tc.logs && !strings.Contains(a.raw, "deploying with ***") {
				t.Errorf("logs not redacted as stored: %s", a.raw)
			}
			if e.srv.hub.Watchers() != 0 {
				t.Errorf("%d watchers left", e.srv.hub.Watchers())
			}
		})
	}
}

// At the deadline a long poll answers with the run as it stands; a
// COMPLETED run is answered at once; bad parameters are a 400 naming them,
// hidden runs a 404.
func TestWaitDeadlineAndBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	e.createWorkflow(workflowDef("closed", false, e.rcv.URL+"/async", nil, nil))
	runID := e.start("deploy", e.admin)
	e.waiting(runID)
	a := e.do("GET", "/v1/workflows/runs/"+runID+"?wait=200ms", e.admin, nil).expect(t, http.StatusOK)
	if s := a.obj("workflowRun")["status"]; s != store.StatusInProgress {
		t.Errorf("status at the deadline = %v", s)
	}
	hidden := e.start("closed", e.admin)
	member := e.user("m@example.com", store.RoleMember)
	tests := []struct {
		name, path string
		token      string
		status     int
		field      string
	}{
		{"too long", runID + "?wait=61s", e.admin, http.StatusBadRequest, "wait"},
		{"negative", runID + "?wait=-1s", e.admin, http.StatusBadRequest, "wait"},
		{"not a duration", runID + "?wait=soon", e.admin, http.StatusBadRequest, "wait"},
		{"twice", runID + "?wait=1s&wait=2s", e.admin, http.StatusBadRequest, "wait"},
		{"unknown include", runID + "?include=outputs", e.admin, http.StatusBadRequest, "include"},
		{"misspelt parameter", runID + "?wiat=30s", e.admin, http.StatusBadRequest, "wiat"},
		{"hidden run", hidden + "?wait=30s", member, http.StatusNotFound, ""},
		{"events of a hidden run", hidden + "/events", member, http.StatusNotFound, ""},
		{"events with a parameter", runID + "/events?wait=1s", e.admin, http.StatusBadRequest, "wait"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("GET", "/v1/workflows/runs/"+tc.path, tc.token, nil, skipRequestValidation, "1").expect(t, tc.status)
			if tc.field != "" && !strings.Contains(a.raw, `"path":"`+tc.field+`"`) {
				t.Errorf("answer does not name %s: %s", tc.field, a.raw)
			}
		})
	}
}

// sseRead parses an event stream into its events' (id, event, data).
func sseRead(t *testing.T, raw string) [][3]string {
	t.Helper()
	var out [][3]string
	var cur [3]string
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != [3]string{} {
				out = append(out, cur)
			}
			cur = [3]string{}
		case strings.HasPrefix(line, "id: "):
			cur[0] = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur[1] = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur[2] = strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

// The event stream sends what the store holds, then the live transitions,
// and ends with run.finished; a second connection after the end sends the
// same ids (a reconnecting client drops what it has seen). Nothing of the
// run's data travels in it.
func TestRunEventsStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("deploy", e.admin)
	nr := e.waiting(runID)
	got := make(chan answer, 1)
	go func() { got <- e.do("GET", "/v1/workflows/runs/"+url.PathEscape(runID)+"/events", e.admin, nil) }()
	waitFor(t, "the stream subscribes", func() bool { return e.srv.hub.Watchers() == 1 })
	e.do("PATCH", "/v1/workflows/nodes/runs/"+nr, e.admin, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"token": secretValue, "env": "prod"}}).expect(t, http.StatusOK)
	a := (<-got).expect(t, http.StatusOK)
	if ct := a.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if strings.Contains(a.raw, "prod") {
		t.Errorf("the stream carries run data: %s", a.raw)
	}
	evs := sseRead(t, a.raw)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev[1])
		if !strings.Contains(ev[2], `"kind":"`+ev[1]+`"`) || !strings.Contains(ev[2], runID) {
			t.Errorf("event data %s does not match %s of %s", ev[2], ev[1], runID)
		}
	}
	want := []string{"node.finished", "node.started", "node.waiting", "node.finished", "run.finished"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v\n%s", kinds, want, a.raw)
	}
	if evs[3][0] != nr+"/node.finished" || !strings.Contains(evs[3][2], `"result":"SUCCESS"`) {
		t.Errorf("node finished event = %v", evs[3])
	}
	// After the end: the stored state, with the same ids (the node's
	// waiting is over, so it is not sent again).
	again := sseRead(t, e.do("GET", "/v1/workflows/runs/"+runID+"/events", e.admin, nil).expect(t, http.StatusOK).raw)
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev[0]] = true
	}
	for _, ev := range again {
		if !seen[ev[0]] {
			t.Errorf("reconnection sent %s, never sent live", ev[0])
		}
	}
	if len(again) != 4 || again[len(again)-1][1] != "run.finished" {
		t.Errorf("reconnection sent %v", again)
	}
}

// Shutting down ends long polls and streams at once, so that an HTTP
// server's graceful shutdown does not wait for them.
func TestStopWaitingEndsWaiters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createWorkflow(workflowDef("deploy", true, e.rcv.URL+"/async", nil, nil))
	runID := e.start("deploy", e.admin)
	e.waiting(runID)
	poll := make(chan answer, 1)
	stream := make(chan answer, 1)
	go func() { poll <- e.do("GET", "/v1/workflows/runs/"+runID+"?wait=60s", e.admin, nil) }()
	go func() { stream <- e.do("GET", "/v1/workflows/runs/"+runID+"/events", e.admin, nil) }()
	waitFor(t, "both subscribe", func() bool { return e.srv.hub.Watchers() == 2 })
	e.srv.StopWaiting()
	if s := (<-poll).expect(t, http.StatusOK).obj("workflowRun")["status"]; s != store.StatusInProgress {
		t.Errorf("long poll at shutdown: status %v", s)
	}
	if kinds := sseRead(t, (<-stream).expect(t, http.StatusOK).raw); len(kinds) != 3 {
		t.Errorf("stream at shutdown sent %v", kinds)
	}
}

// FuzzParseWait: any wait parameter is refused with a 400 naming wait, or
// read as a duration within bounds.
func FuzzParseWait(f *testing.F) {
	for _, s := range []string{"30s", "60", "0", "-1s", "1h", "9223372036854775807", "1e3s", "500ms", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseWait(url.Values{"wait": {v}})
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Status != http.StatusBadRequest || len(e.Details) != 1 || e.Details[0].Path != "wait" {
				t.Fatalf("parseWait(%q): %v", v, err)
			}
			return
		}
		if d < 0 || d > MaxWait {
			t.Fatalf("parseWait(%q) = %v, out of bounds", v, d)
		}
	})
}
