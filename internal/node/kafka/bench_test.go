package kafka_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-run/sluice/internal/node/kafka"
)

// BenchmarkPublish compares the KAFKA node's Execute (config decoding,
// message encoding, the publish and its acknowledgement) with a raw
// franz-go ProduceSync of the same message, with the same producer
// settings (ProducerOptions), to the same kfake broker, in the same run. The ratio is in
// docs/performance.md.
func BenchmarkPublish(b *testing.B) {
	c := newCluster(b)
	brokers := c.ListenAddrs()
	config := map[string]any{"type": "KAFKA", "payload": map[string]any{
		"token": "tok-0123456789abcdef", "requestId": "req-42", "service": "billing", "replicas": 3.0,
	}}
	b.Run("node", func(b *testing.B) {
		e := newExecutor(b, kafka.Options{Brokers: brokers})
		req := newRequest(config)
		req.Log = nil
		ctx := context.Background()
		for b.Loop() {
			if _, err := e.Execute(ctx, req.Request); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-franz-go", func(b *testing.B) {
		// The producer settings of the node's own client.
		kopts, err := kafka.ProducerOptions(kafka.Options{Brokers: brokers})
		if err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(kopts...)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		rec, err := kafka.Record(newRequest(config).Request, kafka.DefaultTopic, config["payload"])
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for b.Loop() {
			r := &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
