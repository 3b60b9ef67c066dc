package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/node/input/smtptest"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// inputKey signs webhook notifications in these tests.
var inputKey = []byte("input-notification-signing-key")

// hookSink is a loopback receiver that keeps every request's path, headers
// and body.
type hookSink struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []sunk
}

type sunk struct {
	path   string
	header http.Header
	body   []byte
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, sunk{r.URL.Path, r.Header.Clone(), b})
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookSink) at(path string) []sunk {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sunk
	for _, r := range h.reqs {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// inputEnv is a server whose registry also runs INPUT nodes, notifying by
// webhook (signed) and by email to a loopback SMTP receiver.
func inputEnv(t *testing.T) (*env, *hookSink, *smtptest.Server) {
	e := newEnv(t)
	sink := newHookSink(t)
	mail := smtptest.New(t)
	e.reg.Register(workflow.TypeInput, input.New(input.Options{Store: e.st, Users: e.st, SigningKey: inputKey, BaseURL: e.hs.URL,
		Mailer: &input.Mailer{Addr: mail.Addr, From: "sluice@example.com"}}))
	return e, sink, mail
}

// approvalDef is a deploy that needs `approvals` approvals (one decline is
// enough to stop it) from the given responders, then posts the reasons to
// sink/deploy, or posts to sink/declined.
func approvalDef(id string, anyone bool, sinkURL string, approvals int, responders map[string]any) map[string]any {
	return map[string]any{
		"identifier": id, "allowAnyoneToViewRuns": anyone,
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "permissions": map[string]any{"roles": []any{"Member"}},
				"userInputs": map[string]any{"properties": map[string]any{"version": map[string]any{"type": "string", "default": "1.2.3"}}}}},
			map[string]any{"identifier": "approval", "title": "Approve the deploy", "config": map[string]any{
				"type":        "INPUT",
				"description": "Deploy version {{ .outputs.trigger.version }} to production?",
				"userInputs": map[string]any{
					"properties": map[string]any{
						"reason":  map[string]any{"type": "string", "minLength": 3},
						"version": map[string]any{"type": "string", "default": "{{ .outputs.trigger.version }}"},
					},
					"required": []any{"reason"},
					"buttons": []any{
						map[string]any{"identifier": "approve", "label": "Approve", "variant": "PRIMARY"},
						map[string]any{"identifier": "decline", "label": "Decline", "variant": "DANGER"},
					},
				},
				"outlets": []any{
					map[string]any{"identifier": "approve", "evaluationMethod": "button", "numOfResponders": approvals},
					map[string]any{"identifier": "decline", "evaluationMethod": "button", "numOfResponders": 1},
				},
				"responders": responders,
			}},
			map[string]any{"identifier": "deploy", "config": map[string]any{"type": "WEBHOOK", "url": sinkURL + "/deploy",
				"body": map[string]any{"reasons": "{{ [.outputs.approval.responses[].inputs.reason] }}", "version": "{{ .outputs.approval.responses[0].inputs.version }}",
					"by": "{{ [.outputs.approval.responses[].submitterInfo.email] }}"}}},
			map[string]any{"identifier": "declined", "config": map[string]any{"type": "WEBHOOK", "url": sinkURL + "/declined",
				"body": map[string]any{"reason": "{{ .outputs.approval.responses[-1].inputs.reason }}"}}},
		},
		"connections": []any{
			map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "approval"},
			map[string]any{"sourceIdentifier": "approval", "sourceOutletIdentifier": "approve", "targetIdentifier": "deploy"},
			map[string]any{"sourceIdentifier": "approval", "sourceOutletIdentifier": "decline", "targetIdentifier": "declined"},
		},
	}
}

// withNotifications sets the INPUT node's notifications of an approvalDef.
func withNotifications(def map[string]any, ns []any) map[string]any {
	def["nodes"].([]any)[1].(map[string]any)["config"].(map[string]any)["notifications"] = ns
	return def
}

// startRun starts a run of wf with no inputs and returns its identifier.
func (e *env) startRun(wf, token string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/workflows/"+wf+"/runs", token, map[string]any{"inputs": map[string]any{}}).expect(e.t, http.StatusCreated)
	return r.obj("workflowRun")["identifier"].(string)
}

func respondPath(nr string) string { return "/v1/workflows/nodes/runs/" + nr + "/responses" }

func TestInputApprovals(t *testing.T) {
	t.Parallel()
	e, sink, _ := inputEnv(t)
	alice := e.user("alice@example.com", store.RoleMember)
	bob := e.user("bob@example.com", store.RoleMember, "platform")
	carol := e.user("carol@example.com", store.RoleMember)
	dave := e.user("dave@example.com", store.RoleMember, "sre")
	admin := e.user("root@example.com", store.RoleAdmin)
	requester := e.user("req@example.com", store.RoleMember)
	e.createWorkflow(approvalDef("deploy", true, sink.URL, 2, map[string]any{"users": []any{"alice@example.com"}, "teams": []any{"platform", "sre"}}))
	e.createWorkflow(approvalDef("private", false, sink.URL, 2, map[string]any{"users": []any{"alice@example.com"}}))
	e.createWorkflow(approvalDef("byrole", true, sink.URL, 1, map[string]any{"roles": []any{"Admin"}}))

	ok := map[string]any{"button": "approve", "inputs": map[string]any{"reason": "looks good"}}

	t.Run("two approvals from two responders, then the next node reads the responses", func(t *testing.T) {
		run := e.startRun("deploy", requester)
		nr := e.waiting(run)
		a := e.do("POST", respondPath(nr), alice, ok).expect(t, http.StatusOK)
		if got := a.obj("workflowNodeRun")["status"]; got != store.StatusInProgress {
			t.Fatalf("after one approval the node is %v, want IN_PROGRESS", got)
		}
		e.do("POST", respondPath(nr), bob, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "ship it", "version": "1.2.4"}}).expect(t, http.StatusOK)
		if r := e.completed(run); r.Result != store.ResultSuccess {
			t.Fatalf("run ended %s, want SUCCESS", r.Result)
		}
		got := sink.at("/deploy")
		if len(got) != 1 {
			t.Fatalf("deploy called %d times, want 1", len(got))
		}
		var body map[string]any
		_ = json.Unmarshal(got[0].body, &body)
		if r, _ := json.Marshal(body["reasons"]); string(r) != `["looks good","ship it"]` || body["version"] != "1.2.3" {
			t.Errorf("deploy body = %s, want both reasons and the rendered default version", got[0].body)
		}
		if by, _ := json.Marshal(body["by"]); string(by) != `["alice@example.com","bob@example.com"]` {
			t.Errorf("submitters = %s", by)
		}
		v := e.do("GET", "/v1/workflows/runs/"+run, requester, nil).expect(t, http.StatusOK)
		out := v.obj("workflowRun")["variables"].(map[string]any)["outputs"].(map[string]any)["approval"].(map[string]any)
		if sel := out["selectedOutlet"].(map[string]any)["identifier"]; sel != "approve" || len(out["responses"].([]any)) != 2 {
			t.Errorf("approval output = %v", out)
		}
		// After completion: 409.
		e.do("POST", respondPath(nr), dave, ok).expect(t, http.StatusConflict)
	})

	t.Run("one decline is enough", func(t *testing.T) {
		run := e.startRun("deploy", requester)
		nr := e.waiting(run)
		e.do("POST", respondPath(nr), alice, ok).expect(t, http.StatusOK)
		e.do("POST", respondPath(nr), dave, map[string]any{"button": "decline", "inputs": map[string]any{"reason": "freeze week"}}).expect(t, http.StatusOK)
		e.completed(run)
		got := sink.at("/declined")
		if len(got) == 0 || !strings.Contains(string(got[len(got)-1].body), "freeze week") {
			t.Errorf("declined branch not taken with the reason: %v", got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		run := e.startRun("deploy", requester)
		nr := e.waiting(run)
		priv := e.waiting(e.startRun("private", requester))
		tests := []struct {
			name   string
			path   string
			token  string
			body   any
			status int
			detail string
		}{
			{"not a responder who may view the run", respondPath(nr), carol, ok, http.StatusForbidden, ""},
			{"an Admin not named", respondPath(nr), admin, ok, http.StatusForbidden, ""},
			{"the requester, not named", respondPath(nr), requester, ok, http.StatusForbidden, ""},
			{"not a responder, private run", respondPath(priv), carol, ok, http.StatusNotFound, ""},
			{"a machine client", respondPath(nr), e.admin, ok, http.StatusForbidden, ""},
			{"unknown node run", respondPath("wfnr_0000000000000000"), alice, ok, http.StatusNotFound, ""},
			{"unknown button", respondPath(nr), alice, map[string]any{"button": "maybe", "inputs": map[string]any{"reason": "abc"}}, http.StatusBadRequest, "button"},
			{"missing button", respondPath(nr), alice, map[string]any{"inputs": map[string]any{}}, http.StatusBadRequest, "button"},
			{"required input missing", respondPath(nr), alice, map[string]any{"button": "approve"}, http.StatusBadRequest, "inputs.reason"},
			{"input too short", respondPath(nr), alice, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "no"}}, http.StatusBadRequest, "inputs.reason"},
			{"unknown input", respondPath(nr), alice, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "fine", "extra": 1}}, http.StatusBadRequest, "inputs.extra"},
			{"wrong type", respondPath(nr), alice, map[string]any{"button": "approve", "inputs": map[string]any{"reason": 42}}, http.StatusBadRequest, "inputs.reason"},
			{"not an INPUT node run", respondPath(e.first(run)), alice, ok, http.StatusNotFound, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var hdr []string
				if tc.name == "missing button" {
					hdr = []string{skipRequestValidation, "1"}
				}
				got := e.do("POST", tc.path, tc.token, tc.body, hdr...).expect(t, tc.status)
				if tc.detail != "" && !strings.Contains(got.raw, tc.detail) {
					t.Errorf("answer does not name %s: %s", tc.detail, got.raw)
				}
			})
		}
		// Nothing of the refused responses was recorded.
		d, err := e.st.Responses(context.Background(), nr)
		if err != nil || len(d.Responses) != 0 {
			t.Errorf("responses after refusals = %v, %v; want none", d.Responses, err)
		}
		// A double response is a 409 and keeps the first.
		e.do("POST", respondPath(nr), alice, ok).expect(t, http.StatusOK)
		e.do("POST", respondPath(nr), alice, map[string]any{"button": "decline", "inputs": map[string]any{"reason": "changed my mind"}}).expect(t, http.StatusConflict)
		if d, _ := e.st.Responses(context.Background(), nr); len(d.Responses) != 1 || d.Responses[0].Button != "approve" {
			t.Errorf("responses after a double response = %+v", d.Responses)
		}
	})

	t.Run("responders by role", func(t *testing.T) {
		run := e.startRun("byrole", requester)
		nr := e.waiting(run)
		e.do("POST", respondPath(nr), alice, ok).expect(t, http.StatusForbidden)
		e.do("POST", respondPath(nr), admin, ok).expect(t, http.StatusOK)
		if r := e.completed(run); r.Result != store.ResultSuccess {
			t.Errorf("run ended %s", r.Result)
		}
	})

	t.Run("concurrent last responses complete the node once", func(t *testing.T) {
		run := e.startRun("deploy", requester)
		nr := e.waiting(run)
		var members []string
		for i := range 6 {
			members = append(members, e.user("m"+string(rune('a'+i))+"@example.com", store.RoleMember, "sre"))
		}
		before := len(sink.at("/deploy"))
		var wg sync.WaitGroup
		statuses := make([]int, len(members))
		for i, tok := range members {
			wg.Go(func() {
				statuses[i] = e.do("POST", respondPath(nr), tok, ok).status
			})
		}
		wg.Wait()
		e.completed(run)
		okCount := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				okCount++
			case http.StatusConflict:
			default:
				t.Errorf("status %d, want 200 or 409", s)
			}
		}
		if okCount != 2 {
			t.Errorf("%d responses accepted, want exactly the 2 the outlet needs: %v", okCount, statuses)
		}
		if n := len(sink.at("/deploy")) - before; n != 1 {
			t.Errorf("the next node ran %d times, want 1", n)
		}
	})
}

// first returns the identifier of a run's trigger node run.
func (e *env) first(runID string) string {
	e.t.Helper()
	nrs, err := e.st.NodeRuns(context.Background(), runID)
	if err != nil || len(nrs) == 0 {
		e.t.Fatalf("node runs of %s: %v", runID, err)
	}
	return nrs[0].Identifier
}

func TestInputNotifications(t *testing.T) {
	t.Parallel()
	e, sink, mail := inputEnv(t)
	e.user("alice@example.com", store.RoleMember)
	e.user("bob@example.com", store.RoleMember, "platform")
	e.user("zed@example.com", store.RoleMember, "web")
	requester := e.user("req@example.com", store.RoleMember)
	notifications := []any{
		map[string]any{"target": "webhook", "url": sink.URL + "/notice"},
		map[string]any{"type": "email", "fields": []any{map[string]any{"label": "Version", "value": "{{ .outputs.trigger.version }}"}}},
		map[string]any{"target": "webhook", "url": "http://127.0.0.1:1/refused"},
	}
	e.createWorkflow(withNotifications(approvalDef("notify", true, sink.URL, 1, map[string]any{"users": []any{"alice@example.com"}, "teams": []any{"platform"}}), notifications))
	run := e.startRun("notify", requester)
	nr := e.waiting(run)

	// The webhook: signed, with the run, the node run, the rendered
	// description, the buttons and where to respond.
	got := sink.at("/notice")
	if len(got) != 1 {
		t.Fatalf("notice posted %d times, want 1", len(got))
	}
	if err := webhook.Verify(inputKey, got[0].header, got[0].body, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if got[0].header.Get(webhook.HeaderNodeRun) != nr || got[0].header.Get(webhook.HeaderWorkflowRun) != run {
		t.Errorf("headers = %v", got[0].header)
	}
	var notice input.Notice
	if err := json.Unmarshal(got[0].body, &notice); err != nil {
		t.Fatal(err)
	}
	if notice.Description != "Deploy version 1.2.3 to production?" || len(notice.Buttons) != 2 || notice.WorkflowNodeRun["identifier"] != nr ||
		notice.Respond["url"] != e.hs.URL+respondPath(nr) {
		t.Errorf("notice = %s", got[0].body)
	}

	// The email: to the named user and the team's member, not to others.
	select {
	case m := <-mail.Messages:
		if strings.Join(m.To, ",") != "alice@example.com,bob@example.com" || m.From != "sluice@example.com" {
			t.Errorf("mail from %s to %v", m.From, m.To)
		}
		for _, want := range []string{"Deploy version 1.2.3 to production?", "Version: 1.2.3", "sluice runs respond " + nr, "approve: Approve", e.hs.URL + respondPath(nr)} {
			if !strings.Contains(m.Data, want) {
				t.Errorf("mail lacks %q:\n%s", want, m.Data)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no mail arrived")
	}

	// The failed notification is a WARN line; the node waits all the same.
	logs, err := e.st.Logs(context.Background(), nr)
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, l := range logs {
		if l.Level == "WARN" && strings.Contains(l.Message.String(), "notifications[2] (webhook) failed") {
			warned = true
			if strings.Contains(l.Message.String(), "127.0.0.1:1") {
				t.Errorf("the failure quotes the URL: %s", l.Message.String())
			}
		}
	}
	if !warned {
		t.Errorf("no WARN line for the failed notification: %v", logs)
	}
}

func TestInputSurvivesRestart(t *testing.T) {
	t.Parallel()
	e, sink, _ := inputEnv(t)
	alice := e.user("alice@example.com", store.RoleMember)
	bob := e.user("bob@example.com", store.RoleMember)
	requester := e.user("req@example.com", store.RoleMember)
	e.createWorkflow(approvalDef("deploy", true, sink.URL, 2, map[string]any{"users": []any{"alice@example.com", "bob@example.com"}}))
	run := e.startRun("deploy", requester)
	nr := e.waiting(run)
	e.do("POST", respondPath(nr), alice, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "before the restart"}}).expect(t, http.StatusOK)

	// A new server (a new engine, nothing in memory) on the same store.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Store: e.st, Nodes: e.reg, Secrets: e.svc, Auth: e.auth})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Shutdown(context.Background()) })
	if _, err := srv.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv, e.client = srv, &client{t: t, base: hs.URL, http: &http.Client{Transport: e.val}}

	e.do("POST", respondPath(nr), alice, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "again"}}).expect(t, http.StatusConflict)
	e.do("POST", respondPath(nr), bob, map[string]any{"button": "approve", "inputs": map[string]any{"reason": "after the restart"}}).expect(t, http.StatusOK)
	if r := e.completed(run); r.Result != store.ResultSuccess {
		t.Fatalf("run ended %s", r.Result)
	}
	if got := sink.at("/deploy"); len(got) != 1 || !strings.Contains(string(got[0].body), "before the restart") || !strings.Contains(string(got[0].body), "after the restart") {
		t.Errorf("deploy = %v", got)
	}
}
