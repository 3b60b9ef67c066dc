package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/view"
)

// serviceToken is the secret a KAFKA payload carries in these tests.
const serviceToken = "svc-tok-7f3a9c2e5b1d4e6f8a0b"

// system is a sluice server over a SQLite data dir, with a KAFKA executor,
// served on loopback. Stopping it and starting another on the same dir is a
// restart.
type system struct {
	t     testing.TB
	dir   string
	st    *sqlite.Store
	svc   *secret.Service
	srv   *api.Server
	hs    *httptest.Server
	exec  *kafka.Executor
	admin string // an Admin token
	// updater is a machine client with update:runs only: what a consumer
	// needs.
	updater auth.Credentials
	stopped bool
}

// startSystem starts a server on dir (a fresh one when dir is ""), with the
// secret SERVICE_TOKEN, publishing to brokers. waitEvery is the server's
// WaitCheckInterval (negative: deadlines are not checked).
func startSystem(t testing.TB, dir string, brokers []string, waitEvery time.Duration) *system {
	t.Helper()
	ctx := context.Background()
	fresh := dir == ""
	if fresh {
		dir = t.TempDir()
	}
	st, err := sqlitetest.Open(ctx, filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: dir, Generate: true, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring)
	s := &system{t: t, dir: dir, st: st, svc: svc}
	if fresh {
		if _, err := svc.Create(ctx, "test", "SERVICE_TOKEN", serviceToken, "published to Kafka"); err != nil {
			t.Fatal(err)
		}
	}
	if s.exec, err = kafka.New(kafka.Options{Brokers: brokers}); err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	kafka.Register(reg, s.exec)
	authn := auth.New(st, auth.Options{})
	if s.srv, err = api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, WaitCheckInterval: waitEvery, SweepInterval: -1}); err != nil {
		t.Fatal(err)
	}
	s.hs = httptest.NewServer(s.srv.Handler())
	cred := auth.Credentials{ClientID: "admin", ClientSecret: "admin-secret-0123456789abcdefghijklmnop"}
	if _, _, err := auth.Bootstrap(ctx, st, cred.ClientID, cred.ClientSecret); err != nil {
		t.Fatal(err)
	}
	s.admin = s.token(cred)
	if fresh {
		if s.updater, err = auth.CreateClient(ctx, st, auth.ClientSpec{Name: "consumer", Scopes: []string{"update:runs"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// stop shuts the server down (its background work finished) and closes
// the store and the producer.
func (s *system) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.exec.Close()
	s.st.Close()
}

// token logs a client in through the API.
func (s *system) token(c auth.Credentials) string {
	s.t.Helper()
	code, body := s.call("POST", "/v1/auth/access_token", "", map[string]string{"clientId": c.ClientID, "clientSecret": c.ClientSecret})
	if code != http.StatusOK {
		s.t.Fatalf("access token: %d %s", code, body)
	}
	var out struct{ AccessToken string }
	_ = json.Unmarshal(body, &out)
	return out.AccessToken
}

// call sends one API request and returns the status and the raw answer.
func (s *system) call(method, path, token string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.hs.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// save stores a workflow definition and returns the raw answer.
func (s *system) save(def string) []byte {
	s.t.Helper()
	code, raw := s.call("POST", "/v1/workflows", s.admin, json.RawMessage(def))
	if code != http.StatusCreated {
		s.t.Fatalf("save workflow: %d %s", code, raw)
	}
	return raw
}

// start starts a run of workflow id and returns its identifier.
func (s *system) start(id string, inputs map[string]any) string {
	s.t.Helper()
	code, raw := s.call("POST", "/v1/workflows/"+id+"/runs", s.admin, map[string]any{"inputs": inputs})
	if code != http.StatusCreated {
		s.t.Fatalf("start run: %d %s", code, raw)
	}
	var out struct{ WorkflowRun view.Run }
	_ = json.Unmarshal(raw, &out)
	return out.WorkflowRun.Identifier
}

// run reads a run through the API.
func (s *system) run(id string) (view.Run, []byte) {
	s.t.Helper()
	code, raw := s.call("GET", "/v1/workflows/runs/"+id+"?include=logs", s.admin, nil)
	if code != http.StatusOK {
		s.t.Fatalf("get run: %d %s", code, raw)
	}
	var out struct{ WorkflowRun view.Run }
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatal(err)
	}
	return out.WorkflowRun, raw
}

// waitFor polls the run until cond holds, within a generous deadline.
func (s *system) waitFor(id, what string, cond func(v view.Run) bool) view.Run {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _ := s.run(id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %s: %s did not happen; it is %s with nodes %v", id, what, v.Status, nodeIDs(v))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waiting reports whether the run's newest node run is nodeID, waiting.
func waiting(nodeID string) func(v view.Run) bool {
	return func(v view.Run) bool {
		if len(v.NodeRuns) == 0 {
			return false
		}
		last := v.NodeRuns[len(v.NodeRuns)-1]
		return last.Node.Identifier == nodeID && last.Status == store.StatusInProgress && len(last.NodeRunLogs) > 0
	}
}

func completed(v view.Run) bool { return v.Status == store.StatusCompleted }

func nodeIDs(v view.Run) []string {
	var ids []string
	for _, nr := range v.NodeRuns {
		ids = append(ids, nr.Node.Identifier+":"+nr.Status)
	}
	return ids
}

func resultOf(v view.Run) string {
	if v.Result == nil {
		return v.Status
	}
	return v.Status + " " + *v.Result
}

// hook is a loopback HTTP receiver for WEBHOOK nodes: /register answers a
// request id, anything else records the body.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]map[string]any
}

func newHook(t testing.TB) *hook {
	h := &hook{bodies: map[string][]map[string]any{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		h.bodies[r.URL.Path] = append(h.bodies[r.URL.Path], body)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"request_id": "req-42"}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) got(path string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies[path]...)
}

// pipeline is trigger → WEBHOOK register → KAFKA publish → WEBHOOK notify,
// the publish node's extra config fields spliced in.
func pipeline(id, hookURL, publishExtra string) string {
	return `{"identifier": "` + id + `", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"service": {"type": "string"}}, "required": ["service"]}}},
	{"identifier": "register", "config": {"type": "WEBHOOK", "url": "` + hookURL + `/register", "body": {"name": "{{ .outputs.trigger.service }}"}},
	 "variables": {"request_id": "{{ .result.response.data.request_id }}"}},
	{"identifier": "publish", "config": {"type": "KAFKA", ` + publishExtra + `"payload": {"token": "{{ .secrets.SERVICE_TOKEN }}", "requestId": "{{ .outputs.register.request_id }}", "service": "{{ .outputs.trigger.service }}"}}},
	{"identifier": "notify", "config": {"type": "WEBHOOK", "url": "` + hookURL + `/notify", "body": {"kafka": "{{ .outputs.publish }}"}}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "register"},
	{"sourceIdentifier": "register", "targetIdentifier": "publish"},
	{"sourceIdentifier": "publish", "targetIdentifier": "notify"}]}`
}

// mustNotHold fails when raw holds the secret.
func mustNotHold(t testing.TB, what string, raw []byte) {
	t.Helper()
	if strings.Contains(string(raw), serviceToken) {
		t.Errorf("%s holds the secret: %s", what, raw)
	}
}

// openStore opens the SQLite store of a data dir.
func openStore(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// endOffset is the number of messages partition 0 of the default topic
// holds (its end offset), read with the admin ListOffsets request.
func endOffset(t testing.TB, brokers []string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	topic := kmsg.NewListOffsetsRequestTopic()
	topic.Topic = kafka.DefaultTopic
	p := kmsg.NewListOffsetsRequestTopicPartition()
	p.Partition, p.Timestamp = 0, -1 // latest
	topic.Partitions = append(topic.Partitions, p)
	req.Topics = append(req.Topics, topic)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].Offset
}
