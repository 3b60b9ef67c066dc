package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/view"
	"github.com/sluice-run/sluice/internal/workflow"
)

// receiver is a loopback HTTP server that records requests and answers by
// path: /fail answers 500, /echo echoes the request, anything else 200 JSON.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Path    string
	Header  http.Header
	Body    map[string]any
	RawBody string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{Path: req.URL.Path, Header: req.Header.Clone(), Body: body, RawBody: string(b)})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch req.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"boom"}`)
		case "/echo":
			json.NewEncoder(w).Encode(map[string]any{"auth": req.Header.Get("Authorization"), "body": body})
		default:
			io.WriteString(w, `{"request_id":"req-42","ok":true}`)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// funcExec adapts a function to node.Executor, for node behaviours no real
// executor has yet (pending completion, a node type under test).
type funcExec func(ctx context.Context, req *node.Request) (node.Result, error)

func (f funcExec) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	return f(ctx, req)
}

type harness struct {
	t     *testing.T
	st    *sqlite.Store
	eng   *engine.Engine
	nodes *node.Registry
}

func newHarness(t *testing.T, secrets secret.MapSource, extra map[string]node.Executor) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
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
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Secrets: secrets})
	return &harness{t: t, st: st, eng: eng, nodes: reg}
}

// run parses def, stores it, starts and executes a run, and returns its view.
func (h *harness) run(def string, inputs map[string]any) view.Run {
	h.t.Helper()
	ctx := context.Background()
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		h.t.Fatalf("parse: %v", err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		h.t.Fatal(err)
	}
	run, err := h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: inputs, Actor: engine.Actor{ID: "user@example.com"}})
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	if _, err := h.eng.Execute(ctx, run.Identifier); err != nil {
		h.t.Fatalf("execute: %v", err)
	}
	return h.view(run.Identifier)
}

func (h *harness) view(runID string) view.Run {
	h.t.Helper()
	v, err := view.Load(context.Background(), h.st, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

func output(t *testing.T, v view.Run, nodeID string) map[string]any {
	t.Helper()
	raw, ok := v.Variables.Outputs[nodeID]
	if !ok {
		t.Fatalf("no output for node %s; nodes run: %v", nodeID, nodesRun(v))
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("output of %s: %v (%s)", nodeID, err, raw)
	}
	return m
}

func nodesRun(v view.Run) []string {
	var ids []string
	for _, nr := range v.NodeRuns {
		ids = append(ids, nr.Node.Identifier)
	}
	return ids
}

func result(v view.Run) string {
	if v.Result == nil {
		return v.Status
	}
	return v.Status + " " + *v.Result
}

const trigger = `{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}, "count": {"type": "number", "default": 3}}}}}`

func TestRunPaths(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	secrets := secret.MapSource{"URL": rcv.URL, "TOKEN": "tok-0123456789abcdef", "SHORT": "lane"}

	tests := []struct {
		name   string
		def    string
		inputs map[string]any
		result string
		path   []string
		check  func(t *testing.T, v view.Run, reqs []recorded)
	}{
		{
			name: "webhook with variables replacing the output and typed body values",
			def: `{"identifier": "w1", "nodes": [` + trigger + `,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/ok",
				  "headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"},
				  "body": {"count": "{{ .outputs.trigger.count }}", "label": "n={{ .outputs.trigger.count }}", "run": "{{ .workflowRun.identifier }}"}},
				 "variables": {"id": "{{ .result.response.data.request_id }}", "status": "{{ .result.response.status }}"},
				 "links": ["https://ci.example.com/{{ .result.response.data.request_id }}"]}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`,
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "call"},
			check: func(t *testing.T, v view.Run, reqs []recorded) {
				out := output(t, v, "call")
				if out["id"] != "req-42" || out["status"] != float64(200) || len(out) != 2 {
					t.Errorf("variables did not replace the output: %v", out)
				}
				if got := v.NodeRuns[1].Links; len(got) != 1 || got[0] != "https://ci.example.com/req-42" {
					t.Errorf("links = %v", got)
				}
				last := reqs[len(reqs)-1]
				if last.Body["count"] != float64(3) || last.Body["label"] != "n=3" || last.Body["run"] != v.Identifier {
					t.Errorf("body = %v", last.RawBody)
				}
				if last.Header.Get("Authorization") != "Bearer tok-0123456789abcdef" {
					t.Errorf("the receiver did not get the secret")
				}
				if last.Header.Get("X-Sluice-Workflow-Run") != v.Identifier || last.Header.Get("X-Sluice-Node-Run") != v.NodeRuns[1].Identifier {
					t.Errorf("run headers = %v", last.Header)
				}
			},
		},
		{
			name: "condition takes the matching outlet",
			def: `{"identifier": "c1", "nodes": [` + trigger + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [
				  {"identifier": "prod", "expression": ".outputs.trigger.env == \"prod\""},
				  {"identifier": "dev", "expression": ".outputs.trigger.env == \"dev\""}]}},
				{"identifier": "p", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/prod"}},
				{"identifier": "d", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/dev"}},
				{"identifier": "f", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/fallback"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "route"},
				  {"sourceIdentifier": "route", "sourceOutletIdentifier": "prod", "targetIdentifier": "p"},
				  {"sourceIdentifier": "route", "sourceOutletIdentifier": "dev", "targetIdentifier": "d"},
				  {"sourceIdentifier": "route", "fallback": true, "targetIdentifier": "f"}]}`,
			inputs: map[string]any{"env": "dev"},
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "route", "d"},
		},
		{
			// The outlet's name is masked in the stored output (a secret
			// equals it); the run still follows the outlet its node took.
			name: "condition routes by the outlet taken even when its name is masked",
			def: `{"identifier": "c0", "nodes": [` + trigger + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [
				  {"identifier": "lane", "expression": ".outputs.trigger.count == 3"}]}},
				{"identifier": "p", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/lane", "headers": {"X-Lane": "{{ .secrets.SHORT }}"}}},
				{"identifier": "f", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/fallback"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "route"},
				  {"sourceIdentifier": "route", "sourceOutletIdentifier": "lane", "targetIdentifier": "p"},
				  {"sourceIdentifier": "route", "fallback": true, "targetIdentifier": "f"}]}`,
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "route", "p"},
			check: func(t *testing.T, v view.Run, _ []recorded) {
				if got := string(v.Variables.Outputs["route"]); !strings.Contains(got, "***") {
					t.Errorf("route output %s: the test wants the outlet masked", got)
				}
			},
		},
		{
			name: "condition falls back",
			def: `{"identifier": "c2", "nodes": [` + trigger + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [{"identifier": "prod", "expression": ".outputs.trigger.env == \"prod\""}]}},
				{"identifier": "p", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/prod"}},
				{"identifier": "f", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/fallback"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "route"},
				  {"sourceIdentifier": "route", "sourceOutletIdentifier": "prod", "targetIdentifier": "p"},
				  {"sourceIdentifier": "route", "fallback": true, "targetIdentifier": "f"}]}`,
			inputs: map[string]any{"env": "staging"},
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "route", "f"},
		},
		{
			name: "condition with no match and no fallback ends the branch",
			def: `{"identifier": "c3", "nodes": [` + trigger + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [{"identifier": "prod", "expression": ".outputs.trigger.env == \"prod\""}]}},
				{"identifier": "p", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/prod"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "route"},
				  {"sourceIdentifier": "route", "sourceOutletIdentifier": "prod", "targetIdentifier": "p"}]}`,
			inputs: map[string]any{"env": "staging"},
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "route"},
		},
		{
			name: "onFailure continue lets later nodes read the error",
			def: `{"identifier": "f1", "nodes": [` + trigger + `,
				{"identifier": "bad", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/fail", "onFailure": "continue"}},
				{"identifier": "report", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/report", "body": {"err": "{{ .outputs.bad.error.message }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "bad"}, {"sourceIdentifier": "bad", "targetIdentifier": "report"}]}`,
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "bad", "report"},
			check: func(t *testing.T, v view.Run, reqs []recorded) {
				msg, _ := output(t, v, "bad")["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, "500") {
					t.Errorf("failed output message = %q, want the status", msg)
				}
				if got := reqs[len(reqs)-1].Body["err"]; got != msg {
					t.Errorf("report got %v, want %q", got, msg)
				}
				if r := v.NodeRuns[1].Result; r == nil || *r != "FAILED" {
					t.Errorf("bad node result = %v", r)
				}
			},
		},
		{
			name: "onFailure terminate fails the run and stops",
			def: `{"identifier": "f2", "nodes": [` + trigger + `,
				{"identifier": "bad", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/fail"}},
				{"identifier": "never", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/never"}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "bad"}, {"sourceIdentifier": "bad", "targetIdentifier": "never"}]}`,
			result: "COMPLETED FAILED",
			path:   []string{"trigger", "bad"},
		},
		{
			name: "a node type without an executor fails with a message",
			def: `{"identifier": "k1", "nodes": [` + trigger + `,
				{"identifier": "publish", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "service", "mapping": {"identifier": "x"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "publish"}]}`,
			result: "COMPLETED FAILED",
			path:   []string{"trigger", "publish"},
			check: func(t *testing.T, v view.Run, _ []recorded) {
				msg, _ := output(t, v, "publish")["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, "UPSERT_ENTITY") || !strings.Contains(msg, "no executor") {
					t.Errorf("message = %q", msg)
				}
			},
		},
		{
			name: "an undefined secret fails the node",
			def: `{"identifier": "s1", "nodes": [` + trigger + `,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/ok", "headers": {"X": "{{ .secrets.MISSING }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`,
			result: "COMPLETED FAILED",
			path:   []string{"trigger", "call"},
			check: func(t *testing.T, v view.Run, _ []recorded) {
				msg, _ := output(t, v, "call")["error"].(map[string]any)["message"].(string)
				if msg != "secret MISSING is not defined" {
					t.Errorf("message = %q", msg)
				}
			},
		},
		{
			name: "a secret echoed back is masked in the stored output",
			def: `{"identifier": "e1", "nodes": [` + trigger + `,
				{"identifier": "call", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/echo", "headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"}, "body": {"t": "{{ .secrets.TOKEN | @base64 }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`,
			result: "COMPLETED SUCCESS",
			path:   []string{"trigger", "call"},
			check: func(t *testing.T, v view.Run, _ []recorded) {
				b, _ := json.Marshal(v)
				for _, leak := range []string{"tok-0123456789abcdef", "dG9rLTAxMjM0NTY3ODlhYmNkZWY"} {
					if strings.Contains(string(b), leak) {
						t.Errorf("run JSON holds %q: %s", leak, b)
					}
				}
				if !strings.Contains(string(b), `"auth":"***"`) {
					t.Errorf("masked echo missing: %s", b)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, secrets, nil)
			before := len(rcv.requests())
			v := h.run(tc.def, tc.inputs)
			if got := result(v); got != tc.result {
				t.Errorf("result = %s, want %s (nodes %v)", got, tc.result, nodesRun(v))
			}
			if got := strings.Join(nodesRun(v), ","); got != strings.Join(tc.path, ",") {
				t.Errorf("path = %s, want %s", got, strings.Join(tc.path, ","))
			}
			for _, nr := range v.NodeRuns {
				if !strings.HasPrefix(nr.Identifier, "wfnr_") || len(nr.Identifier) != 21 {
					t.Errorf("node run id %q", nr.Identifier)
				}
			}
			if !strings.HasPrefix(v.Identifier, "wfr_") || len(v.Identifier) != 20 {
				t.Errorf("run id %q", v.Identifier)
			}
			if tc.check != nil {
				tc.check(t, v, rcv.requests()[before:])
			}
		})
	}
}

const asyncDef = `{"identifier": "a1", "nodes": [` + trigger + `,
	{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/unused", "synchronized": false}},
	{"identifier": "after", "config": {"type": "CONDITION", "outlets": [{"identifier": "ok", "expression": ".outputs.wait.done == true"}]}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}, {"sourceIdentifier": "wait", "targetIdentifier": "after", "description": "x"}]}`

func TestAsyncCompletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil, nil)
	rcv := newReceiver(t)
	def := strings.Replace(asyncDef, "http://127.0.0.1:1/unused", rcv.URL+"/accept", 1)
	v := h.run(def, nil)
	if v.Status != "IN_PROGRESS" {
		t.Fatalf("status = %s, want IN_PROGRESS", v.Status)
	}
	waiting := v.NodeRuns[1]
	if waiting.Status != "IN_PROGRESS" {
		t.Fatalf("node status = %s", waiting.Status)
	}
	run, err := h.eng.CompleteNodeRun(ctx, waiting.Identifier, engine.Completion{
		Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"done": true},
		Logs:  []engine.LogLine{{Level: "INFO", Message: "deployed"}},
		Links: []string{"https://ci.example.com/build/7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = h.eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	if run.Status != "COMPLETED" || run.Result != "SUCCESS" {
		t.Fatalf("run = %s %s", run.Status, run.Result)
	}
	v = h.view(run.Identifier)
	if got := strings.Join(nodesRun(v), ","); got != "trigger,wait,after" {
		t.Errorf("path = %s", got)
	}
	if logs := v.NodeRuns[1].NodeRunLogs; len(logs) == 0 || logs[len(logs)-1].Log != "deployed" {
		t.Errorf("logs = %+v", logs)
	}
	if links := v.NodeRuns[1].Links; len(links) != 1 || links[0] != "https://ci.example.com/build/7" {
		t.Errorf("links = %v", links)
	}
	_, err = h.eng.CompleteNodeRun(ctx, waiting.Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second completion: err = %v, want ErrConflict", err)
	}
}

func TestCancelWaitingRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil, nil)
	rcv := newReceiver(t)
	v := h.run(strings.Replace(asyncDef, "http://127.0.0.1:1/unused", rcv.URL+"/accept", 1), nil)
	run, err := h.eng.Cancel(ctx, v.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if run.Result != "CANCELLED" {
		t.Fatalf("result = %s", run.Result)
	}
	v = h.view(v.Identifier)
	if r := v.NodeRuns[1].Result; r == nil || *r != "CANCELLED" {
		t.Errorf("node result = %v", r)
	}
	_, err = h.eng.CompleteNodeRun(ctx, v.NodeRuns[1].Identifier, engine.Completion{Status: "COMPLETED", Result: "SUCCESS"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("completing a node of a cancelled run: err = %v, want ErrConflict", err)
	}
	if _, err := h.eng.Cancel(ctx, v.Identifier); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second cancel: err = %v", err)
	}
}

func TestInvalidInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	wf, problems := workflow.Parse([]byte(`{"identifier": "i1", "nodes": [` + trigger + `], "connections": []}`))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	_, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Version: 1, Inputs: map[string]any{"count": "three"}})
	var ie *engine.InputError
	if !errors.As(err, &ie) || !errors.Is(err, engine.ErrInvalidInputs) {
		t.Fatalf("err = %v, want an InputError", err)
	}
	if !strings.Contains(ie.Error(), "count") {
		t.Errorf("error does not name the input: %v", ie)
	}
	runs, total, err := h.st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil || total != 0 || len(runs) != 0 {
		t.Errorf("a rejected start stored %d runs (err %v)", total, err)
	}
}

// TestResumeAfterCrash starts a run, leaves its first node IN_PROGRESS as a
// crashed process would, and lets a new engine over the same file finish it.
func TestResumeAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	h := newHarness(t, secret.MapSource{"URL": rcv.URL}, nil)
	def := `{"identifier": "r1", "nodes": [` + trigger + `,
		{"identifier": "one", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/one"}},
		{"identifier": "two", "config": {"type": "WEBHOOK", "url": "{{ .secrets.URL }}/two", "body": {"id": "{{ .outputs.one.response.data.request_id }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "one"}, {"sourceIdentifier": "one", "targetIdentifier": "two"}]}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := h.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh engine, as after a restart: it knows the run only from the store.
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	fresh := engine.New(engine.Options{Store: h.st, Nodes: reg, Secrets: secret.MapSource{"URL": rcv.URL}})
	inProgress, err := h.st.ListInProgressRuns(ctx)
	if err != nil || len(inProgress) != 1 {
		t.Fatalf("in progress = %v, %v", inProgress, err)
	}
	done, err := fresh.Execute(ctx, inProgress[0].Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if done.Result != "SUCCESS" || done.Identifier != run.Identifier {
		t.Fatalf("resumed run = %+v", done)
	}
	reqs := rcv.requests()
	if last := reqs[len(reqs)-1]; last.Path != "/two" || last.Body["id"] != "req-42" {
		t.Errorf("second node got %+v", last)
	}
}
