package cli

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a fake OpenTelemetry collector on loopback: it accepts
// OTLP/HTTP protobuf exports at POST /v1/traces, as the OTLP specification
// describes them, and keeps the spans.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want a protobuf POST to /v1/traces", http.StatusBadRequest)
			return
		}
		b, err := io.ReadAll(req.Body)
		var msg collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &msg)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range msg.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) got() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// `sluice serve --otlp-endpoint` exports a run's trace over OTLP/HTTP: the
// collector gets the run's span and its node runs' spans, at the latest
// when serve stops (it flushes), in the trace whose id the WEBHOOK
// receiver got in its traceparent. Without the flag nothing is exported
// and no traceparent is sent, even with the OpenTelemetry SDK's own
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at the collector: no exporter exists.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	for _, traced := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[traced], func(t *testing.T) {
			col := newOTLPReceiver(t)
			var args []string
			if traced {
				args = []string{"--otlp-endpoint", col.URL}
			} else {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
				t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", col.URL+"/v1/traces")
			}
			tp := serveOneRun(t, args...)
			spans := col.got()
			if !traced {
				if len(spans) != 0 || tp != "" {
					t.Fatalf("tracing off, yet %d spans exported and traceparent %q sent", len(spans), tp)
				}
				return
			}
			if len(spans) != 3 {
				t.Fatalf("collector got %d spans, want 3 (run, trigger, call)", len(spans))
			}
			parts := strings.Split(tp, "-")
			if len(parts) != 4 {
				t.Fatalf("webhook got traceparent %q", tp)
			}
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
				if hex.EncodeToString(s.TraceId) != parts[1] {
					t.Errorf("span %q in trace %x, want %s", s.Name, s.TraceId, parts[1])
				}
				if s.Name == "WEBHOOK call" && hex.EncodeToString(s.SpanId) != parts[2] {
					t.Errorf("WEBHOOK span id %x, traceparent names %s", s.SpanId, parts[2])
				}
			}
			if !strings.Contains(strings.Join(names, ","), "run traced") {
				t.Errorf("span names %v: no run span", names)
			}
		})
	}
}

// serveOneRun starts serve with args, runs trigger → WEBHOOK to
// completion, stops serve with SIGTERM (which flushes the spans) and
// returns the traceparent the WEBHOOK receiver saw.
func serveOneRun(t *testing.T, args ...string) string {
	t.Helper()
	var tpMu sync.Mutex
	var traceparent string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tpMu.Lock()
		traceparent = req.Header.Get("traceparent")
		tpMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(hook.Close)

	dir := dataDir(t)
	srv := startServer(t, append([]string{"--data-dir", dir}, args...)...)
	adminID, adminSecret := credentials(t, srv.banner)
	admin, code := srv.token(t, adminID, adminSecret)
	if code != http.StatusOK {
		t.Fatalf("admin token: %d", code)
	}
	def := map[string]any{
		"identifier": "traced", "title": "Traced",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER"}},
			map[string]any{"identifier": "call", "config": map[string]any{"type": "WEBHOOK", "url": hook.URL + "/x"}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	if got := srv.call(t, "POST", "/v1/workflows", admin, def, nil); got != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d", got)
	}
	var started struct {
		WorkflowRun struct {
			Identifier string `json:"identifier"`
		} `json:"workflowRun"`
	}
	if got := srv.call(t, "POST", "/v1/workflows/traced/runs", admin, map[string]any{"inputs": map[string]any{}}, &started); got != http.StatusCreated {
		t.Fatalf("start run: %d", got)
	}
	runID := started.WorkflowRun.Identifier
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got struct {
			WorkflowRun struct {
				Status string `json:"status"`
			} `json:"workflowRun"`
		}
		srv.call(t, "GET", "/v1/workflows/runs/"+runID, admin, nil, &got)
		if got.WorkflowRun.Status == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", runID, got.WorkflowRun.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v: %s", err, srv.logs())
	}
	tpMu.Lock()
	defer tpMu.Unlock()
	return traceparent
}

// A bad --otlp-endpoint (or SLUICE_OTLP_ENDPOINT) stops serve before it
// writes anything, naming the setting; config show lists the endpoint.
func TestOTLPEndpointSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag", nil, []string{"--otlp-endpoint", "collector:4318"}, "--otlp-endpoint: must be an http:// or https:// URL"},
		{"environment", map[string]string{"SLUICE_OTLP_ENDPOINT": "http://u:p@collector:4318"}, nil, "--otlp-endpoint: must not hold credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			r := sluiceEnv(t, tc.env, "", append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "u:p@") {
				t.Errorf("stderr shows the credentials: %s", r.stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the data dir was created (%v)", err)
			}
		})
	}
	r := sluiceEnv(t, map[string]string{"SLUICE_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "", "config", "show")
	if r.code != 0 || !strings.Contains(r.stdout, "otlp-endpoint") || !strings.Contains(r.stdout, "SLUICE_OTLP_ENDPOINT") {
		t.Errorf("config show: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
