// Package api is sluice's HTTP API: Port's /v1 paths and envelopes over the
// store, the engine and the secrets service, with bearer-token
// authentication (package auth), the permission rules of package authz,
// request limits, access logs, Prometheus metrics and the OpenAPI document
// (/v1/openapi.json) that the tests hold the handlers to.
//
// A Server owns the runs it drives in the background: it starts each run's
// Execute in a goroutine it tracks, resumes the runs left IN_PROGRESS by a
// previous process (Resume), and on Shutdown lets in-flight node executions
// finish within a grace period before it cancels the rest (their node runs
// stay IN_PROGRESS and resume at the next start).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// DefaultMaxBodyBytes bounds request bodies unless configured.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Server.
type Options struct {
	Store store.Store
	// Nodes are the executors the engine runs nodes with.
	Nodes *node.Registry
	// Secrets manages organization secrets and resolves them for runs; nil
	// means no stored secrets (the secrets endpoints answer 503).
	Secrets *secret.Service
	Auth    *auth.Authenticator
	// Logger receives access logs and background errors; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 past it); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the engine's clock; nil means time.Now.
	Now func() time.Time
	// OnEvent, when set, also receives the engine's progress events (after
	// the metrics). It must not block for long.
	OnEvent func(engine.Event)
	// ProcessRedactor, when set, learns every secret value the engine
	// resolves; the server's log writes through it.
	ProcessRedactor *redact.Redactor
	// LiteralCredentials says what a save does with a definition that holds
	// a credential as literal text: reject ("" too), warn or allow
	// (credentials.go).
	LiteralCredentials string
	// SweepInterval is how often, once Resume was called, the server looks
	// for IN_PROGRESS runs that no driver of this process holds and that do
	// not wait for an outside completion (a driver gave up on an
	// unavailable store), and drives them. 0 means DefaultSweepInterval; a
	// negative value disables the sweep.
	SweepInterval time.Duration
	// WaitCheckInterval is how often, once Resume was called, the server
	// ends the waits whose deadline has passed (waits.go). 0 means
	// DefaultWaitCheckInterval; a negative value disables it.
	WaitCheckInterval time.Duration
	// MaxAttempts, RetryFor and MaxTemplateBytes are the engine's options
	// of the same names.
	MaxAttempts      int
	MaxTemplateBytes int
	RetryFor         time.Duration
	// Catalog, when set, serves Port's catalog endpoints (catalog.go) and,
	// once Resume was called, starts the runs of EVENT_TRIGGER and
	// SCHEDULE_TRIGGER workflows (autostart.go).
	Catalog *catalog.Service
	// AutostartInterval is how often the server looks for catalog events,
	// due entity timers and due schedules besides being woken by catalog
	// writes. 0 means DefaultAutostartInterval; a negative value disables
	// automatic runs.
	AutostartInterval time.Duration
	// MaxDefinitions is the engine's option of that name.
	MaxDefinitions int
	// MaxRunning bounds the runs the server drives in the background at
	// once (pool.go); run creation answers 503 with Retry-After when they
	// are all taken. 0 means DefaultMaxRunning.
	MaxRunning int
	// TokenPurgeInterval is how often, once Resume was called, the server
	// deletes expired access tokens. 0 means DefaultTokenPurgeInterval; a
	// negative value disables it.
	TokenPurgeInterval time.Duration
	// Events, when set, is where requests that wait for a run (watch.go)
	// learn of its progress; nil means the server's own runevents.Hub,
	// which sees the runs this process drives. A source that also hears
	// other processes (PostgreSQL LISTEN/NOTIFY) plugs in here.
	Events runevents.Source
	// Tracer is the engine's option of that name (nil: no tracing).
	Tracer engine.Tracer
	// LeaseOwner, when set on a store with store.LeaseStore, makes the
	// server share its store with other processes: it leases the runs it
	// drives (engine.Options.LeaseOwner, LeaseTTL) and, from Resume on,
	// claims every ClaimInterval (0: DefaultClaimInterval) the runs no
	// live process drives, instead of resuming and sweeping every
	// IN_PROGRESS run (leases.go).
	LeaseOwner    string
	LeaseTTL      time.Duration
	ClaimInterval time.Duration
	// ExclusiveStore says that no other process uses the store (serve on
	// SQLite holds the data dir's lock): Resume then takes over the runs
	// leased by a previous process at once instead of when their leases
	// expire.
	ExclusiveStore bool
}

// DefaultSweepInterval is Options.SweepInterval when it is 0.
const DefaultSweepInterval = 10 * time.Second

// Server serves the API and drives the runs it starts. Create it with New.
type Server struct {
	st      store.Store
	eng     *engine.Engine
	nodes   *node.Registry // for save-time warnings; may be nil
	secrets *secret.Service
	auth    *auth.Authenticator
	log     *slog.Logger
	maxBody int64
	metrics *metrics
	mux     *http.ServeMux
	openapi []byte // the OpenAPI document as JSON
	// literalCreds is Options.LiteralCredentials, "" made reject.
	literalCreds string

	// Background run execution.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bgMu     sync.Mutex
	closing  bool
	bg       sync.WaitGroup

	// The sweep of stalled runs, started by Resume.
	sweepEvery time.Duration
	sweepOnce  sync.Once
	sweepStop  chan struct{} // closed by Shutdown
	sweepDone  chan struct{} // closed when the sweep loop returned
	// The expiry of waits past their deadline, started by Resume.
	waitEvery time.Duration
	waitDone  chan struct{} // closed when the wait loop returned
	// inputs takes responses to INPUT nodes; nil on a store without
	// store.InputStore.
	inputs *input.Service
	// The catalog and the runs that start by themselves (autostart.go).
	catalog  *catalog.Service
	auto     autostartState
	wakesOff bool // the store keeps no wake times (under bgMu)
	// The bounded pool of background run drivers (pool.go), and the purge
	// of expired tokens started by Resume.
	slots      chan struct{}
	purgeEvery time.Duration
	purgeDone  chan struct{} // closed when the purge loop returned
	// hub fans the engine's events out to waiting requests; events is
	// where those requests subscribe (the hub unless Options.Events).
	hub    *runevents.Hub
	events runevents.Source
	// Leases (leases.go): the claim interval, and the heartbeat started by
	// Resume.
	claimEvery time.Duration
	beatDone   chan struct{}
	exclusive  bool

	// liveWaited, when set (tests), is called when a long poll waits
	// for a run this process drives without reading it first.
	liveWaited func()
}

// New returns a Server. It builds the engine over opts.Store and
// opts.Nodes, feeding the engine's events into the metrics.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("api: Options.Store and Options.Auth are required")
	}
	if !ValidLiteralCredentials(opts.LiteralCredentials) {
		return nil, fmt.Errorf("api: Options.LiteralCredentials must be %s, %s or %s", LiteralCredentialsReject, LiteralCredentialsWarn, LiteralCredentialsAllow)
	}
	doc, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	s := &Server{
		st:      opts.Store,
		nodes:   opts.Nodes,
		secrets: opts.Secrets,
		auth:    opts.Auth,
		log:     opts.Logger,
		maxBody: opts.MaxBodyBytes,
		metrics: newMetrics(),
		mux:     http.NewServeMux(),
		openapi: doc,

		literalCreds: opts.LiteralCredentials,
		sweepEvery:   opts.SweepInterval,
		sweepStop:    make(chan struct{}),
		waitEvery:    opts.WaitCheckInterval,
		catalog:      opts.Catalog,
		purgeEvery:   opts.TokenPurgeInterval,
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = DefaultMaxRunning
	}
	s.slots = make(chan struct{}, opts.MaxRunning)
	if s.purgeEvery == 0 {
		s.purgeEvery = DefaultTokenPurgeInterval
	}
	if s.waitEvery == 0 {
		s.waitEvery = DefaultWaitCheckInterval
	}
	if s.literalCreds == "" {
		s.literalCreds = LiteralCredentialsReject
	}
	if s.sweepEvery == 0 {
		s.sweepEvery = DefaultSweepInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.hub = runevents.NewHub(runevents.Options{})
	s.events = opts.Events
	if s.events == nil {
		s.events = s.hub
	}
	s.metrics.watchEvents(s.events)
	onEvent := func(ev engine.Event) {
		s.metrics.onEvent(ev)
		s.hub.OnEngineEvent(ev)
	}
	if opts.OnEvent != nil {
		onEvent = func(ev engine.Event) {
			s.metrics.onEvent(ev)
			s.hub.OnEngineEvent(ev)
			opts.OnEvent(ev)
		}
	}
	eo := engine.Options{Store: opts.Store, Nodes: opts.Nodes, Logger: s.log, OnEvent: onEvent, Now: opts.Now, ProcessRedactor: opts.ProcessRedactor,
		MaxAttempts: opts.MaxAttempts, RetryFor: opts.RetryFor, MaxTemplateBytes: opts.MaxTemplateBytes,
		MaxDefinitions: opts.MaxDefinitions, Tracer: opts.Tracer, LeaseOwner: opts.LeaseOwner, LeaseTTL: opts.LeaseTTL}
	if opts.Secrets != nil {
		eo.Secrets = opts.Secrets
	}
	s.eng = engine.New(eo)
	s.exclusive = opts.ExclusiveStore
	if s.claimEvery = opts.ClaimInterval; s.claimEvery <= 0 {
		s.claimEvery = DefaultClaimInterval
	}
	s.inputs, _ = input.NewService(opts.Store, s.eng, opts.Now)
	if s.inputs != nil {
		s.inputs.SetResponders(s.dynamic()) // usersQuery (policy.go)
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.initAutostart(opts.AutostartInterval)
	s.routes()
	return s, nil
}

// Engine returns the engine the server drives runs with.
func (s *Server) Engine() *engine.Engine { return s.eng }

// handlerFunc is an authenticated handler: it gets the actor and returns
// an error to answer with (an *Error, or anything else as a 500).
type handlerFunc func(w http.ResponseWriter, r *http.Request, a authz.Actor) error

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, map[string]any{"ok": true}) })
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", s.metrics.handler())
	m.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.openapi)
	})
	m.HandleFunc("POST /v1/auth/access_token", s.public(s.accessToken))

	m.HandleFunc("POST /v1/workflows", s.authed(s.createWorkflow))
	m.HandleFunc("GET /v1/workflows", s.authed(s.listWorkflows))
	m.HandleFunc("GET /v1/workflows/{identifier}", s.authed(s.getWorkflow))
	m.HandleFunc("PUT /v1/workflows/{identifier}", s.authed(s.putWorkflow))
	m.HandleFunc("DELETE /v1/workflows/{identifier}", s.authed(s.deleteWorkflow))
	m.HandleFunc("POST /v1/workflows/{identifier}/runs", s.authed(s.startRun))
	m.HandleFunc("GET /v1/workflows/{identifier}/nodes/{node}", s.authed(s.getNode))
	m.HandleFunc("GET /v1/workflows/runs", s.authed(s.listRuns))
	m.HandleFunc("GET /v1/workflows/runs/{wfr}", s.authed(s.getRun))
	m.HandleFunc("POST /v1/workflows/runs/{wfr}/cancel", s.authed(s.cancelRun))
	m.HandleFunc("PATCH /v1/workflows/nodes/runs/{wfnr}", s.authed(s.completeNodeRun))
	m.HandleFunc("POST /v1/workflows/nodes/runs/{wfnr}/logs", s.authed(s.addLogs))
	m.HandleFunc("POST /v1/workflows/nodes/runs/{wfnr}/responses", s.authed(s.respond))

	m.HandleFunc("GET /v1/organization/secrets", s.authed(s.listSecrets))
	m.HandleFunc("POST /v1/organization/secrets", s.authed(s.createSecret))
	m.HandleFunc("GET /v1/organization/secrets/{name}", s.authed(s.getSecret))
	m.HandleFunc("PATCH /v1/organization/secrets/{name}", s.authed(s.updateSecret))
	m.HandleFunc("DELETE /v1/organization/secrets/{name}", s.authed(s.deleteSecret))
	m.HandleFunc("GET /v1/audit", s.authed(s.listAudit))
	s.catalogRoutes()

	m.HandleFunc("GET /v1/integrations", s.authed(s.listIntegrations))
	m.HandleFunc("POST /v1/integrations", s.authed(s.createIntegration))
	m.HandleFunc("GET /v1/integrations/{id}", s.authed(s.getIntegration))
	m.HandleFunc("DELETE /v1/integrations/{id}", s.authed(s.deleteIntegration))
	m.HandleFunc("GET /v1/ai/providers", s.authed(s.listAIProviders))
	m.HandleFunc("POST /v1/ai/providers", s.authed(s.createAIProvider))
	m.HandleFunc("DELETE /v1/ai/providers/{name}", s.authed(s.deleteAIProvider))
	m.HandleFunc("POST /v1/workflows/runs/claim-pending", s.authed(s.claimPending))
	m.HandleFunc("PATCH /v1/workflows/runs/ack", s.authed(s.ackNodeRun))
	s.portRoutes()
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveHTTP routes a request and writes its access log and metrics: method,
// route pattern, status and duration. Never headers, bodies or query
// strings, which may carry tokens and secrets.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Answers carry caller text (run outputs, logs): a browser must never
	// sniff them into HTML or script.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	sw := &statusWriter{ResponseWriter: w}
	h, route := s.mux.Handler(r)
	if wfr, ok := eventsPath(r); ok {
		route = eventsRoute
		r.Pattern = eventsRoute
		r.SetPathValue("wfr", wfr)
		s.authed(s.runEvents)(sw, r)
	} else if route == "" {
		route = "unmatched"
		s.unmatched(sw, r, h)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	d := time.Since(start)
	s.metrics.observe(route, sw.status, d)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", sw.status), slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)))
}

// captureWriter takes what the mux would answer an unmatched request with,
// so that it can be rewritten into the error envelope.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

// unmatched answers a request no route matched: 405 (with Allow) when the
// path exists with other methods, a redirect when the mux cleans the path,
// else 404, in the error envelope.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &captureWriter{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, apiErr(http.StatusMethodNotAllowed, codeMethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, c.header.Get("Allow")))
	case http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusFound:
		w.Header().Set("Location", c.header.Get("Location"))
		writeError(w, apiErr(c.status, codeNotFound, "the resource is at %s", c.header.Get("Location")))
	default:
		writeError(w, notFound("no such endpoint: %s %s", r.Method, r.URL.Path))
	}
}

// public adapts a handler that needs no authentication.
func (s *Server) public(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// authed adapts a handler that needs a valid bearer token.
func (s *Server) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(r)
		if err == nil {
			err = h(w, r, a)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// authenticate checks the Authorization: Bearer header.
func (s *Server) authenticate(r *http.Request) (authz.Actor, error) {
	if a, ok := r.Context().Value(actorKey{}).(authz.Actor); ok && a.ID != "" {
		return a, nil // authenticated by this process (WithActor)
	}
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if h == "" || !found || !strings.EqualFold(scheme, "Bearer") {
		return authz.Actor{}, apiErr(http.StatusUnauthorized, codeUnauthorized, "an access token is required: Authorization: Bearer <token> (POST /v1/auth/access_token issues one)")
	}
	a, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		return authz.Actor{}, apiErr(http.StatusUnauthorized, codeUnauthorized, "the access token is invalid or expired")
	case err != nil:
		return authz.Actor{}, err
	}
	return a, nil
}

// fail answers with err: an *Error as it says, a store that is briefly
// unavailable as a 503 with Retry-After, anything else as a 500 whose cause
// goes to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	if errors.Is(err, store.ErrUnavailable) {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "store unavailable", slog.String("method", r.Method), slog.String("route", r.Pattern), slog.String("error", err.Error()))
		writeError(w, unavailable())
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("method", r.Method), slog.String("route", r.Pattern), slog.String("error", err.Error()))
	writeError(w, apiErr(http.StatusInternalServerError, codeInternal, "the server failed to answer; see its log"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.bgMu.Lock()
	closing := s.closing
	s.bgMu.Unlock()
	if closing {
		writeError(w, apiErr(http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down"))
		return
	}
	// A read that touches the database: a missing run is the healthy answer.
	if _, err := s.st.GetRun(r.Context(), "wfr_readiness_probe"); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "store not ready", slog.String("error", err.Error()))
		writeError(w, apiErr(http.StatusServiceUnavailable, codeUnavailable, "the store is not reachable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// execute drives a run in the background if a slot of the pool is free,
// tracked for Shutdown, and reports whether it does. A run it does not drive
// (no slot, or Shutdown began) stays IN_PROGRESS in the store: the sweep, or
// the next start, drives it.
func (s *Server) execute(runID string) bool {
	if !s.trySlot() {
		s.log.LogAttrs(s.bgCtx, slog.LevelInfo, "every run slot is taken; the sweep of stalled runs will drive this run", slog.String("run", runID))
		return false
	}
	return s.drive(runID, false)
}

// executeWait drives a run in the background once a slot is free, waiting
// for one until Shutdown.
func (s *Server) executeWait(runID string) bool {
	if !s.waitSlot() {
		return false
	}
	return s.drive(runID, false)
}

// Resume drives every run left IN_PROGRESS (by a previous process) in the
// background and returns how many. Node runs that wait for an outside
// completion stay waiting. From then on, until Shutdown, the server also
// sweeps every Options.SweepInterval for runs whose driver stopped (it gave
// up on an unavailable store) and drives them again.
func (s *Server) Resume(ctx context.Context) (int, error) {
	if s.leasing() {
		return s.resumeLeased(), nil
	}
	runs, err := s.st.ListInProgressRuns(ctx)
	if err != nil {
		return 0, fmt.Errorf("list runs to resume: %w", err)
	}
	// One goroutine feeds them to the pool, so that a start with many runs
	// left over neither blocks nor starts a goroutine per run.
	s.bgMu.Lock()
	if !s.closing {
		s.bg.Go(func() {
			for _, r := range runs {
				if !s.executeWait(r.Identifier) {
					return
				}
			}
		})
	}
	s.bgMu.Unlock()
	s.sweepOnce.Do(func() {
		s.startWaitLoop()
		s.startAutostart()
		if s.purgeEvery > 0 {
			s.purgeDone = make(chan struct{})
			go s.purgeTokensLoop()
		}
		if s.sweepEvery < 0 {
			return
		}
		s.sweepDone = make(chan struct{})
		go s.sweepLoop()
	})
	return len(runs), nil
}

// sweepLoop calls sweep every s.sweepEvery until Shutdown.
func (s *Server) sweepLoop() {
	defer close(s.sweepDone)
	tick := time.NewTicker(s.sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.sweepStop:
			return
		case <-tick.C:
		}
		if err := s.sweep(); err != nil {
			s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "sweep of stalled runs failed; trying again later", slog.String("error", err.Error()))
		}
	}
}

// sweep drives, in the background, every IN_PROGRESS run that no driver of
// this process holds and that does not wait for an outside completion
// (Engine.ExecuteIfIdle decides, under the run's lock, so a run is never
// driven twice at once).
func (s *Server) sweep() error {
	runs, err := s.st.ListInProgressRuns(s.bgCtx)
	if err != nil {
		return fmt.Errorf("list in-progress runs: %w", err)
	}
	for _, r := range runs {
		if !s.waitSlot() {
			return nil
		}
		if !s.drive(r.Identifier, true) {
			return nil
		}
	}
	return nil
}

// Shutdown stops starting background executions, waits for those in flight
// until ctx is done, then cancels them and waits for them to stop. Call it
// after http.Server.Shutdown. It returns ctx's error when it had to cancel.
func (s *Server) Shutdown(ctx context.Context) error {
	s.StopWaiting()
	s.bgMu.Lock()
	if !s.closing {
		close(s.sweepStop)
	}
	s.closing = true
	s.bgMu.Unlock()
	s.sweepOnce.Do(func() {}) // no sweep starts from now on
	if s.sweepDone != nil {
		<-s.sweepDone
	}
	if s.waitDone != nil {
		<-s.waitDone
	}
	if s.auto.done != nil {
		<-s.auto.done
	}
	if s.purgeDone != nil {
		<-s.purgeDone
	}
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
		s.bgCancel()
		s.stopLeases()
		return nil
	case <-ctx.Done():
		s.bgCancel()
		<-done
		s.stopLeases()
		return ctx.Err()
	}
}

// StopWaiting ends the requests that wait for runs (long polls answer with
// the run as it stands, event streams end), so that an HTTP server's
// Shutdown need not wait for them: register it with
// http.Server.RegisterOnShutdown. Shutdown calls it too.
func (s *Server) StopWaiting() { s.hub.Close() }

// definition returns a workflow version, parsed once per process.
func (s *Server) definition(w store.Workflow) (*workflow.Workflow, error) {
	return s.eng.Compiled(w)
}

// version returns a workflow version parsed, or nil when it cannot be read
// (the permission rules then fall back to their strictest answer).
func (s *Server) version(ctx context.Context, id string, version int) (*workflow.Workflow, error) {
	wf, err := s.eng.Definition(ctx, id, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return wf, err
}
