package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestFloorServer runs runs against the floor server with the harness's own
// client: each ends SUCCESS after exactly the workflow's two webhook calls,
// with the body sluice sends; a request without the token or for an unknown
// run is refused.
func TestFloorServer(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	bodies := map[string]string{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.URL.Path]++
		bodies[r.URL.Path] = string(b)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	defer rcv.Close()
	floor := httptest.NewServer(newFloor(rcv.URL, 0))
	defer floor.Close()

	c := &client{http: floor.Client(), base: floor.URL, token: floorToken}
	const runs = 5
	for range runs {
		if err := oneRun(context.Background(), c, c); err != nil {
			t.Fatalf("a run against the floor: %v", err)
		}
	}
	mu.Lock()
	for _, path := range []string{"/call", "/notify"} {
		if calls[path] != runs {
			t.Errorf("%s called %d times for %d runs", path, calls[path], runs)
		}
		if bodies[path] != `{"env":"prod"}` {
			t.Errorf("%s got body %q, want the webhook body", path, bodies[path])
		}
	}
	mu.Unlock()

	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", "POST", "/v1/workflows/load/runs", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/v1/workflows/runs/wfr_x", "nope", http.StatusUnauthorized},
		{"unknown run", "GET", "/v1/workflows/runs/wfr_unknown?wait=1s", floorToken, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := &client{http: floor.Client(), base: floor.URL, token: tc.token}
			var body any
			if tc.method == "POST" {
				body = map[string]any{"inputs": map[string]any{"env": "prod"}}
			}
			code, _ := cc.do(context.Background(), tc.method, tc.path, body, nil)
			if code != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, code, tc.want)
			}
		})
	}
}
