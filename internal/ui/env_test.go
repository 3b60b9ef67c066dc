package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// secretValue is the value of the secret API_TOKEN, which webhooks send
// and the receiver echoes back: the UI must show it masked.
const secretValue = "tok-5f3a9c1e77b24d0c"

const password = "correct horse battery staple"

// env is a real sluice (SQLite file, API, engine, UI) on a loopback
// server, with a loopback receiver for webhooks.
type env struct {
	t       testing.TB
	st      *sqlite.Store
	svc     *secret.Service
	srv     *api.Server
	hs      *httptest.Server
	rcv     *httptest.Server
	release chan struct{} // closing it answers the receiver's /slow requests
	admin   authz.Actor
	member  authz.Actor
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitetest.Open(ctx, filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: dir, Generate: true, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring)
	if _, err := svc.Create(ctx, "test", "API_TOKEN", secretValue, "the token webhooks send"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, svc: svc, release: make(chan struct{})}
	e.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" {
			select {
			case <-e.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"echo": r.Header.Get("Authorization"), "path": r.URL.Path})
	}))
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	e.srv, err = api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(Options{Store: st, API: e.srv.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	e.hs = httptest.NewServer(u.Handler())
	t.Cleanup(func() {
		e.hs.Close()
		select {
		case <-e.release:
		default:
			close(e.release)
		}
		e.rcv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(sctx)
		st.Close()
	})
	e.admin = e.user("root@example.com", store.RoleAdmin)
	e.member = e.user("ann@example.com", store.RoleMember, "web")
	e.workflows()
	return e
}

// user creates a user with the test password.
func (e *env) user(email, role string, teams ...string) authz.Actor {
	e.t.Helper()
	ctx := context.Background()
	u, _, err := auth.CreateUser(ctx, e.st, auth.UserSpec{Email: email, Role: role, Teams: teams})
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := auth.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetPassword(ctx, u.ID, h, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return authz.Actor{ID: u.ID, Email: u.Email, Role: u.Role, Teams: u.Teams}
}

// apiCall calls the API in-process as a and decodes the answer.
func (e *env) apiCall(a authz.Actor, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(api.WithActor(context.Background(), a), method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func (e *env) mustAPI(a authz.Actor, method, path string, body any, want int) map[string]any {
	e.t.Helper()
	code, out := e.apiCall(a, method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// workflows creates the test's workflows:
//   - deploy: Members may run it; a form with an enum, a patterned string
//     and a number; a webhook that waits for /slow, then a condition whose
//     fallback calls /echo with the secret (the output is masked).
//   - waiter: Members may run it; one webhook waiting for a completion
//     from outside (synchronized false), to cancel.
//   - private: Admin only, runs visible to their creator only.
func (e *env) workflows() {
	hook := func(id, path string, extra map[string]any) map[string]any {
		cfg := map[string]any{"type": "WEBHOOK", "url": e.rcv.URL + path, "method": "POST",
			"headers": map[string]any{"Authorization": "Bearer {{ .secrets.API_TOKEN }}"}, "body": map[string]any{"ok": true}}
		for k, v := range extra {
			cfg[k] = v
		}
		return map[string]any{"identifier": id, "title": strings.ToUpper(id[:1]) + id[1:], "config": cfg}
	}
	trigger := func(perms any, props map[string]any, required []string, order []string) map[string]any {
		ui := map[string]any{"properties": props}
		if required != nil {
			ui["required"] = required
		}
		if order != nil {
			ui["order"] = order
		}
		cfg := map[string]any{"type": "SELF_SERVE_TRIGGER", "userInputs": ui}
		if perms != nil {
			cfg["permissions"] = perms
		}
		return map[string]any{"identifier": "trigger", "title": "Start", "config": cfg}
	}
	conn := func(s, t string) map[string]any { return map[string]any{"sourceIdentifier": s, "targetIdentifier": t} }
	deploy := map[string]any{
		"identifier": "deploy", "title": "Deploy a service", "description": "Deploys to an environment.",
		"nodes": []any{
			trigger(map[string]any{"roles": []string{"Member"}}, map[string]any{
				"environment": map[string]any{"type": "string", "title": "Environment", "enum": []string{"staging", "production"}, "default": "staging"},
				"ticket":      map[string]any{"type": "string", "title": "Ticket", "description": "A change ticket such as OPS-12.", "pattern": "^[A-Z]+-[0-9]+$"},
				"replicas":    map[string]any{"type": "number", "title": "Replicas", "default": 2},
			}, []string{"environment", "ticket"}, []string{"environment", "ticket", "replicas"}),
			hook("gate", "/slow", nil),
			map[string]any{"identifier": "route", "title": "Route", "config": map[string]any{"type": "CONDITION", "outlets": []any{
				map[string]any{"identifier": "prod", "title": "Production", "expression": `.outputs.trigger.environment == "production"`}}}},
			hook("prod", "/echo", nil),
			hook("staging", "/echo", nil),
		},
		"connections": []any{conn("trigger", "gate"), conn("gate", "route"),
			map[string]any{"sourceIdentifier": "route", "sourceOutletIdentifier": "prod", "targetIdentifier": "prod"},
			map[string]any{"sourceIdentifier": "route", "fallback": true, "targetIdentifier": "staging"}},
	}
	waiter := map[string]any{
		"identifier": "waiter", "title": "Wait for a callback",
		"nodes":       []any{trigger(map[string]any{"teams": []string{"web"}}, map[string]any{}, nil, nil), hook("callback", "/echo", map[string]any{"synchronized": false})},
		"connections": []any{conn("trigger", "callback")},
	}
	private := map[string]any{
		"identifier": "private", "title": "Private job", "allowAnyoneToViewRuns": false,
		"nodes":       []any{trigger(nil, map[string]any{}, nil, nil), hook("job", "/echo", nil)},
		"connections": []any{conn("trigger", "job")},
	}
	for _, wf := range []any{deploy, waiter, private} {
		e.mustAPI(e.admin, http.MethodPost, "/v1/workflows", wf, http.StatusCreated)
	}
}

// startAs starts a run of wf as a through the API and returns its id.
func (e *env) startAs(a authz.Actor, wf string, inputs map[string]any) string {
	e.t.Helper()
	out := e.mustAPI(a, http.MethodPost, "/v1/workflows/"+wf+"/runs", map[string]any{"inputs": inputs}, http.StatusCreated)
	return out["workflowRun"].(map[string]any)["identifier"].(string)
}

// waitRun waits until a run is COMPLETED and returns its result.
func (e *env) waitRun(id string) string {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := e.st.GetRun(context.Background(), id)
		if err == nil && r.Status == store.StatusCompleted {
			return r.Result
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("run %s did not complete", id)
	return ""
}
