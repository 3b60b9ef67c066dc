// Package telemetry exports the engine's runs and node runs as OpenTelemetry
// traces: one trace per run, a span for the run and a child span per node
// run, sent over OTLP/HTTP to a collector (Jaeger, Tempo, the OpenTelemetry
// Collector). It implements engine.Tracer; the engine itself does not depend
// on OpenTelemetry.
//
// Identities are derived, not stored (docs/decisions/018-trace-identity.md):
// a run's trace id and its span id are hashes of the run identifier, a node
// run's span id a hash of the node run identifier. A run started with the
// caller's traceparent takes the caller's trace id instead, stored with the
// run, and its span is a child of the caller's
// (docs/decisions/029-joining-the-callers-trace.md). So whichever process
// reports a node run or a run (the one that started it, the one that resumed
// it after a restart, the one that took an outside completion or a cancel)
// puts it in the same trace under the same parent, and the traceparent sent
// on a WEBHOOK request names the span its node run is reported as.
//
// Everything a span holds comes from engine.NodeSpan and engine.RunSpan:
// identifiers, words the program writes, and run text only as redact.Text.
package telemetry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/traceparent"
)

// Attribute keys of sluice's spans.
const (
	AttrWorkflowID      = "sluice.workflow.id"
	AttrWorkflowVersion = "sluice.workflow.version"
	AttrRunID           = "sluice.run.id"
	AttrTriggerNode     = "sluice.run.trigger"
	AttrRunResult       = "sluice.run.result"
	AttrNodeID          = "sluice.node.id"
	AttrNodeType        = "sluice.node.type"
	AttrNodeRunID       = "sluice.node_run.id"
	AttrAttempt         = "sluice.node_run.attempt"
	AttrNodeStatus      = "sluice.node_run.status"
	AttrNodeResult      = "sluice.node_run.result"
	AttrLogLevel        = "sluice.log.level"
)

// MaxAttributeBytes bounds a string attribute, event attribute or status
// message (a log line, an error): longer ones are cut, ending with "…". A
// span keeps at most 128 events (log lines) and counts the ones it drops.
const MaxAttributeBytes = 4096

// Options configure a Tracer.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP URL: a base such as
	// http://collector:4318 (/v1/traces is appended) or the full traces
	// URL. http sends in clear text, https over TLS. The exporter also
	// honours OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS
	// (an authorization header for a hosted backend).
	Endpoint string
	// Exporter, when set, is used instead of an OTLP exporter to Endpoint
	// (tests use the SDK's in-memory exporter).
	Exporter sdktrace.SpanExporter
	// Sync exports each span as it ends instead of in batches (tests).
	Sync bool
	// ServiceVersion is the service.version resource attribute.
	ServiceVersion string
}

// Tracer reports runs and node runs as spans. It implements engine.Tracer
// and is safe for concurrent use. Shutdown flushes what is buffered.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

// New returns a Tracer exporting to opts.Exporter, or over OTLP/HTTP to
// opts.Endpoint. Creating it sends nothing; spans are exported in batches
// in the background.
func New(opts Options) (*Tracer, error) {
	exp := opts.Exporter
	if exp == nil {
		u, err := EndpointURL(opts.Endpoint)
		if err != nil {
			return nil, err
		}
		if exp, err = otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u)); err != nil {
			return nil, fmt.Errorf("--otlp-endpoint: create the OTLP exporter: %w", err)
		}
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", "sluice")}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", opts.ServiceVersion))
	}
	spOpt := sdktrace.WithBatcher(exp)
	if opts.Sync {
		spOpt = sdktrace.WithSyncer(exp)
	}
	// A log line or an error may be long; collectors refuse huge spans.
	// Cutting text that is already redacted reveals nothing.
	limits := sdktrace.NewSpanLimits()
	limits.AttributeValueLengthLimit = MaxAttributeBytes
	tp := sdktrace.NewTracerProvider(
		spOpt,
		sdktrace.WithRawSpanLimits(limits),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithIDGenerator(derivedIDs{}),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	)
	return &Tracer{tp: tp, tracer: tp.Tracer("github.com/sluice-run/sluice/internal/engine")}, nil
}

// EndpointURL checks an --otlp-endpoint value and returns the URL spans are
// posted to: /v1/traces is appended to a URL without a path.
func EndpointURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("--otlp-endpoint: must be an http:// or https:// URL such as http://127.0.0.1:4318")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("--otlp-endpoint: must not hold credentials, a query or a fragment (headers go in OTEL_EXPORTER_OTLP_HEADERS)")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// Traceparent is the W3C traceparent of a node run's span, in the trace of
// the run's parent when it has one.
func (t *Tracer) Traceparent(runID, nodeRunID string, parent traceparent.Parent) string {
	tid := runTraceID(runID, parent)
	sid := nodeSpanID(nodeRunID)
	return "00-" + hex.EncodeToString(tid[:]) + "-" + hex.EncodeToString(sid[:]) + "-01"
}

// Run reports a run that ended: the trace's root span, from the run's
// creation to its end; with a parent (the caller's span context its
// creation request carried), a child of the caller's span in the caller's
// trace.
func (t *Tracer) Run(r engine.RunSpan) {
	ctx := withIDs(context.Background(), runTraceID(r.RunID, r.Parent), runSpanID(r.RunID))
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(r.Start),
		trace.WithAttributes(
			attribute.String(AttrWorkflowID, r.WorkflowID),
			attribute.Int(AttrWorkflowVersion, r.WorkflowVersion),
			attribute.String(AttrRunID, r.RunID),
			attribute.String(AttrTriggerNode, r.TriggerNode),
			attribute.String(AttrRunResult, r.Result),
		),
	}
	if r.Parent.IsZero() {
		opts = append(opts, trace.WithNewRoot())
	} else {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: r.Parent.TraceID, SpanID: r.Parent.SpanID, TraceFlags: trace.TraceFlags(r.Parent.Flags), Remote: true,
		}))
	}
	_, sp := t.tracer.Start(ctx, "run "+r.WorkflowID, opts...)
	if r.Result == "FAILED" {
		sp.SetStatus(codes.Error, "run FAILED")
	}
	sp.End(trace.WithTimestamp(r.End))
}

// NodeRun reports a node run: a child of the run's span, from the node
// run's creation to its end, with its log lines as events and its error as
// the status. A node run that waits for a completion from outside is
// reported as a child of its own (future) span covering the execution that
// started the wait; the node run's span follows when it ends.
func (t *Tracer) NodeRun(n engine.NodeSpan) {
	tid := runTraceID(n.RunID, n.Parent)
	parent := runSpanID(n.RunID)
	name := n.NodeType + " " + n.NodeID
	var ids context.Context
	if n.Waiting {
		parent = nodeSpanID(n.NodeRunID)
		name = n.NodeType + " " + n.NodeID + " (request, then waiting)"
		ids = context.Background() // a span id of its own
	} else {
		ids = withIDs(context.Background(), tid, nodeSpanID(n.NodeRunID))
	}
	ctx := trace.ContextWithRemoteSpanContext(ids, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: parent, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	status := "COMPLETED"
	if n.Waiting {
		status = "IN_PROGRESS"
	}
	attrs := []attribute.KeyValue{
		attribute.String(AttrWorkflowID, n.WorkflowID),
		attribute.Int(AttrWorkflowVersion, n.WorkflowVersion),
		attribute.String(AttrRunID, n.RunID),
		attribute.String(AttrNodeID, n.NodeID),
		attribute.String(AttrNodeType, n.NodeType),
		attribute.String(AttrNodeRunID, n.NodeRunID),
		attribute.Int(AttrAttempt, n.Attempt),
		attribute.String(AttrNodeStatus, status),
	}
	if n.Result != "" {
		attrs = append(attrs, attribute.String(AttrNodeResult, n.Result))
	}
	_, sp := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(n.Start), trace.WithAttributes(attrs...))
	for _, l := range n.Logs {
		sp.AddEvent("log", trace.WithTimestamp(l.At), trace.WithAttributes(
			attribute.String(AttrLogLevel, l.Level),
			attribute.String("message", cut(l.Message.String())),
		))
	}
	if msg := cut(n.Error.String()); msg != "" {
		// As RecordError would, from the redacted text only.
		sp.AddEvent("exception", trace.WithTimestamp(n.End), trace.WithAttributes(
			attribute.String("exception.type", "sluice.NodeFailed"),
			attribute.String("exception.message", msg),
		))
		sp.SetStatus(codes.Error, msg)
	} else if n.Result == "FAILED" {
		sp.SetStatus(codes.Error, "node run FAILED")
	}
	sp.End(trace.WithTimestamp(n.End))
}

// TraceID is the trace id of a run: the first 16 bytes of a SHA-256 of its
// identifier.
func TraceID(runID string) trace.TraceID {
	var id trace.TraceID
	copy(id[:], derive("sluice trace ", runID))
	return id
}

// runTraceID is the trace id of a run: its parent's when it has one (it
// joined the caller's trace), otherwise TraceID(runID).
func runTraceID(runID string, parent traceparent.Parent) trace.TraceID {
	if !parent.IsZero() {
		return parent.TraceID
	}
	return TraceID(runID)
}

func runSpanID(runID string) trace.SpanID {
	var id trace.SpanID
	copy(id[:], derive("sluice run span ", runID))
	return id
}

func nodeSpanID(nodeRunID string) trace.SpanID {
	var id trace.SpanID
	copy(id[:], derive("sluice node run span ", nodeRunID))
	return id
}

// derive hashes a domain-separated identifier. An all-zero prefix (invalid
// as an id) is as likely as any other 2^-64 event and is made non-zero.
func derive(domain, id string) []byte {
	sum := sha256.Sum256([]byte(domain + id))
	if [8]byte(sum[:8]) == [8]byte{} {
		sum[7] = 1
	}
	return sum[:]
}

// idsKey is the context key of the ids the next span must take.
type idsKey struct{}

type forcedIDs struct {
	tid trace.TraceID
	sid trace.SpanID
}

func withIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, idsKey{}, forcedIDs{tid: tid, sid: sid})
}

// derivedIDs gives a span the ids its context names (withIDs), and random
// ones otherwise.
type derivedIDs struct{}

func (derivedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if f, ok := ctx.Value(idsKey{}).(forcedIDs); ok {
		return f.tid, f.sid
	}
	var tid trace.TraceID
	copy(tid[:], randomBytes(16))
	return tid, randomSpanID()
}

func (derivedIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if f, ok := ctx.Value(idsKey{}).(forcedIDs); ok {
		return f.sid
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	copy(sid[:], randomBytes(8))
	return sid
}

// Interface check.
var _ engine.Tracer = (*Tracer)(nil)

// cut shortens s to at most MaxAttributeBytes, at a character boundary,
// ending with "…". s is redacted text: cutting it reveals nothing.
func cut(s string) string {
	if len(s) <= MaxAttributeBytes {
		return s
	}
	const ellipsis = "…"
	i := MaxAttributeBytes - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// rand.Read never fails on supported platforms (Go 1.24+ crashes instead).
	_, _ = rand.Read(b)
	return b
}
