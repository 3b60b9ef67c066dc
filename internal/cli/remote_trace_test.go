package cli

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// headerRecorder is a fake sluice server on loopback: it records every
// request's method, path and traceparent header, answers a run's creation
// with an IN_PROGRESS run and a read of that run with it COMPLETED
// SUCCESS, and 404 to anything else (as sluice words it).
type headerRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recordedReq
}

type recordedReq struct {
	method, path string
	traceparent  []string
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	h := &headerRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.reqs = append(h.reqs, recordedReq{r.Method, r.URL.Path, r.Header.Values("traceparent")})
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		run := `{"identifier": "wfr_1", "workflow": {"identifier": "deploy", "version": 1}, "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z"`
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/workflows/deploy/runs":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"ok": true, "workflowRun": `+run+`, "status": "IN_PROGRESS"}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/workflows/runs/wfr_1":
			io.WriteString(w, `{"ok": true, "workflowRun": `+run+`, "status": "COMPLETED", "result": "SUCCESS"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"ok": false, "error": "not_found", "message": "not found"}`)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// take returns the requests recorded so far and forgets them.
func (h *headerRecorder) take() []recordedReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.reqs
	h.reqs = nil
	return out
}

// TestRunsStartForwardsTraceParent checks where runs start takes the
// traceparent it sends with the run's creation (TRACEPARENT, overridden by
// --traceparent, none with --traceparent=), that only the creation carries
// it (not the reads of --wait), and that a value the server's parser
// refuses is an error naming the flag or the variable, exit 2, with
// nothing sent.
func TestRunsStartForwardsTraceParent(t *testing.T) {
	t.Parallel()
	const (
		envTP  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		flagTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
		// A later version: its first four fields are read, the rest kept.
		laterTP = "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"
	)
	rec := newHeaderRecorder(t)
	tests := []struct {
		name   string
		env    string // TRACEPARENT; "" unset
		args   []string
		code   int
		want   string // the traceparent sent; "" none
		stderr []string
	}{
		{"none", "", nil, 0, "", nil},
		{"from the environment", envTP, nil, 0, envTP, nil},
		{"from the flag", "", []string{"--traceparent", flagTP}, 0, flagTP, nil},
		{"the flag overrides the environment", envTP, []string{"--traceparent", flagTP}, 0, flagTP, nil},
		{"the flag overrides a malformed environment", "garbage", []string{"--traceparent=" + flagTP}, 0, flagTP, nil},
		{"an empty flag sends none", envTP, []string{"--traceparent="}, 0, "", nil},
		{"a later version", laterTP, nil, 0, laterTP, nil},
		{"with --wait only the creation carries it", envTP, []string{"--wait"}, 0, envTP, nil},
		{"malformed environment: uppercase hex", strings.ToUpper(envTP), nil, ExitInvalid, "",
			[]string{"TRACEPARENT (environment variable): not a W3C traceparent", "lowercase hex", "--traceparent"}},
		{"malformed environment: too short", "00-abc", nil, ExitInvalid, "",
			[]string{"TRACEPARENT (environment variable)", "6 characters, want 55", `"00-abc"`}},
		{"malformed flag: version ff", "", []string{"--traceparent", "ff" + envTP[2:]}, ExitInvalid, "",
			[]string{"--traceparent: not a W3C traceparent", "version ff is invalid"}},
		{"malformed flag: zero trace id", envTP, []string{"--traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ExitInvalid, "",
			[]string{"--traceparent:", "trace id is all zeros"}},
		{"malformed flag: a control character after a later version", "", []string{"--traceparent", laterTP + "\x7f"}, ExitInvalid, "",
			[]string{"--traceparent:", "not printable ASCII"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SLUICE_SERVER": rec.URL, "SLUICE_TOKEN": "tok"}
			if tc.env != "" {
				env["TRACEPARENT"] = tc.env
			}
			r := sluiceEnv(t, env, "", append([]string{"runs", "start", "deploy"}, tc.args...)...)
			reqs := rec.take()
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q lacks %q", r.stderr, s)
				}
			}
			if tc.code != 0 {
				if len(reqs) != 0 {
					t.Errorf("a refused traceparent, yet %d requests were sent: %v", len(reqs), reqs)
				}
				return
			}
			if len(reqs) == 0 || reqs[0].method != http.MethodPost {
				t.Fatalf("requests %v, want the run's creation first", reqs)
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if got := reqs[0].traceparent; strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("the creation carried traceparent %q, want %q", got, want)
			}
			for _, q := range reqs[1:] {
				if len(q.traceparent) != 0 {
					t.Errorf("%s %s carried traceparent %q: only the creation joins a trace", q.method, q.path, q.traceparent)
				}
			}
			if tc.name == "with --wait only the creation carries it" && len(reqs) < 2 {
				t.Errorf("--wait sent %d requests, want the creation and reads", len(reqs))
			}
		})
	}
}

// TestRunsStartJoinsCallerTrace runs the whole path against a real
// `sluice serve --otlp-endpoint` (a child process) with a fake collector:
// `runs start --wait` with TRACEPARENT set puts the run in the caller's
// trace, so the WEBHOOK's receiver gets a traceparent of that trace and
// the run's span is a child of the caller's span; --traceparent puts the
// next run in another trace.
func TestRunsStartJoinsCallerTrace(t *testing.T) {
	t.Parallel()
	const (
		envTrace, envSpan   = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		flagTrace, flagSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	)
	var (
		mu    sync.Mutex
		hooks []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		hooks = append(hooks, req.Header.Get("traceparent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(hook.Close)
	col := newOTLPReceiver(t)
	srv := startServer(t, "--data-dir", dataDir(t), "--otlp-endpoint", col.URL)
	id, secret := credentials(t, srv.banner)
	def := writeFile(t, "traced.json", `{"identifier": "traced", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+hook.URL+`/x"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`)
	env := map[string]string{"SLUICE_SERVER": srv.url, "SLUICE_CLIENT_ID": id, "SLUICE_CLIENT_SECRET": secret,
		"TRACEPARENT": "00-" + envTrace + "-" + envSpan + "-01"}
	for _, args := range [][]string{
		{"workflows", "apply", "-f", def},
		{"runs", "start", "traced", "--wait"},
		{"runs", "start", "traced", "--wait", "--traceparent", "00-" + flagTrace + "-" + flagSpan + "-01"},
	} {
		if r := sluiceEnv(t, env, "", args...); r.code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
	}
	if err := srv.stop(syscall.SIGTERM); err != nil { // flushes the spans
		t.Fatalf("serve exited with %v: %s", err, srv.logs())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 2 {
		t.Fatalf("the WEBHOOK was called %d times, want 2", len(hooks))
	}
	for i, trace := range []string{envTrace, flagTrace} {
		if parts := strings.Split(hooks[i], "-"); len(parts) != 4 || parts[1] != trace {
			t.Errorf("run %d: the WEBHOOK got traceparent %q, want one in trace %s", i+1, hooks[i], trace)
		}
	}
	parents := map[string]string{envTrace: envSpan, flagTrace: flagSpan}
	runs := 0
	for _, s := range col.got() {
		if !strings.HasPrefix(s.Name, "run ") {
			continue
		}
		runs++
		trace := hex.EncodeToString(s.TraceId)
		if want, ok := parents[trace]; !ok || hex.EncodeToString(s.ParentSpanId) != want {
			t.Errorf("run span %q in trace %s with parent %x, want a child of the caller's span", s.Name, trace, s.ParentSpanId)
		}
		delete(parents, trace)
	}
	if runs != 2 || len(parents) != 0 {
		t.Errorf("%d run spans, traces not joined: %v", runs, parents)
	}
}
