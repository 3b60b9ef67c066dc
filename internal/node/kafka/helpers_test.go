package kafka_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/workflow"
)

// newCluster starts an in-process kfake broker on loopback with the topics
// "sluice.runs" and "orders", and any further options.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	all := append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, kafka.DefaultTopic, "orders")}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// newExecutor returns an executor over opts, closed at the end of the test.
func newExecutor(t testing.TB, opts kafka.Options) *kafka.Executor {
	t.Helper()
	e, err := kafka.New(opts)
	if err != nil {
		t.Fatalf("kafka.New: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// request is a node request for config, with its log lines collected.
type request struct {
	*node.Request
	logs []string
}

func newRequest(config map[string]any) *request {
	r := &request{}
	r.Request = &node.Request{
		WorkflowID:      "register-and-publish",
		WorkflowVersion: 3,
		RunID:           "wfr_0000001abcdefghi",
		NodeRunID:       "wfnr_0000001abcdefghi",
		Node:            &workflow.Node{Identifier: "publish", Type: workflow.TypeKafka},
		Config:          config,
		Log:             func(level, msg string) { r.logs = append(r.logs, level+" "+msg) },
	}
	return r
}

// consume reads n records from topic, from the start, within a generous
// deadline.
func consume(t testing.TB, brokers []string, topic string, n int, extra ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s before the deadline", len(out), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytesReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// saslOpt authenticates a test consumer.
func saslOpt(mechanism, user, pass string) kgo.Opt {
	switch mechanism {
	case kafka.MechanismPlain:
		return kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())
	case kafka.MechanismScramSHA512:
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
	default:
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())
	}
}
