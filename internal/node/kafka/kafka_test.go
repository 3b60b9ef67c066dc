package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/workflow"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

const token = "tok-SECRET-0123456789abcdef"

func TestPublish(t *testing.T) {
	c := newCluster(t)
	brokers := c.ListenAddrs()
	tests := []struct {
		name         string
		config       map[string]any
		topic        string
		wantDeadline bool
		wantContinue bool
	}{
		{name: "default topic", config: map[string]any{"type": "KAFKA", "payload": map[string]any{"token": token, "n": json.Number("2")}}, topic: kafka.DefaultTopic},
		{name: "topic of the node", config: map[string]any{"payload": []any{"a", "b"}, "topic": "orders"}, topic: "orders"},
		{name: "deadline", config: map[string]any{"payload": map[string]any{}, "timeoutSeconds": json.Number("60")}, topic: kafka.DefaultTopic, wantDeadline: true},
		{name: "deadline continue", config: map[string]any{"payload": map[string]any{}, "timeoutSeconds": 1.5, "onTimeout": "continue", "onFailure": "continue"}, topic: kafka.DefaultTopic, wantDeadline: true, wantContinue: true},
	}
	e := newExecutor(t, kafka.Options{Brokers: brokers})
	counts := map[string]int{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(tc.config)
			before := time.Now()
			res, err := e.Execute(context.Background(), req.Request)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if !res.Pending || res.Output != nil {
				t.Errorf("result = %+v, want pending without output", res)
			}
			if got := !res.WaitUntil.IsZero(); got != tc.wantDeadline {
				t.Errorf("WaitUntil = %v, want a deadline: %v", res.WaitUntil, tc.wantDeadline)
			}
			if tc.wantDeadline && (res.WaitUntil.Before(before) || res.WaitUntil.After(time.Now().Add(time.Minute))) {
				t.Errorf("WaitUntil = %v, want within the timeout of the start", res.WaitUntil)
			}
			if res.OnTimeoutContinue != tc.wantContinue {
				t.Errorf("OnTimeoutContinue = %v, want %v", res.OnTimeoutContinue, tc.wantContinue)
			}
			counts[tc.topic]++
			recs := consume(t, brokers, tc.topic, counts[tc.topic])
			rec := recs[len(recs)-1]
			if string(rec.Key) != req.RunID {
				t.Errorf("key = %q, want the run id", rec.Key)
			}
			headers := map[string]string{}
			for _, h := range rec.Headers {
				headers[h.Key] = string(h.Value)
			}
			if headers[kafka.HeaderWorkflowRun] != req.RunID || headers[kafka.HeaderNodeRun] != req.NodeRunID {
				t.Errorf("headers = %v, want the run and node run ids", headers)
			}
			msg := decode(t, rec.Value)
			wantPayload, _ := json.Marshal(tc.config["payload"])
			gotPayload, _ := json.Marshal(msg["payload"])
			if !bytes.Equal(gotPayload, wantPayload) {
				t.Errorf("payload = %s, want %s", gotPayload, wantPayload)
			}
			ctxJSON, _ := json.Marshal(msg["context"])
			const wantCtx = `{"nodeIdentifier":"publish","workflowIdentifier":"register-and-publish","workflowNodeRunIdentifier":"wfnr_0000001abcdefghi","workflowRunIdentifier":"wfr_0000001abcdefghi","workflowVersion":3}`
			if string(ctxJSON) != wantCtx {
				t.Errorf("context = %s, want %s", ctxJSON, wantCtx)
			}
			if len(req.logs) != 1 || !strings.Contains(req.logs[0], "INFO published to topic "+tc.topic+" partition 0 offset ") {
				t.Errorf("logs = %q, want one INFO line with topic, partition and offset", req.logs)
			}
			for _, l := range req.logs {
				if strings.Contains(l, token) {
					t.Errorf("a log line holds the payload's secret: %q", l)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	e := newExecutor(t, kafka.Options{Brokers: []string{closedPort(t)}})
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"no payload", map[string]any{}, "config.payload: required"},
		{"string payload", map[string]any{"payload": token}, "config.payload: must be an object or an array, got string"},
		{"unknown field", map[string]any{"payload": map[string]any{}, "url": "x"}, "config.url: unknown field"},
		{"topic type", map[string]any{"payload": map[string]any{}, "topic": 3.0}, "config.topic: must be a string, got number"},
		{"topic chars", map[string]any{"payload": map[string]any{}, "topic": "a b/" + token}, "config.topic: may hold only"},
		{"timeout", map[string]any{"payload": map[string]any{}, "timeoutSeconds": -1.0}, "config.timeoutSeconds: must be greater than 0"},
		{"onTimeout", map[string]any{"payload": map[string]any{}, "onTimeout": "retry"}, "config.onTimeout: must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Execute(context.Background(), newRequest(tc.config).Request)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error quotes a value: %v", err)
			}
		})
	}
}

func TestNotConfigured(t *testing.T) {
	e := newExecutor(t, kafka.Options{})
	if e.Configured() {
		t.Fatal("Configured() = true without brokers")
	}
	_, err := e.Execute(context.Background(), newRequest(map[string]any{"payload": map[string]any{}}).Request)
	if !errors.Is(err, kafka.ErrNotConfigured) || !strings.Contains(err.Error(), "--kafka-brokers") {
		t.Fatalf("err = %v, want ErrNotConfigured naming --kafka-brokers", err)
	}
	ws := e.Warnings(&workflow.Node{Identifier: "publish", Type: workflow.TypeKafka})
	if len(ws) != 1 || !strings.Contains(ws[0], "node publish fails when it runs") || !strings.Contains(ws[0], "--dev-kafka") {
		t.Errorf("Warnings = %q, want one naming the node and what to configure", ws)
	}
	if ws := newExecutor(t, kafka.Options{Brokers: []string{closedPort(t)}}).Warnings(&workflow.Node{Identifier: "publish"}); len(ws) != 0 {
		t.Errorf("Warnings with brokers = %q, want none", ws)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts kafka.Options
		want string
	}{
		{"broker", kafka.Options{Brokers: []string{"localhost"}}, "must be host:port"},
		{"topic", kafka.Options{Topic: "a/b"}, "kafka topic: may hold only"},
		{"compression", kafka.Options{Brokers: []string{"127.0.0.1:1"}, Compression: "brotli"}, "kafka compression"},
		{"mechanism", kafka.Options{Brokers: []string{"127.0.0.1:1"}, SASL: &kafka.SASL{Mechanism: "GSSAPI", User: "u", Password: func(context.Context) (string, error) { return "", nil }}}, "kafka SASL mechanism"},
		{"no user", kafka.Options{Brokers: []string{"127.0.0.1:1"}, SASL: &kafka.SASL{Mechanism: "PLAIN"}}, "a user and a password secret are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := kafka.New(tc.opts)
			if err == nil {
				e.Close()
				t.Fatalf("New succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestFailures: each way a publish fails names the broker and the topic,
// says why, never quotes the payload, and ends within the node's timeout.
func TestFailures(t *testing.T) {
	// Incompressible, so that it is over the broker's limit after snappy.
	rnd := rand.New(rand.NewPCG(1, 2))
	blob := make([]byte, 8192)
	for i := range blob {
		blob[i] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[rnd.IntN(62)]
	}
	payload := map[string]any{"token": token, "blob": string(blob)}
	tests := []struct {
		name    string
		cluster []kfake.Opt // nil: no broker at all (a closed port)
		opts    func(o *kafka.Options)
		topic   string
		wantIs  error
		want    []string
	}{
		{name: "unreachable", want: []string{"no acknowledgement within 2s", "connection refused"}},
		{name: "missing topic", cluster: []kfake.Opt{}, topic: "nope", wantIs: kerr.UnknownTopicOrPartition, want: []string{"topic nope", "does not exist"}},
		{name: "too large for the broker", cluster: []kfake.Opt{kfake.BrokerConfigs(map[string]string{"message.max.bytes": "1024"})}, wantIs: kerr.MessageTooLarge, want: []string{"too large"}},
		{name: "too large for the producer", cluster: []kfake.Opt{}, opts: func(o *kafka.Options) { o.MaxMessageBytes = 1024 }, wantIs: kerr.MessageTooLarge, want: []string{"too large"}},
		{name: "authorization denied", cluster: []kfake.Opt{
			kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "admin-pass"), kfake.EnableACLs(),
			kfake.User("PLAIN", "sluice", "sluice-pass",
				kfake.ACL{Resource: kmsg.ACLResourceTypeCluster, Name: "kafka-cluster", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationIdempotentWrite, Allow: true},
				kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "orders", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAll, Allow: true}),
		}, opts: func(o *kafka.Options) {
			o.SASL = &kafka.SASL{Mechanism: "PLAIN", User: "sluice", Password: func(context.Context) (string, error) { return "sluice-pass", nil }}
		}, wantIs: kerr.TopicAuthorizationFailed, want: []string{"not authorized to write to the topic"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var brokers []string
			if tc.cluster == nil {
				brokers = []string{closedPort(t)}
			} else {
				brokers = newCluster(t, tc.cluster...).ListenAddrs()
			}
			opts := kafka.Options{Brokers: brokers}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			e := newExecutor(t, opts)
			config := map[string]any{"payload": payload, "timeoutSeconds": json.Number("2")}
			topic := kafka.DefaultTopic
			if tc.topic != "" {
				config["topic"], topic = tc.topic, tc.topic
			}
			// A generous bound (no timed assertion): a publish that never
			// ends would hang the test instead of failing it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := e.Execute(ctx, newRequest(config).Request)
			if err == nil {
				t.Fatal("Execute succeeded, want a failure")
			}
			if ctx.Err() != nil {
				t.Fatalf("the publish did not end within its timeout: %v", err)
			}
			msg := err.Error()
			var pe *kafka.PublishError
			if !errors.As(err, &pe) {
				t.Errorf("err = %T %v, want a *PublishError", err, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v, want it to match %v", err, tc.wantIs)
			}
			for _, w := range append([]string{"topic " + topic, brokers[0]}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("err = %q, want it to contain %q", msg, w)
				}
			}
			for _, secret := range []string{token, "sluice-pass", string(blob[:16])} {
				if strings.Contains(msg, secret) {
					t.Errorf("err = %q quotes %q", msg, secret)
				}
			}
		})
	}
}

func TestSASL(t *testing.T) {
	const user, pass = "sluice", "s3cret-password-value"
	tests := []struct {
		mechanism string
		password  string
		wantErr   string
	}{
		{kafka.MechanismPlain, pass, ""},
		{kafka.MechanismScramSHA256, pass, ""},
		{kafka.MechanismScramSHA512, pass, ""},
		{kafka.MechanismPlain, "wrong-password-value", "SASL"},
		{kafka.MechanismScramSHA256, "wrong-password-value", "SASL"},
		{kafka.MechanismScramSHA512, "wrong-password-value", "SASL"},
	}
	for _, tc := range tests {
		t.Run(tc.mechanism+"/"+tc.password, func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(tc.mechanism, user, pass))
			calls := 0
			e := newExecutor(t, kafka.Options{Brokers: c.ListenAddrs(), SASL: &kafka.SASL{Mechanism: tc.mechanism, User: user,
				Password: func(context.Context) (string, error) { calls++; return tc.password, nil }}})
			_, err := e.Execute(context.Background(), newRequest(map[string]any{"payload": map[string]any{"a": 1.0}, "timeoutSeconds": json.Number("3")}).Request)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Execute: %v", err)
				}
				recs := consume(t, c.ListenAddrs(), kafka.DefaultTopic, 1, saslOpt(tc.mechanism, user, pass))
				if len(recs) != 1 {
					t.Fatalf("read %d records, want 1", len(recs))
				}
				if calls == 0 {
					t.Error("the password function was never called")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), tc.password) || strings.Contains(err.Error(), pass) {
				t.Errorf("err = %q quotes a password", err)
			}
		})
	}
}
