// Package kafka is the KAFKA node: it publishes the node's rendered payload,
// with the run's context, to a Kafka topic, records the broker's
// acknowledgement on the node run, and leaves the node waiting (IN_PROGRESS)
// until a consumer completes it through the API (PATCH
// /v1/workflows/nodes/runs/{wfnr}).
//
// # Config
//
//	payload         required; an object or an array (templated; the one field
//	                of the node that may read .secrets)
//	topic           default: the server's topic (--kafka-topic, "sluice.runs")
//	timeoutSeconds  optional; bounds the wait: a node not completed by then
//	                fails (or, with onTimeout "continue", succeeds with
//	                {"timeout": true}). The deadline is stored with the node
//	                run, so it holds across restarts. The publish itself is
//	                bounded by the smaller of timeoutSeconds and
//	                Options.PublishTimeout (30 s); a publish that fails
//	                always fails the node (onTimeout does not apply to it).
//	onTimeout       "fail" (default) | "continue"
//	onFailure, type read by the engine, ignored here
//
// # Message
//
// The value is the JSON object
//
//	{"payload": <payload as rendered>,
//	 "context": {"workflowIdentifier": "...", "workflowVersion": 3,
//	             "workflowRunIdentifier": "wfr_...", "nodeIdentifier": "...",
//	             "workflowNodeRunIdentifier": "wfnr_..."}}
//
// keyed by the run identifier (so one run's messages keep their order on one
// partition), with the headers X-Sluice-Workflow-Run and X-Sluice-Node-Run.
// The payload is sent as rendered: secrets in it reach the topic, which is
// its purpose. Everything the node logs or returns goes through the run's
// redactor like any other node's.
//
// # Producer
//
// One franz-go client per process, shared by every node: idempotent, acks
// from all in-sync replicas, no linger (a node publishes one message and
// waits for it), compression chosen explicitly (Options.Compression, snappy
// by default). The SASL password is read from a sluice secret, by name, on
// each new connection: it never sits in a flag, the environment or a file.
//
// # Acknowledgement and restarts
//
// The node logs "published to topic T partition P offset O" and returns
// pending; the engine commits that line in the same transaction that marks
// the node run waiting, so a restart after that commit does not publish
// again. A process that stops between the broker's acknowledgement and the
// commit publishes again when the run resumes (at least once); consumers
// drop duplicates by X-Sluice-Node-Run, as webhook receivers do.
//
// # Errors
//
// A publish that fails names the topic and the configured brokers and the
// reason (kerr's code, a dial error, "no acknowledgement within 30s"), never
// a payload, a password or a SASL exchange. With no brokers configured the
// executor is still registered, so a KAFKA node fails with what to
// configure, and Warnings tells a workflow's author at save time.
package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Headers of every message.
const (
	HeaderWorkflowRun = "X-Sluice-Workflow-Run"
	HeaderNodeRun     = "X-Sluice-Node-Run"
)

// SASL mechanisms.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// Compression codecs.
var compressions = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// DefaultCompression is Options.Compression when it is "".
const DefaultCompression = "snappy"

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	User      string
	// Password returns the password, from a sluice secret; it is called
	// for each new connection, so a rotated secret is used from the next
	// connection on.
	Password func(ctx context.Context) (string, error)
}

// Options configure an Executor.
type Options struct {
	// Brokers are the seed brokers, host:port. None: the executor fails
	// every node with ErrNotConfigured.
	Brokers []string
	// Topic is the topic of nodes without config.topic; "" means
	// DefaultTopic.
	Topic string
	// ClientID is the Kafka client id; "" means "sluice".
	ClientID string
	// TLS, when set, connects with TLS.
	TLS *tls.Config
	// SASL, when set, authenticates.
	SASL *SASL
	// Compression is none, gzip, snappy, lz4 or zstd; "" means
	// DefaultCompression.
	Compression string
	// MaxMessageBytes bounds a message (the producer's batch size); a
	// larger one fails the node with kerr.MessageTooLarge. 0 means Kafka's
	// default, 1000012.
	MaxMessageBytes int32
	// Logger receives the client's own warnings; nil discards them.
	Logger *slog.Logger
	// PublishTimeout bounds a publish (the wait for the broker's
	// acknowledgement); a node's shorter timeoutSeconds bounds it more.
	// 0 means DefaultPublishTimeout.
	PublishTimeout time.Duration
}

// ErrNotConfigured fails a KAFKA node when the server has no brokers.
var ErrNotConfigured = errors.New("no Kafka brokers are configured: start sluice with --kafka-brokers host:port (or SLUICE_KAFKA_BROKERS), or with --dev-kafka for an in-process development broker")

// Executor executes KAFKA nodes with one shared producer. It is safe for
// concurrent use. Close it at shutdown.
type Executor struct {
	client *kgo.Client // nil when no brokers are configured
	// publishTimeout is Options.PublishTimeout with its default.
	publishTimeout time.Duration
	topic          string
	brokers        string // for messages: the seed brokers, comma-separated
	conns          *connErrors
}

// New returns an Executor. It does not connect: the first publish does.
// Options with no brokers give an executor that fails every node with
// ErrNotConfigured.
func New(opts Options) (*Executor, error) {
	e := &Executor{topic: opts.Topic, brokers: strings.Join(opts.Brokers, ","), conns: &connErrors{sasl: opts.SASL != nil}, publishTimeout: opts.PublishTimeout}
	if e.publishTimeout <= 0 {
		e.publishTimeout = DefaultPublishTimeout
	}
	if e.topic == "" {
		e.topic = DefaultTopic
	}
	if err := checkTopic(e.topic); err != nil {
		return nil, fmt.Errorf("kafka topic: %w", err)
	}
	if len(opts.Brokers) == 0 {
		return e, nil
	}
	kopts, err := clientOptions(opts, e.conns)
	if err != nil {
		return nil, err
	}
	if e.client, err = kgo.NewClient(kopts...); err != nil {
		return nil, fmt.Errorf("kafka client for brokers %s: %w", e.brokers, err)
	}
	return e, nil
}

// clientOptions are the franz-go options of the shared producer.
func clientOptions(opts Options, conns *connErrors) ([]kgo.Opt, error) {
	for _, b := range opts.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("kafka broker %q: must be host:port", b)
		}
	}
	clientID := opts.ClientID
	if clientID == "" {
		clientID = "sluice"
	}
	name := opts.Compression
	if name == "" {
		name = DefaultCompression
	}
	codec, ok := compressions[name]
	if !ok {
		return nil, fmt.Errorf("kafka compression %q: must be none, gzip, snappy, lz4 or zstd", name)
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ClientID(clientID),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with idempotency, the default made explicit
		kgo.ProducerBatchCompression(codec, kgo.NoCompression()),
		kgo.ProducerLinger(0),
		kgo.WithHooks(conns),
		kgo.RecordDeliveryTimeout(publishTimeout(opts)),
	}
	if opts.MaxMessageBytes > 0 {
		kopts = append(kopts, kgo.ProducerBatchMaxBytes(opts.MaxMessageBytes))
	}
	if opts.TLS != nil {
		kopts = append(kopts, kgo.DialTLSConfig(opts.TLS))
	}
	if opts.SASL != nil {
		m, err := mechanism(opts.SASL)
		if err != nil {
			return nil, err
		}
		kopts = append(kopts, kgo.SASL(m))
	}
	if opts.Logger != nil {
		kopts = append(kopts, kgo.WithLogger(kgoLogger{opts.Logger}))
	}
	return kopts, nil
}

// publishTimeout is opts.PublishTimeout with its default.
func publishTimeout(opts Options) time.Duration {
	if opts.PublishTimeout > 0 {
		return opts.PublishTimeout
	}
	return DefaultPublishTimeout
}

// mechanism builds the SASL mechanism of s.
func mechanism(s *SASL) (sasl.Mechanism, error) {
	if s.User == "" || s.Password == nil {
		return nil, errors.New("kafka SASL: a user and a password secret are required")
	}
	password := func(ctx context.Context) (string, error) {
		p, err := s.Password(ctx)
		if err != nil {
			return "", fmt.Errorf("kafka SASL password: %w", err)
		}
		return p, nil
	}
	switch strings.ToUpper(s.Mechanism) {
	case MechanismPlain:
		return plain.Plain(func(ctx context.Context) (plain.Auth, error) {
			p, err := password(ctx)
			return plain.Auth{User: s.User, Pass: p}, err
		}), nil
	case MechanismScramSHA256, MechanismScramSHA512:
		fn := func(ctx context.Context) (scram.Auth, error) {
			p, err := password(ctx)
			return scram.Auth{User: s.User, Pass: p}, err
		}
		if strings.ToUpper(s.Mechanism) == MechanismScramSHA256 {
			return scram.Sha256(fn), nil
		}
		return scram.Sha512(fn), nil
	default:
		return nil, fmt.Errorf("kafka SASL mechanism %q: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
	}
}

// Register adds e to r as the KAFKA executor.
func Register(r *node.Registry, e *Executor) {
	r.Register(workflow.TypeKafka, e)
}

// Close closes the producer, waiting for nothing: a node whose publish is
// still in flight fails (its run resumes at the next start).
func (e *Executor) Close() {
	if e.client != nil {
		e.client.Close()
	}
}

// Configured reports whether brokers are configured.
func (e *Executor) Configured() bool { return e.client != nil }

// Warnings implements node.Warner: a workflow with a KAFKA node saved on a
// server without brokers is told what its node will do.
func (e *Executor) Warnings(n *workflow.Node) []string {
	if e.client != nil {
		return nil
	}
	return []string{fmt.Sprintf("node %s fails when it runs: %s", n.Identifier, ErrNotConfigured.Error())}
}

// Message is the value of a published message.
type Message struct {
	Payload any            `json:"payload"`
	Context MessageContext `json:"context"`
}

// MessageContext says which node run a message belongs to.
type MessageContext struct {
	WorkflowIdentifier        string `json:"workflowIdentifier"`
	WorkflowVersion           int    `json:"workflowVersion"`
	WorkflowRunIdentifier     string `json:"workflowRunIdentifier"`
	NodeIdentifier            string `json:"nodeIdentifier"`
	WorkflowNodeRunIdentifier string `json:"workflowNodeRunIdentifier"`
}

// Record builds the message of a node run: value, key and headers. It is
// what Execute publishes.
func Record(req *node.Request, topic string, payload any) (*kgo.Record, error) {
	nodeID := ""
	if req.Node != nil {
		nodeID = req.Node.Identifier
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(Message{Payload: payload, Context: MessageContext{
		WorkflowIdentifier:        req.WorkflowID,
		WorkflowVersion:           req.WorkflowVersion,
		WorkflowRunIdentifier:     req.RunID,
		NodeIdentifier:            nodeID,
		WorkflowNodeRunIdentifier: req.NodeRunID,
	}})
	if err != nil {
		// The encoder's message may quote a value: leave it out.
		return nil, errors.New("config.payload: cannot be encoded as JSON")
	}
	return &kgo.Record{
		Topic: topic,
		Key:   []byte(req.RunID),
		Value: bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
		Headers: []kgo.RecordHeader{
			{Key: HeaderWorkflowRun, Value: []byte(req.RunID)},
			{Key: HeaderNodeRun, Value: []byte(req.NodeRunID)},
		},
	}, nil
}

// Execute publishes the node's message and leaves the node waiting. See the
// package doc.
func (e *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	c, err := decodeConfig(req.Config)
	if err != nil {
		return node.Result{}, err
	}
	if e.client == nil {
		return node.Result{}, ErrNotConfigured
	}
	topic := c.topic
	if topic == "" {
		topic = e.topic
	}
	rec, err := Record(req, topic, c.payload)
	if err != nil {
		return node.Result{}, err
	}
	start := time.Now()
	timeout := min(c.timeout, e.publishTimeout)
	seen := e.conns.mark()
	// The record is produced without a cancellable context: franz-go
	// watches a cancellable one per record, which doubles the cost of a
	// publish. The node's own timer bounds the wait instead, and the
	// client fails a record still unsent after publishTimeout
	// (RecordDeliveryTimeout), so an abandoned record does not linger.
	done := make(chan error, 1)
	e.client.Produce(context.Background(), rec, func(_ *kgo.Record, err error) { done <- err })
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		err = context.DeadlineExceeded
	case <-ctx.Done():
		return node.Result{}, fmt.Errorf("publish to topic %s cancelled: %w", topic, ctx.Err())
	}
	elapsed := time.Since(start)
	if err != nil {
		return node.Result{}, e.publishError(topic, len(rec.Value), timeout, err, seen)
	}
	if req.Log != nil {
		req.Log(node.LevelInfo, fmt.Sprintf("published to topic %s partition %d offset %d in %s; waiting for a consumer to complete node run %s",
			rec.Topic, rec.Partition, rec.Offset, formatElapsed(elapsed), req.NodeRunID))
		if req.Node != nil && req.Node.Verbose {
			req.Log(node.LevelDebug, "message: "+string(rec.Value))
		}
	}
	res := node.Result{Pending: true}
	if c.hasTimeout {
		res.WaitUntil = start.Add(c.timeout)
		res.OnTimeoutContinue = c.onTimeout == OnTimeoutContinue
	}
	return res, nil
}

// formatElapsed writes a duration for the INFO line.
func formatElapsed(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// kgoLogger sends the client's warnings and errors to a slog logger. The
// client logs no record values; SASL it logs by mechanism and user only.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	k.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}

// connErrors remembers the last failed connection attempt (dial, TLS or
// SASL), so that a publish that timed out can say why.
type connErrors struct {
	sasl bool // SASL is configured
	mu   sync.Mutex
	seq  uint64
	last string
	at   uint64
}

// mark returns the current sequence; connection errors after it are news.
func (c *connErrors) mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// since returns the last connection error recorded after mark, or "".
func (c *connErrors) since(mark uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at > mark {
		return c.last
	}
	return ""
}

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (c *connErrors) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if err != nil {
		why := describeConnError(err)
		if c.sasl && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			// Brokers close the connection on a refused SASL exchange.
			why = "the broker closed the connection during the handshake; SASL is configured, so the user or the password secret was probably refused"
		}
		c.last = fmt.Sprintf("connecting to broker %s failed: %s", net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port)), why)
		c.at = c.seq
	}
}

// ConsumerOptions returns the franz-go options that connect a client as the
// executor made from opts would (brokers, client id, TLS, SASL), without
// the producer's: kafka consume and tests build consumers with them.
func ConsumerOptions(opts Options) ([]kgo.Opt, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if opts.Topic == "" {
		opts.Topic = DefaultTopic
	}
	kopts := []kgo.Opt{kgo.SeedBrokers(opts.Brokers...)}
	if opts.ClientID != "" {
		kopts = append(kopts, kgo.ClientID(opts.ClientID))
	}
	if opts.TLS != nil {
		kopts = append(kopts, kgo.DialTLSConfig(opts.TLS))
	}
	if opts.SASL != nil {
		m, err := mechanism(opts.SASL)
		if err != nil {
			return nil, err
		}
		kopts = append(kopts, kgo.SASL(m))
	}
	return kopts, nil
}

// ProducerOptions returns the franz-go options of the producer that New
// builds from opts, for comparing the node with a bare client in
// benchmarks.
func ProducerOptions(opts Options) ([]kgo.Opt, error) {
	return clientOptions(opts, &connErrors{})
}
