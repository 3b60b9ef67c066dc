package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
)

// benchServer is a server over a real SQLite store with a one-webhook
// workflow "bench" that calls a loopback receiver with a secret header.
type benchServer struct {
	hs      *httptest.Server
	srv     *Server
	token   string
	rcvURL  string
	mu      sync.Mutex
	waiters map[string]chan struct{}
	early   map[string]bool
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ctx := context.Background()
	st, svc := newStoreWithSecret(b)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	b.Cleanup(rcv.Close)
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	bs := &benchServer{rcvURL: rcv.URL, waiters: map[string]chan struct{}{}, early: map[string]bool{}}
	authn := auth.New(st, auth.Options{})
	srv, err := New(Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, OnEvent: bs.onEvent})
	if err != nil {
		b.Fatal(err)
	}
	bs.srv = srv
	bs.hs = httptest.NewServer(srv.Handler())
	b.Cleanup(func() {
		bs.hs.Close()
		_ = srv.Shutdown(context.Background())
		st.Close()
	})
	cred, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		b.Fatal(err)
	}
	bs.token, _, err = authn.IssueToken(ctx, cred.ClientID, cred.ClientSecret)
	if err != nil {
		b.Fatal(err)
	}
	def, _ := json.Marshal(workflowDef("bench", true, rcv.URL+"/hook", nil, nil))
	if resp := bs.post(b, "/v1/workflows", def); resp != http.StatusCreated {
		b.Fatalf("create workflow: %d", resp)
	}
	return bs
}

// onEvent wakes whoever waits for a run to finish.
func (bs *benchServer) onEvent(ev engine.Event) {
	if ev.Kind != engine.RunFinished {
		return
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if ch, ok := bs.waiters[ev.RunID]; ok {
		close(ch)
		delete(bs.waiters, ev.RunID)
		return
	}
	bs.early[ev.RunID] = true
}

// wait blocks until the run finished.
func (bs *benchServer) wait(runID string) {
	bs.mu.Lock()
	if bs.early[runID] {
		delete(bs.early, runID)
		bs.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	bs.waiters[runID] = ch
	bs.mu.Unlock()
	<-ch
}

var benchRunBody = []byte(`{"inputs": {"env": "prod"}}`)

func (bs *benchServer) post(b *testing.B, path string, body []byte) int {
	code, _ := bs.postRun(b, path, body)
	return code
}

// postRun posts and returns the status and the run identifier, if any.
func (bs *benchServer) postRun(b *testing.B, path string, body []byte) (int, string) {
	req, _ := http.NewRequest("POST", bs.hs.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bs.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var a struct {
		WorkflowRun struct {
			Identifier string `json:"identifier"`
		} `json:"workflowRun"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.WorkflowRun.Identifier
}

// BenchmarkRuns measures, in one run: runs triggered over HTTP (the
// trigger path: POST /v1/workflows/{id}/runs, authentication, input
// validation, the run's first commit; the webhook is sent in the
// background), runs triggered and driven to COMPLETED (one WEBHOOK node
// with a secret header, against a loopback receiver), and the baseline:
// the same webhook sent by a plain Go loop with net/http. Compare ns/op.
func BenchmarkRuns(b *testing.B) {
	b.Run("trigger", func(b *testing.B) {
		bs := newBenchServer(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code := bs.post(b, "/v1/workflows/bench/runs", benchRunBody); code != http.StatusCreated {
					b.Errorf("status %d", code)
					return
				}
			}
		})
		b.StopTimer()
		// Let the background executions end before the store closes.
		_ = bs.srv.Shutdown(context.Background())
	})
	b.Run("trigger-to-completed", func(b *testing.B) {
		bs := newBenchServer(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				code, id := bs.postRun(b, "/v1/workflows/bench/runs", benchRunBody)
				if code != http.StatusCreated {
					b.Errorf("status %d", code)
					return
				}
				bs.wait(id)
			}
		})
	})
	b.Run("baseline-plain-webhook", func(b *testing.B) {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok": true}`)
		}))
		defer rcv.Close()
		client := webhook.DefaultClient()
		body := []byte(`{"env": "prod"}`)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", rcv.URL+"/hook", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+secretValue)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var out any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
			}
		})
	})
}
