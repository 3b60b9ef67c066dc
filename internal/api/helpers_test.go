package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// skipRequestValidation marks a request that is malformed on purpose: the
// validating transport checks only its answer.
const skipRequestValidation = "X-Test-Malformed"

// clock is a settable clock; tests expire tokens with it.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// receiver is a loopback HTTP server that webhooks call. It answers 202 to
// /async (the node then waits) and echoes the Authorization header back
// elsewhere, so that the stored run must mask it.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	got  chan *http.Request
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{got: make(chan *http.Request, 1024)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.mu.Unlock()
		select {
		case r.got <- req:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(req.URL.Path, "/async") {
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"accepted": true}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"echo": req.Header.Get("Authorization")})
	}))
	t.Cleanup(r.Close)
	return r
}

// validator checks requests and answers against the OpenAPI document and
// remembers which operations were exercised.
type validator struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
	mu     sync.Mutex
	seen   map[string]bool // "METHOD /path/{template}"
}

// The event stream (GET /v1/workflows/runs/{wfr}/events) is text, checked
// by its own tests (watch_test.go); the document declares it a string.
func init() { openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder) }

func newValidator(t testing.TB) *validator {
	router, err := openAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, router: router, next: http.DefaultTransport, seen: map[string]bool{}}
}

// openAPIRouter loads and validates openapi.yaml and builds its router once
// per test binary: every test server has a validating client, and doing it
// for each cost about half a second under the race detector. The document
// and the router are only read afterwards.
var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	doc.Servers = nil // match any host
	return legacy.NewRouter(doc)
})

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	skipReq := req.Header.Get(skipRequestValidation) != ""
	req.Header.Del(skipRequestValidation)
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, routeErr := v.router.FindRoute(req)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if routeErr == nil {
		v.mu.Lock()
		v.seen[req.Method+" "+route.Path] = true
		v.mu.Unlock()
		if !skipReq {
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				v.t.Errorf("%s %s: the request does not match the OpenAPI document: %v", req.Method, req.URL.Path, err)
			}
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if routeErr != nil {
		// Not in the document: only unknown routes and wrong methods, which
		// must answer in the error envelope.
		var e map[string]any
		if json.Unmarshal(body, &e) != nil || e["ok"] != false || (resp.StatusCode != 404 && resp.StatusCode != 405) {
			v.t.Errorf("%s %s is not in the OpenAPI document and answered %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
		}
		return resp, nil
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if err := openapi3filter.ValidateResponse(req.Context(), rin); err != nil {
		v.t.Errorf("%s %s: the %d answer does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// operations lists the document's operations as "METHOD /path".
func operations(t testing.TB) []string {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}

// env is a server over a real SQLite store in a temp dir, on loopback,
// with a validating client.
type env struct {
	t    testing.TB
	st   *sqlite.Store
	srv  *Server
	hs   *httptest.Server
	auth *auth.Authenticator
	clk  *clock
	rcv  *receiver
	val  *validator
	*client
	admin string // an Admin machine client's token
	// adminCred are the Admin client's credentials, to get a fresh token
	// after moving the clock.
	adminCred auth.Credentials
	reg       *node.Registry
	svc       *secret.Service
}

// secretValue is the secret every test workflow sends in a header; no API
// answer may ever contain it.
const secretValue = "s3cr3t-token-9d8c7b6a5f4e"

// newStoreWithSecret opens a SQLite store in a temp dir and a secrets
// service over it holding API_TOKEN = secretValue.
func newStoreWithSecret(t testing.TB) (*sqlite.Store, *secret.Service) {
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
	return st, svc
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server's options changed by opt first.
func newEnvWith(t testing.TB, opt func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, svc := newStoreWithSecret(t)
	clk := newClock()
	authn := auth.New(st, auth.Options{Now: clk.now})
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	condition.Register(reg)
	opts := Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, MaxBodyBytes: 64 << 10}
	if opt != nil {
		opt(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	e := &env{t: t, st: st, srv: srv, hs: hs, auth: authn, clk: clk, rcv: newReceiver(t), val: newValidator(t), reg: reg, svc: svc}
	e.client = &client{t: t, base: hs.URL, http: &http.Client{Transport: e.val}}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		st.Close()
	})
	cred, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.adminCred = cred
	e.admin = e.token(cred)
	return e
}

// token gets an access token through the API.
func (e *env) token(c auth.Credentials) string {
	e.t.Helper()
	r := e.do("POST", "/v1/auth/access_token", "", map[string]string{"clientId": c.ClientID, "clientSecret": c.ClientSecret})
	if r.status != http.StatusOK {
		e.t.Fatalf("access token: %d %s", r.status, r.raw)
	}
	return r.body["accessToken"].(string)
}

// user creates a user and returns their token.
func (e *env) user(email, role string, teams ...string) string {
	e.t.Helper()
	_, cred, err := auth.CreateUser(context.Background(), e.st, auth.UserSpec{Email: email, Role: role, Teams: teams})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.token(cred)
}

// machine creates a machine client and returns its token.
func (e *env) machine(scopes ...string) string {
	e.t.Helper()
	cred, err := auth.CreateClient(context.Background(), e.st, auth.ClientSpec{Name: "m", Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.token(cred)
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// client sends requests to a server through the validating transport.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

// do sends a request; body is JSON-encoded unless it is a string (sent as
// is) or nil. hdr are header name, value pairs. It fails the test when the
// answer holds the secret value.
func (e *client) do(method, path, token string, body any, hdr ...string) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	if strings.Contains(string(raw), secretValue) {
		e.t.Errorf("%s %s: the answer holds the secret value", method, path)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		e.t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff (answers carry caller text)", method, path, got)
	}
	return a
}

// expect fails unless the answer has the status.
func (a answer) expect(t testing.TB, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// obj digs a nested object out of an answer.
func (a answer) obj(key string) map[string]any {
	m, _ := a.body[key].(map[string]any)
	return m
}

// workflowDef is a workflow whose trigger lets the listed users (emails) and
// teams execute it, then calls the receiver with the secret in a header;
// path "/async..." makes the webhook node wait for a completion.
func workflowDef(id string, anyone bool, url string, users, teams []string) map[string]any {
	if users == nil {
		users = []string{}
	}
	if teams == nil {
		teams = []string{}
	}
	return map[string]any{
		"identifier":            id,
		"title":                 "Test " + id,
		"allowAnyoneToViewRuns": anyone,
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{
				"type":        "SELF_SERVE_TRIGGER",
				"userInputs":  map[string]any{"properties": map[string]any{"env": map[string]any{"type": "string", "enum": []any{"dev", "prod"}, "default": "dev"}}},
				"permissions": map[string]any{"users": users, "teams": teams},
			}},
			map[string]any{"identifier": "call", "config": map[string]any{
				"type":         "WEBHOOK",
				"url":          url,
				"synchronized": !strings.Contains(url, "/async"),
				"headers":      map[string]any{"Authorization": "Bearer {{ .secrets.API_TOKEN }}"},
				"body":         map[string]any{"env": "{{ .outputs.trigger.env }}"},
			}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
}

// waitRun polls the store until cond holds for the run's node runs.
func (e *env) waitRun(runID string, cond func(store.Run, []store.NodeRun) bool) (store.Run, []store.NodeRun) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing assertion
	for {
		run, err := e.st.GetRun(context.Background(), runID)
		if err != nil {
			e.t.Fatal(err)
		}
		nrs, err := e.st.NodeRuns(context.Background(), runID)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(run, nrs) {
			return run, nrs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s never reached the expected state: %+v", runID, run)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waiting waits until the run's webhook node waits for its completion and
// returns that node run's identifier.
func (e *env) waiting(runID string) string {
	e.t.Helper()
	_, nrs := e.waitRun(runID, func(_ store.Run, nrs []store.NodeRun) bool {
		return len(nrs) == 2 && nrs[1].Waiting
	})
	return nrs[1].Identifier
}

// completed waits until the run is COMPLETED.
func (e *env) completed(runID string) store.Run {
	e.t.Helper()
	run, _ := e.waitRun(runID, func(r store.Run, _ []store.NodeRun) bool { return r.Status == store.StatusCompleted })
	return run
}

// start starts a run through the API and returns its identifier.
func (e *env) start(wf, token string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/workflows/"+wf+"/runs", token, map[string]any{"inputs": map[string]any{"env": "prod"}}).expect(e.t, http.StatusCreated)
	return r.obj("workflowRun")["identifier"].(string)
}

func (e *env) createWorkflow(def map[string]any) {
	e.t.Helper()
	e.do("POST", "/v1/workflows", e.admin, def).expect(e.t, http.StatusCreated)
}

// slowReceiver holds its first request until release is closed (or the
// caller gives up) and answers the others at once.
type slowReceiver struct {
	*httptest.Server
	arrived chan struct{}
	first   atomic.Bool
}

func newSlowReceiver(t testing.TB, release chan struct{}) *slowReceiver {
	r := &slowReceiver{arrived: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.first.CompareAndSwap(false, true) {
			close(r.arrived)
			select {
			case <-release:
			case <-req.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(r.Close)
	return r
}
