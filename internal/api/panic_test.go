package api

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
)

// TestDriverPanicKeepsTheServer: a panic in a run's driver outside any node
// (here a progress hook that panics when the run finishes) is logged with
// its stack and does not take the process down: the run is as committed,
// and the server goes on starting and finishing runs.
func TestDriverPanicKeepsTheServer(t *testing.T) {
	var logs lockedBuffer
	e := newEnvWith(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.OnEvent = func(ev engine.Event) {
			if ev.Kind == engine.RunFinished {
				var seen []string
				_ = seen[len(ev.RunID)] // a bug: index out of range
			}
		}
	})
	e.createWorkflow(workflowDef("p", true, e.rcv.URL+"/ok", nil, nil))
	for range 2 {
		id := e.start("p", e.admin)
		if got := e.completed(id); got.Result != "SUCCESS" {
			t.Errorf("run %s = %s %s, want COMPLETED SUCCESS", id, got.Status, got.Result)
		}
	}
	e.do("GET", "/v1/workflows/p", e.admin, nil).expect(t, http.StatusOK)
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing assertion
	for !strings.Contains(logs.String(), "a run's driver panicked") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := logs.String()
	if !strings.Contains(got, "index out of range") || !strings.Contains(got, "panic_test.go") {
		t.Errorf("log = %q, want the runtime error and its stack", got)
	}
}
