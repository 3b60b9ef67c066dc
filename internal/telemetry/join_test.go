package telemetry_test

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/telemetry"
	"github.com/sluice-run/sluice/internal/traceparent"
	"github.com/sluice-run/sluice/internal/workflow"
)

// callerTraceparent is the span context of a CI job that starts a run.
const callerTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func mustParent(t *testing.T, s string) traceparent.Parent {
	t.Helper()
	p, err := traceparent.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startWith stores def and starts a run of it with the trace parent.
func (h *harness) startWith(t *testing.T, def string, parent traceparent.Parent) store.Run {
	t.Helper()
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatalf("parse: %v", err)
	}
	rec, err := h.st.CreateWorkflow(context.Background(), store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "u"}, TraceParent: parent})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return run
}

// A run started with the caller's traceparent is in the caller's trace:
// its span a child of the caller's span, every node run's span under it,
// and the traceparent a WEBHOOK sends in that trace. Without one, the run
// is the root of a trace of its own, as before (decision 018).
func TestRunJoinsTheCallersTrace(t *testing.T) {
	caller := mustParent(t, callerTraceparent)
	tests := []struct {
		name   string
		parent traceparent.Parent
	}{
		{"without a traceparent, a trace of its own", traceparent.Parent{}},
		{"with the caller's traceparent, the caller's trace", caller},
		{"with an unsampled caller, the caller's trace all the same", mustParent(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			h := newHarness(t, nil, nil, true)
			run := h.startWith(t, `{"identifier": "joined", "nodes": [`+trigger+`,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/call"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`, tt.parent)
			if got, err := h.st.RunTraceParent(context.Background(), run.Identifier); err != nil || got != tt.parent {
				t.Fatalf("stored trace parent = %v, %v; want %v", got, err, tt.parent)
			}
			done, err := h.eng.Execute(context.Background(), run.Identifier)
			if err != nil || done.Result != store.ResultSuccess {
				t.Fatalf("execute: %v, %v", done.Result, err)
			}
			wantTrace := telemetry.TraceID(run.Identifier)
			if !tt.parent.IsZero() {
				wantTrace = trace.TraceID(tt.parent.TraceID)
			}
			spans := h.exp.GetSpans().Snapshots()
			if len(spans) != 3 {
				t.Fatalf("got %d spans, want 3 (run, trigger, call)", len(spans))
			}
			var root, call sdktrace.ReadOnlySpan
			for _, s := range spans {
				if s.SpanContext().TraceID() != wantTrace {
					t.Errorf("span %q in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), wantTrace)
				}
				switch attr(s, telemetry.AttrNodeID).AsString() {
				case "":
					root = s
				case "call":
					call = s
				}
			}
			if root == nil || call == nil {
				t.Fatal("missing the run's or the call's span")
			}
			if tt.parent.IsZero() {
				if root.Parent().IsValid() {
					t.Errorf("the run's span has parent %v, want none", root.Parent())
				}
			} else if root.Parent().SpanID() != trace.SpanID(tt.parent.SpanID) || root.Parent().TraceID() != wantTrace || !root.Parent().IsRemote() {
				t.Errorf("the run's span has parent %v, want the caller's span %x (remote)", root.Parent(), tt.parent.SpanID)
			}
			if !root.SpanContext().IsSampled() {
				t.Errorf("the run's span is not sampled")
			}
			for _, s := range spans {
				if s.SpanContext().SpanID() != root.SpanContext().SpanID() && s.Parent().SpanID() != root.SpanContext().SpanID() {
					t.Errorf("span %q is not under the run's span", s.Name())
				}
			}
			want := fmt.Sprintf("00-%s-%s-01", wantTrace, call.SpanContext().SpanID())
			if got := rcv.traceparent("/call"); got != want {
				t.Errorf("the webhook sent traceparent %q, want %q", got, want)
			}
		})
	}
}

// A run that joined the caller's trace stays in it when another process
// resumes it after a restart: the second process reads the trace parent
// stored with the run.
func TestResumedRunStaysInTheCallersTrace(t *testing.T) {
	caller := mustParent(t, callerTraceparent)
	r := newRestart()
	h := newHarness(t, nil, map[string]node.Executor{workflow.TypeKafka: r.first()}, true)
	run := h.startWith(t, `{"identifier": "resumed", "nodes": [`+trigger+`,
		{"identifier": "pub", "config": {"type": "KAFKA", "payload": {"a": 1}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "pub"}]}`, caller)
	_, _ = h.eng.Execute(r.ctx, run.Identifier)
	exp2 := r.resume(t, h, run.Identifier)
	all := append(h.exp.GetSpans().Snapshots(), exp2.GetSpans().Snapshots()...)
	if len(all) != 3 {
		t.Fatalf("got %d spans in both processes, want 3 (trigger, pub, run)", len(all))
	}
	var root sdktrace.ReadOnlySpan
	for _, s := range all {
		if s.SpanContext().TraceID() != trace.TraceID(caller.TraceID) {
			t.Errorf("span %q in trace %s, want the caller's %x", s.Name(), s.SpanContext().TraceID(), caller.TraceID)
		}
		if attr(s, telemetry.AttrNodeID).AsString() == "" {
			root = s
		}
	}
	if root == nil || root.Parent().SpanID() != trace.SpanID(caller.SpanID) {
		t.Fatalf("the run's span (second process) is not a child of the caller's span")
	}
	for _, s := range all {
		if s.SpanContext().SpanID() != root.SpanContext().SpanID() && s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("span %q is not under the run's span", s.Name())
		}
	}
	if tps := r.traceparents(); len(tps) != 2 || tps[0] != tps[1] || tps[0][3:35] != fmt.Sprintf("%x", caller.TraceID) {
		t.Errorf("traceparents sent %q, want twice the same, in the caller's trace", tps)
	}
}
