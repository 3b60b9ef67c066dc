package crash

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestWaitSeesAnotherProcess: two serve processes on one PostgreSQL. A run
// started on process a (which drives it) is long-polled on process b; b
// answers COMPLETED as soon as a finishes the run (LISTEN/NOTIFY), not at
// the poll's 30 s deadline.
func TestWaitSeesAnotherProcess(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	gate := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer hook.Close()
	a := start(t, "a", t.TempDir(), dbURL)
	m := credRe.FindStringSubmatch(a.banner)
	if m == nil {
		t.Fatalf("no credentials printed:\n%s", a.banner)
	}
	b := start(t, "b", t.TempDir(), dbURL)
	c := &client{t: t, hc: &http.Client{Timeout: 60 * time.Second}}
	code, v, err := c.post(a.url, "/v1/auth/access_token", map[string]string{"clientId": m[1], "clientSecret": m[2]})
	if err != nil || code != http.StatusOK {
		t.Fatalf("token: %d %v %v", code, v, err)
	}
	c.token, _ = v["accessToken"].(string)
	def := map[string]any{
		"identifier": "gated",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "permissions": map[string]any{"roles": []any{"Admin"}}}},
			map[string]any{"identifier": "call", "config": map[string]any{"type": "WEBHOOK", "url": hook.URL, "method": "POST", "synchronized": true}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	if code, v, err := c.post(a.url, "/v1/workflows", def); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d %v %v", code, v, err)
	}
	code, v, err = c.post(a.url, "/v1/workflows/gated/runs", map[string]any{})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST runs: %d %v %v", code, v, err)
	}
	runID := v["workflowRun"].(map[string]any)["identifier"].(string)

	type answer struct {
		status string
		took   time.Duration
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/v1/workflows/runs/"+runID+"?wait=30s", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		began := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var v struct {
			WorkflowRun struct {
				Status string `json:"status"`
			} `json:"workflowRun"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		got <- answer{status: v.WorkflowRun.Status, took: time.Since(began), err: err}
	}()
	// Let the poll subscribe on b before the run can finish on a.
	time.Sleep(500 * time.Millisecond)
	close(gate)
	ans := <-got
	if ans.err != nil {
		t.Fatal(ans.err)
	}
	if ans.status != "COMPLETED" || ans.took >= 20*time.Second {
		t.Fatalf("the long poll on b answered %s after %v, want COMPLETED well before its 30 s deadline\n--- a ---\n%s\n--- b ---\n%s", ans.status, ans.took, tail(a.logs()), tail(b.logs()))
	}
	t.Logf("b's long poll saw the run a finished after %v", ans.took)
}
