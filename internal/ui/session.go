package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// Cookie names. The session cookie holds the session token (only its hash
// is stored); the login cookie holds the anti-CSRF token of the sign-in
// form, before there is a session.
const (
	sessionCookie = "sluice_session"
	loginCookie   = "sluice_login"
	sessionPrefix = "sls_"
)

// session is a signed-in request's person and its anti-CSRF token.
type session struct {
	actor authz.Actor
	user  store.User
	csrf  string
	hash  []byte
}

func randomToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// csrfFor derives a session's anti-CSRF token from its token: an HMAC that
// a page may carry in its forms without revealing the session token (which
// is HttpOnly and never in a page).
func csrfFor(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("sluice ui csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (u *UI) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.secure || r.TLS != nil}
}

// sameOrigin rejects a state-changing request that a browser says comes
// from another origin (Origin, or Sec-Fetch-Site), on top of the
// anti-CSRF token.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	o, err := url.Parse(origin)
	return err == nil && strings.EqualFold(o.Host, r.Host)
}

// current returns the request's session, or ok false without a valid one.
func (u *UI) current(r *http.Request) (*session, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || u.sessions == nil || !strings.HasPrefix(c.Value, sessionPrefix) {
		return nil, false, nil
	}
	h := hashToken(c.Value)
	s, err := u.sessions.GetSession(r.Context(), h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if !u.now().Before(s.ExpiresAt) {
		return nil, false, nil
	}
	usr, err := u.st.GetUser(r.Context(), s.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	a := authz.Actor{ID: usr.ID, Email: usr.Email, FirstName: usr.FirstName, LastName: usr.LastName, Role: usr.Role, Teams: usr.Teams}
	return &session{actor: a, user: usr, csrf: csrfFor(c.Value), hash: h}, true, nil
}

// pageFunc is a handler of a signed-in page.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page adapts a pageFunc: without a session it redirects to /login; a POST
// must come from this origin and carry the session's anti-CSRF token.
func (u *UI) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s, ok, err := u.current(r)
		if err != nil {
			u.fail(w, r, nil, err)
			return
		}
		if !ok {
			if r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") != "cors" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			} else {
				http.Error(w, "sign in first: /login", http.StatusUnauthorized)
			}
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				u.fail(w, r, s, &apiError{Status: http.StatusBadRequest, Message: "the form could not be read"})
				return
			}
			if !sameOrigin(r) || !equalTokens(r.PostForm.Get("csrf"), s.csrf) {
				u.fail(w, r, s, &apiError{Status: http.StatusForbidden, Message: "the form expired or came from another site; reload the page and try again"})
				return
			}
		}
		if err := h(w, r, s); err != nil {
			u.fail(w, r, s, err)
		}
	}
}

// safeNext returns next when it is a path on this site, else /workflows.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/workflows"
	}
	return next
}

type loginData struct {
	CSRF, Email, Next, Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, _ := u.current(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.renderLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next")})
}

func (u *UI) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	w.Header().Set("Cache-Control", "no-store")
	d.CSRF = randomToken("")
	http.SetCookie(w, u.cookie(r, loginCookie, d.CSRF, 3600))
	if u.sessions == nil {
		d.Error = "This server's store keeps no sessions: the web UI needs the SQLite store."
	}
	u.render(w, status, "login", d)
}

// errSignIn is the one message of a failed sign-in: it does not say
// whether the account exists or has a password.
const errSignIn = "Wrong email or password."

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.renderLogin(w, r, http.StatusBadRequest, loginData{Error: "The form could not be read."})
		return
	}
	email, password, next := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password"), r.PostForm.Get("next")
	d := loginData{Email: email, Next: next}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !equalTokens(r.PostForm.Get("csrf"), c.Value) {
		d.Error = "The form expired; please sign in again."
		u.renderLogin(w, r, http.StatusForbidden, d)
		return
	}
	if u.sessions == nil {
		u.renderLogin(w, r, http.StatusServiceUnavailable, d)
		return
	}
	ip := clientIP(r)
	account := "account:" + strings.ToLower(email)
	if !u.limiter.allowed(ip, limitAddress, u.now()) || !u.limiter.allowed(account, limitFailures, u.now()) {
		d.Error = "Too many failed sign-ins; wait a few minutes and try again."
		u.renderLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	usr, ok, err := u.checkPassword(r, email, password)
	if err != nil {
		u.log.Error("sign-in failed", "error", err.Error())
		d.Error = "The server could not sign you in; see its log."
		u.renderLogin(w, r, http.StatusInternalServerError, d)
		return
	}
	if !ok {
		u.limiter.fail(ip, u.now())
		u.limiter.fail(account, u.now())
		d.Error = errSignIn
		u.renderLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	u.limiter.reset(account)
	tok := randomToken(sessionPrefix)
	now := u.now().UTC()
	if err := u.sessions.CreateSession(r.Context(), store.Session{Hash: hashToken(tok), UserID: usr.ID, CreatedAt: now, ExpiresAt: now.Add(u.ttl)}); err != nil {
		u.log.Error("create session", "error", err.Error())
		d.Error = "The server could not sign you in; see its log."
		u.renderLogin(w, r, http.StatusInternalServerError, d)
		return
	}
	http.SetCookie(w, u.cookie(r, loginCookie, "", -1))
	http.SetCookie(w, u.cookie(r, sessionCookie, tok, int(u.ttl/time.Second)))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// checkPassword finds the user by email (regardless of case) and checks
// the password, doing the same hashing work when there is no such user or
// no password.
func (u *UI) checkPassword(r *http.Request, email, password string) (store.User, bool, error) {
	select {
	case u.hashing <- struct{}{}:
		defer func() { <-u.hashing }()
	case <-r.Context().Done():
		return store.User{}, false, r.Context().Err()
	}
	us, err := u.st.ListUsers(r.Context())
	if err != nil {
		return store.User{}, false, err
	}
	var usr store.User
	for _, x := range us {
		if email != "" && strings.EqualFold(x.Email, email) {
			usr = x
		}
	}
	hash := u.dummy
	if usr.ID != "" {
		h, err := u.sessions.GetPassword(r.Context(), usr.ID)
		switch {
		case err == nil:
			hash = h
		case !errors.Is(err, store.ErrNotFound):
			return store.User{}, false, err
		}
	}
	err = auth.CheckPassword(hash, password)
	switch {
	case errors.Is(err, auth.ErrWrongPassword):
		return store.User{}, false, nil
	case err != nil:
		return store.User{}, false, err
	}
	return usr, hash != u.dummy && usr.ID != "", nil
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	s, ok, err := u.current(r)
	if err == nil && ok {
		_ = r.ParseForm()
		if !sameOrigin(r) || !equalTokens(r.PostForm.Get("csrf"), s.csrf) {
			http.Error(w, "the form expired; reload the page", http.StatusForbidden)
			return
		}
		if err := u.sessions.DeleteSession(r.Context(), s.hash); err != nil {
			u.fail(w, r, s, err)
			return
		}
	}
	http.SetCookie(w, u.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// Limits of failed sign-ins in limitWindow: limitFailures per account,
// limitAddress per client address (several people may share one); past
// either, no sign-in is tried until the window ends.
const (
	limitFailures = 5
	limitAddress  = 20
	limitWindow   = 15 * time.Minute
	limitKeys     = 10000
)

// limiter counts failed sign-ins per key in fixed windows, in a bounded
// map.
type limiter struct {
	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter() *limiter { return &limiter{m: map[string]*window{}} }

// allowed reports whether key has had fewer than limit failures in its
// current window.
func (l *limiter) allowed(key string, limit int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	return w == nil || now.Sub(w.start) >= limitWindow || w.n < limit
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= limitWindow {
		if len(l.m) >= limitKeys {
			for k, x := range l.m {
				if now.Sub(x.start) >= limitWindow {
					delete(l.m, k)
				}
			}
			if len(l.m) >= limitKeys {
				return // full of live windows: count nothing more than the limit allows
			}
		}
		w = &window{start: now}
		l.m[key] = w
	}
	w.n++
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

func dummyHash() string { return auth.DummyPasswordHash() }
