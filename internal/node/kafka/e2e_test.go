package kafka_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// TestEndToEnd: trigger → WEBHOOK → KAFKA → WEBHOOK. A franz-go consumer
// reads the message, checks its payload and context, and completes the
// node through the API as a machine client with update:runs only; the last
// webhook sees the consumer's output through .outputs.publish.
func TestEndToEnd(t *testing.T) {
	c := newCluster(t)
	brokers := c.ListenAddrs()
	s := startSystem(t, "", brokers, 0)
	h := newHook(t)
	s.save(pipeline("e2e", h.URL, ""))
	runID := s.start("e2e", map[string]any{"service": "billing"})

	// The consumer, as docs/kafka.md shows it.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafka.DefaultTopic), kgo.ConsumerGroup("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rec *kgo.Record
	for rec == nil {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("no message before the deadline")
		}
		if recs := fs.Records(); len(recs) > 0 {
			rec = recs[0]
		}
	}
	var msg kafka.Message
	if err := json.Unmarshal(rec.Value, &msg); err != nil {
		t.Fatal(err)
	}
	payload, _ := msg.Payload.(map[string]any)
	if payload["token"] != serviceToken || payload["requestId"] != "req-42" || payload["service"] != "billing" {
		t.Errorf("payload = %v, want the secret, the request id and the service", payload)
	}
	v := s.waitFor(runID, "the publish node waits", waiting("publish"))
	publishRun := v.NodeRuns[len(v.NodeRuns)-1]
	want := kafka.MessageContext{WorkflowIdentifier: "e2e", WorkflowVersion: 1, WorkflowRunIdentifier: runID, NodeIdentifier: "publish", WorkflowNodeRunIdentifier: publishRun.Identifier}
	if msg.Context != want {
		t.Errorf("context = %+v, want %+v", msg.Context, want)
	}
	if string(rec.Key) != runID {
		t.Errorf("key = %q, want the run id", rec.Key)
	}
	if l := publishRun.NodeRunLogs[0].Log; !strings.Contains(l, "published to topic sluice.runs partition 0 offset 0") {
		t.Errorf("the publish node's log = %q, want the acknowledgement", l)
	}

	// Complete as the consumer: a machine client with update:runs only.
	token := s.token(s.updater)
	code, raw := s.call("PATCH", "/v1/workflows/nodes/runs/"+msg.Context.WorkflowNodeRunIdentifier, token,
		map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"deployed": true, "url": "https://billing.example.com"}})
	if code != http.StatusOK {
		t.Fatalf("complete: %d %s", code, raw)
	}
	v = s.waitFor(runID, "the run completes", completed)
	if got := resultOf(v); got != "COMPLETED SUCCESS" {
		t.Fatalf("run = %s, want COMPLETED SUCCESS (nodes %v)", got, nodeIDs(v))
	}
	notify := h.got("/notify")
	if len(notify) != 1 {
		t.Fatalf("notify got %d requests, want 1", len(notify))
	}
	kout, _ := notify[0]["kafka"].(map[string]any)
	if kout["deployed"] != true || kout["url"] != "https://billing.example.com" {
		t.Errorf("the last webhook saw .outputs.publish = %v, want the consumer's output", notify[0]["kafka"])
	}
	_, raw = s.run(runID)
	mustNotHold(t, "the run's API answer", raw)

	// A second completion (a redelivered message) is refused: 409.
	if code, raw := s.call("PATCH", "/v1/workflows/nodes/runs/"+publishRun.Identifier, token, map[string]any{"status": "COMPLETED", "result": "SUCCESS"}); code != http.StatusConflict {
		t.Errorf("second completion: %d %s, want 409", code, raw)
	}
}

// TestNoBrokers: a server without brokers saves a workflow with a KAFKA
// node with a warning, and its runs fail the node saying what to configure.
func TestNoBrokers(t *testing.T) {
	s := startSystem(t, "", nil, 0)
	h := newHook(t)
	raw := s.save(pipeline("nobrokers", h.URL, ""))
	if !strings.Contains(string(raw), "warnings") || !strings.Contains(string(raw), "--kafka-brokers") {
		t.Errorf("save answer = %s, want a warning naming --kafka-brokers", raw)
	}
	runID := s.start("nobrokers", map[string]any{"service": "billing"})
	v := s.waitFor(runID, "the run completes", completed)
	if got := resultOf(v); got != "COMPLETED FAILED" {
		t.Fatalf("run = %s, want COMPLETED FAILED", got)
	}
	last := v.NodeRuns[len(v.NodeRuns)-1]
	if last.Node.Identifier != "publish" || !strings.Contains(string(last.Output), "no Kafka brokers are configured") {
		t.Errorf("last node run = %s %s, want publish failed naming the configuration", last.Node.Identifier, last.Output)
	}
}

// TestFailureFollowsOnFailure: a publish that fails (the topic is missing)
// fails the node within its timeout, and the run follows onFailure.
func TestFailureFollowsOnFailure(t *testing.T) {
	c := newCluster(t)
	tests := []struct {
		name, extra, want string
		nodes             int
	}{
		{"terminate", `"topic": "missing", "timeoutSeconds": 5, `, "COMPLETED FAILED", 3},
		{"continue", `"topic": "missing", "timeoutSeconds": 5, "onFailure": "continue", `, "COMPLETED SUCCESS", 4},
	}
	s := startSystem(t, "", c.ListenAddrs(), 0)
	h := newHook(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.save(pipeline("fail-"+tc.name, h.URL, tc.extra))
			v := s.waitFor(s.start("fail-"+tc.name, map[string]any{"service": "x"}), "the run completes", completed)
			if got := resultOf(v); got != tc.want || len(v.NodeRuns) != tc.nodes {
				t.Fatalf("run = %s with nodes %v, want %s with %d nodes", got, nodeIDs(v), tc.want, tc.nodes)
			}
			out := string(v.NodeRuns[2].Output)
			if !strings.Contains(out, "topic missing") || !strings.Contains(out, c.ListenAddrs()[0]) || !strings.Contains(out, "does not exist") {
				t.Errorf("publish output = %s, want the topic, the broker and the reason", out)
			}
		})
	}
}

// TestRestartAfterAck: once the acknowledgement is committed with the wait,
// a restart does not publish again; the node still completes afterwards.
func TestRestartAfterAck(t *testing.T) {
	c := newCluster(t)
	brokers := c.ListenAddrs()
	s := startSystem(t, "", brokers, 0)
	h := newHook(t)
	s.save(pipeline("restart", h.URL, ""))
	runID := s.start("restart", map[string]any{"service": "billing"})
	v := s.waitFor(runID, "the publish node waits", waiting("publish"))
	nodeRun := v.NodeRuns[len(v.NodeRuns)-1].Identifier
	updater := s.updater
	s.stop()

	// Restart: Resume drives every IN_PROGRESS run; stopping waits for
	// that background work to end, so the topic then holds all it ever
	// will from the restart.
	s = startSystem(t, s.dir, brokers, 0)
	s.stop()
	s = startSystem(t, s.dir, brokers, 0)
	if n := len(consume(t, brokers, kafka.DefaultTopic, 1)); n != 1 {
		t.Fatalf("read %d messages", n)
	}
	if got := endOffset(t, brokers); got != 1 {
		t.Fatalf("the topic holds %d messages after two restarts, want 1 (the node published again)", got)
	}
	code, raw := s.call("PATCH", "/v1/workflows/nodes/runs/"+nodeRun, s.token(updater), map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"ok": true}})
	if code != http.StatusOK {
		t.Fatalf("complete after the restart: %d %s", code, raw)
	}
	v = s.waitFor(runID, "the run completes", completed)
	if got := resultOf(v); got != "COMPLETED SUCCESS" {
		t.Errorf("run = %s, want COMPLETED SUCCESS", got)
	}
}

// TestDurableTimeout: a KAFKA node nobody completes ends at its deadline,
// which passes while no server runs: the next server ends it.
func TestDurableTimeout(t *testing.T) {
	c := newCluster(t)
	brokers := c.ListenAddrs()
	tests := []struct {
		name, extra, want string
		check             func(t *testing.T, v view.Run, h *hook)
	}{
		{"fail", `"timeoutSeconds": 1, `, "COMPLETED FAILED", func(t *testing.T, v view.Run, h *hook) {
			if out := string(v.NodeRuns[2].Output); !strings.Contains(out, "timed out: no completion arrived before the deadline") {
				t.Errorf("publish output = %s, want the timeout", out)
			}
			if n := len(h.got("/notify")); n != 0 {
				t.Errorf("notify called %d times, want 0", n)
			}
		}},
		{"continue", `"timeoutSeconds": 1, "onTimeout": "continue", `, "COMPLETED SUCCESS", func(t *testing.T, v view.Run, h *hook) {
			notify := h.got("/notify")
			if len(notify) != 1 {
				t.Fatalf("notify called %d times, want 1", len(notify))
			}
			if kout, _ := notify[0]["kafka"].(map[string]any); kout["timeout"] != true {
				t.Errorf("the last webhook saw .outputs.publish = %v, want {\"timeout\": true}", notify[0]["kafka"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The first server never checks deadlines.
			s := startSystem(t, "", brokers, -1)
			h := newHook(t)
			s.save(pipeline("timeout", h.URL, tc.extra))
			runID := s.start("timeout", map[string]any{"service": "x"})
			s.waitFor(runID, "the publish node waits", waiting("publish"))
			dir := s.dir
			s.stop()

			// Wait (no server running) until the deadline has passed, as
			// the store sees it.
			st := openStore(t, dir)
			deadline := time.Now().Add(time.Minute)
			for {
				ws, err := st.ExpiredWaits(context.Background(), time.Now(), 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(ws) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the wait never expired in the store")
				}
				time.Sleep(50 * time.Millisecond)
			}
			st.Close()

			s = startSystem(t, dir, brokers, 10*time.Millisecond)
			v := s.waitFor(runID, "the run completes", completed)
			if got := resultOf(v); got != tc.want {
				t.Fatalf("run = %s with nodes %v, want %s", got, nodeIDs(v), tc.want)
			}
			if r := v.NodeRuns[2].Result; r == nil || (*r == store.ResultSuccess) != (tc.name == "continue") {
				t.Errorf("publish result = %v", r)
			}
			tc.check(t, v, h)
		})
	}
}
