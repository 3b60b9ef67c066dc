package telemetry_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/telemetry"
	"github.com/sluice-run/sluice/internal/traceparent"
	"github.com/sluice-run/sluice/internal/workflow"
)

// receiver is a loopback HTTP server that records the traceparent of each
// request and answers 200 JSON; /echo echoes the Authorization header.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	tps map[string]string // path → traceparent
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{tps: map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.tps[req.URL.Path] = req.Header.Get("traceparent")
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if req.URL.Path == "/echo" {
			_ = json.NewEncoder(w).Encode(map[string]any{"auth": req.Header.Get("Authorization")})
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) traceparent(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tps[path]
}

type funcExec func(ctx context.Context, req *node.Request) (node.Result, error)

func (f funcExec) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	return f(ctx, req)
}

type harness struct {
	st  *sqlite.Store
	eng *engine.Engine
	exp *tracetest.InMemoryExporter
}

// newHarness is an engine on a real SQLite file, traced into an in-memory
// exporter (tr nil) or not traced at all.
func newHarness(t *testing.T, secrets secret.MapSource, extra map[string]node.Executor, traced bool) *harness {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	for typ, ex := range extra {
		reg.Register(typ, ex)
	}
	h := &harness{st: st}
	opts := engine.Options{Store: st, Nodes: reg, Secrets: secrets}
	if traced {
		h.exp = tracetest.NewInMemoryExporter()
		tr, err := telemetry.New(telemetry.Options{Exporter: h.exp, Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		opts.Tracer = tr
	}
	h.eng = engine.New(opts)
	return h
}

// run stores def, starts a run and executes it; it returns the run.
func (h *harness) run(t *testing.T, def string) store.Run {
	t.Helper()
	ctx := context.Background()
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatalf("parse: %v", err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "u"}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if run, err = h.eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatalf("execute: %v", err)
	}
	return run
}

const trigger = `{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}}`

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// A run of trigger → WEBHOOK → CONDITION → WEBHOOK is one trace: the run's
// span is the root, each node run a child of it with its attributes, and
// each webhook receiver saw the traceparent of its own node run's span.
func TestRunIsOneTrace(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil, true)
	def := `{"identifier": "traced", "nodes": [` + trigger + `,
		{"identifier": "first", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/first"}},
		{"identifier": "route", "config": {"type": "CONDITION", "outlets": [{"identifier": "yes", "expression": ".outputs.first.response.data.ok == true"}]}},
		{"identifier": "second", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/second"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "first"},
		  {"sourceIdentifier": "first", "targetIdentifier": "route"},
		  {"sourceIdentifier": "route", "sourceOutletIdentifier": "yes", "targetIdentifier": "second"}]}`
	run := h.run(t, def)
	if run.Result != store.ResultSuccess {
		t.Fatalf("run result = %s", run.Result)
	}
	spans := h.exp.GetSpans().Snapshots()
	if len(spans) != 5 {
		for _, s := range spans {
			t.Log(s.Name(), s.Attributes())
		}
		t.Fatalf("got %d spans, want 5 (run + 4 node runs)", len(spans))
	}
	nrs, err := h.st.NodeRuns(context.Background(), run.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	nrByNode := map[string]store.NodeRun{}
	for _, nr := range nrs {
		nrByNode[nr.NodeID] = nr
	}
	wantTrace := telemetry.TraceID(run.Identifier)
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanContext().TraceID() != wantTrace {
			t.Errorf("span %q: trace %s, want %s", s.Name(), s.SpanContext().TraceID(), wantTrace)
		}
		if attr(s, telemetry.AttrNodeID).AsString() == "" {
			root = s
		}
	}
	if root == nil || root.Parent().IsValid() {
		t.Fatalf("no root run span")
	}
	if got := attr(root, telemetry.AttrRunResult).AsString(); got != "SUCCESS" {
		t.Errorf("run span result = %q", got)
	}
	tests := []struct {
		node, typ string
		attempt   int64
		path      string
	}{
		{"trigger", "SELF_SERVE_TRIGGER", 0, ""},
		{"first", "WEBHOOK", 1, "/first"},
		{"route", "CONDITION", 1, ""},
		{"second", "WEBHOOK", 1, "/second"},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			var s sdktrace.ReadOnlySpan
			for _, x := range spans {
				if attr(x, telemetry.AttrNodeID).AsString() == tt.node {
					s = x
				}
			}
			if s == nil {
				t.Fatalf("no span for node %s", tt.node)
			}
			if s.Parent().SpanID() != root.SpanContext().SpanID() {
				t.Errorf("parent = %s, want the run span %s", s.Parent().SpanID(), root.SpanContext().SpanID())
			}
			nr := nrByNode[tt.node]
			checks := map[string]any{
				telemetry.AttrNodeType:        tt.typ,
				telemetry.AttrNodeRunID:       nr.Identifier,
				telemetry.AttrRunID:           run.Identifier,
				telemetry.AttrWorkflowID:      "traced",
				telemetry.AttrWorkflowVersion: int64(1),
				telemetry.AttrAttempt:         tt.attempt,
				telemetry.AttrNodeResult:      "SUCCESS",
				telemetry.AttrNodeStatus:      "COMPLETED",
			}
			for k, want := range checks {
				if got := attr(s, k).AsInterface(); got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			if tt.path == "" {
				return
			}
			tp := rcv.traceparent(tt.path)
			want := fmt.Sprintf("00-%s-%s-01", wantTrace, s.SpanContext().SpanID())
			if tp != want {
				t.Errorf("receiver got traceparent %q, want %q", tp, want)
			}
			// A receiver parses it as W3C Trace Context.
			parts := strings.Split(tp, "-")
			if len(parts) != 4 || len(parts[1]) != 32 || len(parts[2]) != 16 {
				t.Errorf("traceparent %q is not W3C", tp)
			}
		})
	}
}

// With no tracer, nothing is exported and no traceparent is sent.
func TestUntracedSendsNoTraceparent(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil, false)
	h.run(t, `{"identifier": "plain", "nodes": [`+trigger+`,
		{"identifier": "first", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/first"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "first"}]}`)
	if tp := rcv.traceparent("/first"); tp != "" {
		t.Errorf("traceparent %q sent with tracing off", tp)
	}
}

// An async node completed from outside, after a restart (a new engine on
// the same store, as another process would be), continues the same trace:
// its node run's span has the id its request's traceparent named, and the
// run's span is the same root.
func TestCompletionFromOutsideContinuesTheTrace(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil, true)
	run := h.run(t, `{"identifier": "async", "nodes": [`+trigger+`,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/wait", "synchronized": false}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	if run.Status != store.StatusInProgress {
		t.Fatalf("run status = %s", run.Status)
	}
	tp := rcv.traceparent("/wait")
	nrs, _ := h.st.NodeRuns(context.Background(), run.Identifier)
	waitNR := nrs[len(nrs)-1]

	// Another process: a new engine and tracer on the same store.
	exp2 := tracetest.NewInMemoryExporter()
	tr2, err := telemetry.New(telemetry.Options{Exporter: exp2, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	eng2 := engine.New(engine.Options{Store: h.st, Nodes: reg, Tracer: tr2})
	if _, err := eng2.CompleteNodeRun(context.Background(), waitNR.Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"done": true}}); err != nil {
		t.Fatal(err)
	}
	first, second := h.exp.GetSpans().Snapshots(), exp2.GetSpans().Snapshots()
	all := append(append([]sdktrace.ReadOnlySpan{}, first...), second...)
	var nodeSpan, runSpan, reqSpan sdktrace.ReadOnlySpan
	for _, s := range all {
		if s.SpanContext().TraceID() != telemetry.TraceID(run.Identifier) {
			t.Errorf("span %q in trace %s", s.Name(), s.SpanContext().TraceID())
		}
		switch {
		case attr(s, telemetry.AttrNodeID).AsString() == "wait" && attr(s, telemetry.AttrNodeStatus).AsString() == "COMPLETED":
			nodeSpan = s
		case attr(s, telemetry.AttrNodeID).AsString() == "wait":
			reqSpan = s
		case attr(s, telemetry.AttrNodeID).AsString() == "":
			runSpan = s
		}
	}
	if nodeSpan == nil || runSpan == nil || reqSpan == nil {
		t.Fatalf("missing spans: node %v run %v request %v", nodeSpan != nil, runSpan != nil, reqSpan != nil)
	}
	if want := fmt.Sprintf("00-%s-%s-01", nodeSpan.SpanContext().TraceID(), nodeSpan.SpanContext().SpanID()); tp != want {
		t.Errorf("request traceparent %q, want the node run's span %q", tp, want)
	}
	if nodeSpan.Parent().SpanID() != runSpan.SpanContext().SpanID() {
		t.Errorf("node span parent %s, want run span %s", nodeSpan.Parent().SpanID(), runSpan.SpanContext().SpanID())
	}
	if reqSpan.Parent().SpanID() != nodeSpan.SpanContext().SpanID() {
		t.Errorf("request span parent %s, want node span %s", reqSpan.Parent().SpanID(), nodeSpan.SpanContext().SpanID())
	}
	if !runSpan.StartTime().Equal(run.CreatedAt) {
		t.Errorf("run span starts %v, want the run's creation %v", runSpan.StartTime(), run.CreatedAt)
	}
}

// forms are the ways a secret travels that the redactor knows.
func forms(v string) []string {
	return []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		url.QueryEscape(v + "/&"), hex.EncodeToString([]byte(v)), strings.Trim(fmt.Sprintf("%q", v), `"`)}
}

// A run whose secret appears, raw and encoded, in outputs, log lines,
// errors and completions from outside exports no span that holds it, in
// any attribute, event, status or name.
func TestSpansHoldNoSecret(t *testing.T) {
	const sec = "hunter2-S3CRET-value-0123456789"
	leak := func(ctx context.Context, req *node.Request) (node.Result, error) {
		tok, _ := req.Config["payload"].(map[string]any)["token"].(string)
		for _, f := range forms(tok) {
			req.Log(node.LevelInfo, "token form "+f)
		}
		return node.Result{}, errors.New("publish failed for token " + tok + " / " + base64.StdEncoding.EncodeToString([]byte(tok)))
	}
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"TOKEN": sec}, map[string]node.Executor{workflow.TypeKafka: funcExec(leak)}, true)
	run := h.run(t, `{"identifier": "leaky", "nodes": [`+trigger+`,
		{"identifier": "echo", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/echo", "headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"}}},
		{"identifier": "pub", "config": {"type": "KAFKA", "payload": {"token": "{{ .secrets.TOKEN }}"}, "onFailure": "continue"}},
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/wait", "synchronized": false}},
		{"identifier": "wait2", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/wait2", "synchronized": false}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "echo"},
		  {"sourceIdentifier": "echo", "targetIdentifier": "pub"},
		  {"sourceIdentifier": "pub", "targetIdentifier": "wait"},
		  {"sourceIdentifier": "wait", "targetIdentifier": "wait2"}]}`)
	ctx := context.Background()
	nrs, _ := h.st.NodeRuns(ctx, run.Identifier)
	var logs []engine.LogLine
	for _, f := range forms(sec) {
		logs = append(logs, engine.LogLine{Level: "INFO", Message: "from outside " + f})
	}
	if _, err := h.eng.CompleteNodeRun(ctx, nrs[len(nrs)-1].Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": sec}, Logs: logs}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	nrs, _ = h.st.NodeRuns(ctx, run.Identifier)
	if _, err := h.eng.CompleteNodeRun(ctx, nrs[len(nrs)-1].Identifier, engine.Completion{Status: "COMPLETED", Result: "FAILED",
		Output: map[string]any{"error": map[string]any{"message": "remote failed with " + sec}}, Logs: logs}); err != nil {
		t.Fatal(err)
	}
	spans := h.exp.GetSpans()
	if len(spans) != 8 {
		t.Errorf("got %d spans, want 8 (run, 5 node runs, 2 requests that wait)", len(spans))
	}
	b, err := json.Marshal(spans)
	if err != nil {
		t.Fatal(err)
	}
	dump := string(b)
	for _, f := range forms(sec) {
		if strings.Contains(dump, f) {
			t.Errorf("a span holds the secret form %q", f)
		}
	}
	// The spans did get the redacted text: the failure is recorded.
	var failed int
	for _, s := range spans {
		if s.Status.Code == codes.Error {
			failed++
			if s.Name != "run leaky" && !strings.Contains(s.Status.Description, "***") {
				t.Errorf("span %q status %q: want the masked error", s.Name, s.Status.Description)
			}
		}
	}
	if failed != 3 { // pub, wait2, and the run
		t.Errorf("%d spans with an error status, want 3", failed)
	}
	if !strings.Contains(dump, "token form ***") {
		t.Errorf("log lines missing from the span events: %s", dump)
	}
}

// The traceparent is deterministic: the same run and node run give the
// same header in any process, and different ones differ.
func TestTraceparentIsDerived(t *testing.T) {
	a, _ := telemetry.New(telemetry.Options{Exporter: tracetest.NewNoopExporter()})
	b, _ := telemetry.New(telemetry.Options{Exporter: tracetest.NewNoopExporter()})
	t.Cleanup(func() { _ = a.Shutdown(context.Background()); _ = b.Shutdown(context.Background()) })
	if a.Traceparent("wfr_1", "wfnr_1", traceparent.Parent{}) != b.Traceparent("wfr_1", "wfnr_1", traceparent.Parent{}) {
		t.Error("the same node run got two traceparents")
	}
	seen := map[string]bool{}
	for _, ids := range [][2]string{{"wfr_1", "wfnr_1"}, {"wfr_1", "wfnr_2"}, {"wfr_2", "wfnr_1"}} {
		tp := a.Traceparent(ids[0], ids[1], traceparent.Parent{})
		if seen[tp] {
			t.Errorf("%v: traceparent %s repeats", ids, tp)
		}
		seen[tp] = true
		if _, err := trace.TraceIDFromHex(strings.Split(tp, "-")[1]); err != nil {
			t.Errorf("%s: %v", tp, err)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces", ""},
		{"https://otel.example.com/", "https://otel.example.com/v1/traces", ""},
		{"http://tempo:4318/custom/traces", "http://tempo:4318/custom/traces", ""},
		{"127.0.0.1:4318", "", "http:// or https://"},
		{"ftp://x", "", "http:// or https://"},
		{"http://", "", "http:// or https://"},
		{"http://u:p@host:4318", "", "credentials"},
		{"http://host:4318?token=x", "", "credentials"},
		{"", "", "http:// or https://"},
	}
	for _, tt := range tests {
		got, err := telemetry.EndpointURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "--otlp-endpoint") {
				t.Errorf("%q: err %v, want one naming --otlp-endpoint and %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// A cancel from outside (another process here: a second engine and tracer
// on the same store) ends the trace: the run's span and the span of the
// node run it cancelled, both CANCELLED, in the run's trace.
func TestCancelEndsTheTrace(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, nil, nil, true)
	run := h.run(t, `{"identifier": "cancelled", "nodes": [`+trigger+`,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/wait", "synchronized": false}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	exp2 := tracetest.NewInMemoryExporter()
	tr2, err := telemetry.New(telemetry.Options{Exporter: exp2, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	eng2 := engine.New(engine.Options{Store: h.st, Nodes: node.NewRegistry(), Tracer: tr2})
	if _, err := eng2.Cancel(context.Background(), run.Identifier); err != nil {
		t.Fatal(err)
	}
	spans := exp2.GetSpans().Snapshots()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want the run's and the cancelled node run's", len(spans))
	}
	for _, s := range spans {
		if s.SpanContext().TraceID() != telemetry.TraceID(run.Identifier) {
			t.Errorf("span %q in another trace", s.Name())
		}
		key := telemetry.AttrRunResult
		if attr(s, telemetry.AttrNodeID).AsString() != "" {
			key = telemetry.AttrNodeResult
			if got := attr(s, telemetry.AttrNodeType).AsString(); got != "WEBHOOK" {
				t.Errorf("cancelled node span type %q", got)
			}
		}
		if got := attr(s, key).AsString(); got != "CANCELLED" {
			t.Errorf("span %q: %s = %q, want CANCELLED", s.Name(), key, got)
		}
	}
}

// A run whose node was executing when the process stopped is resumed by
// another process: the node run's span is reported once, by the process
// that completed it, with attempt 2, in the run's trace under the run's
// span; both executions sent the same traceparent.
func TestResumedRunContinuesTheTrace(t *testing.T) {
	r := newRestart()
	h := newHarness(t, nil, map[string]node.Executor{workflow.TypeKafka: r.first()}, true)
	wf, ps := workflow.Parse([]byte(`{"identifier": "resumed", "nodes": [` + trigger + `,
		{"identifier": "pub", "config": {"type": "KAFKA", "payload": {"a": 1}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "pub"}]}`))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	rec, _ := h.st.CreateWorkflow(context.Background(), store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	run, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Version: rec.Version})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = h.eng.Execute(r.ctx, run.Identifier)
	if n := len(h.exp.GetSpans()); n != 1 {
		t.Fatalf("%d spans before the restart, want the trigger's only", n)
	}
	spans := r.resume(t, h, run.Identifier).GetSpans().Snapshots()
	if len(spans) != 2 {
		t.Fatalf("got %d spans after the restart, want the node run's and the run's", len(spans))
	}
	var nodeSpan, runSpan sdktrace.ReadOnlySpan
	for _, s := range spans {
		if attr(s, telemetry.AttrNodeID).AsString() == "pub" {
			nodeSpan = s
		} else {
			runSpan = s
		}
	}
	if nodeSpan == nil || runSpan == nil {
		t.Fatal("missing the node run's or the run's span")
	}
	if got := attr(nodeSpan, telemetry.AttrAttempt).AsInt64(); got != 2 {
		t.Errorf("attempt = %d, want 2", got)
	}
	if nodeSpan.Parent().SpanID() != runSpan.SpanContext().SpanID() || runSpan.SpanContext().TraceID() != telemetry.TraceID(run.Identifier) {
		t.Errorf("node span not under the run's span in the run's trace")
	}
	trigger := h.exp.GetSpans().Snapshots()[0]
	if trigger.Parent().SpanID() != runSpan.SpanContext().SpanID() {
		t.Errorf("the trigger's span (first process) and the run's span (second) are not linked")
	}
	want := fmt.Sprintf("00-%s-%s-01", nodeSpan.SpanContext().TraceID(), nodeSpan.SpanContext().SpanID())
	if tps := r.traceparents(); len(tps) != 2 || tps[0] != want || tps[1] != want {
		t.Errorf("traceparents %q, want twice %q", tps, want)
	}
}

// restart plays a process stopped while a KAFKA node runs and another
// resuming the run: first is the stopped process's executor, resume the
// second process (its own engine and tracer over the same store). Both
// record the traceparent they were given.
type restart struct {
	ctx  context.Context // the first process's, cancelled by first
	stop context.CancelFunc
	mu   sync.Mutex
	tps  []string
}

func newRestart() *restart {
	ctx, stop := context.WithCancel(context.Background())
	return &restart{ctx: ctx, stop: stop}
}

func (r *restart) record(c context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tps = append(r.tps, node.Traceparent(c))
}

// traceparents returns what both executions were given, in order.
func (r *restart) traceparents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tps)
}

// first is the executor of the process that stops while the node runs.
func (r *restart) first() node.Executor {
	return funcExec(func(c context.Context, _ *node.Request) (node.Result, error) {
		r.record(c)
		r.stop() // the process is told to stop while the node runs
		<-c.Done()
		return node.Result{}, c.Err()
	})
}

// resume drives the run to its end in a second process over h's store and
// returns that process's exporter.
func (r *restart) resume(t *testing.T, h *harness, runID string) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.New(telemetry.Options{Exporter: exp, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	reg := node.NewRegistry()
	reg.Register(workflow.TypeKafka, funcExec(func(c context.Context, _ *node.Request) (node.Result, error) {
		r.record(c)
		return node.Result{Output: map[string]any{"ok": true}}, nil
	}))
	done, err := engine.New(engine.Options{Store: h.st, Nodes: reg, Tracer: tr}).Execute(context.Background(), runID)
	if err != nil || done.Result != store.ResultSuccess {
		t.Fatalf("resume: %v, %v", done.Result, err)
	}
	return exp
}

// A long log line is cut to MaxAttributeBytes on the span (the store keeps
// it whole).
func TestLongLogLineIsCut(t *testing.T) {
	long := strings.Repeat("x", 3*telemetry.MaxAttributeBytes)
	h := newHarness(t, nil, map[string]node.Executor{workflow.TypeKafka: funcExec(func(_ context.Context, req *node.Request) (node.Result, error) {
		req.Log(node.LevelInfo, long)
		return node.Result{Output: map[string]any{}}, nil
	})}, true)
	h.run(t, `{"identifier": "long", "nodes": [`+trigger+`,
		{"identifier": "pub", "config": {"type": "KAFKA", "payload": {"a": 1}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "pub"}]}`)
	for _, s := range h.exp.GetSpans() {
		for _, ev := range s.Events {
			for _, kv := range ev.Attributes {
				if n := len(kv.Value.String()); n > telemetry.MaxAttributeBytes {
					t.Errorf("span %q event %q: %s is %d bytes", s.Name, ev.Name, kv.Key, n)
				}
			}
		}
	}
}
