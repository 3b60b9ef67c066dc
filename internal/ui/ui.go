// Package ui is sluice's web UI: server-rendered pages (html/template) over
// the /v1 API, served by `sluice serve` at /. A person signs in with their
// email and password (sluice users set-password) and gets a server-side
// session; every page then calls the API handlers in-process as that
// person (api.WithActor), so the UI shows and does exactly what the API
// lets them, with the API's redaction. Secret values are write-only: no
// page, script or attribute ever holds one. docs/ui.md describes it.
package ui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/web"
)

// DefaultSessionTTL is how long a session lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour

// Options configure a UI.
type Options struct {
	// Store is where users and workflow versions are read.
	Store store.Store
	// API is the /v1 API's handler (api.Server.Handler): every page reads
	// and writes through it.
	API http.Handler
	// SessionTTL is the lifetime of a session; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP requests (a
	// TLS-terminating proxy in front); requests over TLS always get it.
	SecureCookies bool
	// Logger receives errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// UI serves the web UI. Create it with New.
type UI struct {
	st       store.Store
	sessions store.SessionStore // nil: the store keeps no sessions
	api      http.Handler
	ttl      time.Duration
	secure   bool
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	static   http.Handler
	limiter  *limiter
	hashing  chan struct{} // bounds concurrent password hashing (64 MiB each)
	dummy    string        // a password hash compared against for unknown accounts
	mux      *http.ServeMux
}

// New returns a UI.
func New(opts Options) (*UI, error) {
	if opts.Store == nil || opts.API == nil {
		return nil, errors.New("ui: Options.Store and Options.API are required")
	}
	u := &UI{st: opts.Store, api: opts.API, ttl: opts.SessionTTL, secure: opts.SecureCookies, log: opts.Logger, now: opts.Now,
		limiter: newLimiter(), hashing: make(chan struct{}, 2), mux: http.NewServeMux()}
	u.sessions, _ = opts.Store.(store.SessionStore)
	if u.ttl <= 0 {
		u.ttl = DefaultSessionTTL
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	var err error
	if u.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(web.FS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: static assets: %w", err)
	}
	u.static = http.StripPrefix("/static/", http.FileServerFS(static))
	u.dummy = dummyHash()
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	m := u.mux
	m.Handle("GET /static/", u.static)
	m.HandleFunc("GET /login", u.loginPage)
	m.HandleFunc("POST /login", u.login)
	m.HandleFunc("POST /logout", u.logout)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/workflows", http.StatusSeeOther) })
	m.HandleFunc("GET /workflows", u.page(u.workflows))
	m.HandleFunc("GET /workflows/{id}", u.page(u.workflow))
	m.HandleFunc("POST /workflows/{id}/run", u.page(u.startRun))
	m.HandleFunc("GET /runs", u.page(u.runs))
	m.HandleFunc("GET /runs/{wfr}", u.page(u.run))
	m.HandleFunc("GET /runs/{wfr}/live", u.page(u.runLive))
	m.HandleFunc("POST /runs/{wfr}/cancel", u.page(u.cancelRun))
	m.HandleFunc("GET /secrets", u.page(u.secrets))
	m.HandleFunc("POST /secrets", u.page(u.createSecret))
	m.HandleFunc("POST /secrets/{name}", u.page(u.updateSecret))
	m.HandleFunc("POST /secrets/{name}/delete", u.page(u.deleteSecret))
}

// Paths the UI serves; everything else goes to the API.
func isUIPath(p string) bool {
	switch {
	case p == "/", p == "/login", p == "/logout":
		return true
	}
	for _, prefix := range []string{"/static/", "/workflows", "/runs", "/secrets"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// Handler returns a handler that serves the UI's paths and hands every
// other request (the /v1 API, /healthz, /metrics...) to Options.API.
func (u *UI) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isUIPath(r.URL.Path) {
			u.api.ServeHTTP(w, r)
			return
		}
		securityHeaders(w.Header())
		u.mux.ServeHTTP(w, r)
	})
}

// csp is the Content-Security-Policy of every UI answer: scripts and
// styles from sluice itself only (no inline script or style, no eval),
// no frames, forms that post to sluice only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// DeleteExpiredSessions removes expired sessions; sluice serve calls it
// now and then.
func (u *UI) DeleteExpiredSessions(ctx context.Context) (int, error) {
	if u.sessions == nil {
		return 0, nil
	}
	return u.sessions.DeleteExpiredSessions(ctx, u.now())
}

// PurgeSessions deletes expired sessions every interval until ctx ends.
// Expired sessions are refused anyway; this only frees their rows.
func (u *UI) PurgeSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := u.DeleteExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				u.log.Warn("delete expired UI sessions", "error", err.Error())
			} else if n > 0 {
				u.log.Info("deleted expired UI sessions", "count", n)
			}
		}
	}
}
