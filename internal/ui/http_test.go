package ui

import (
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// browser is a plain HTTP client with cookies that does not follow
// redirects, for the checks a real browser makes hard to see (headers,
// cookies, statuses).
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, html string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf field in %s", html)
	}
	return m[1]
}

// signIn signs in and returns the CSRF token of the first page.
func (b *browser) signIn(email, pw string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.do("GET", "/login", nil, nil)
	return b.do("POST", "/login", url.Values{"csrf": {csrfOf(b.t, page)}, "email": {email}, "password": {pw}}, nil)
}

func TestSignInAndSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t, e.hs.URL)

	// Every page but /login sends to /login without a session.
	for _, p := range []string{"/", "/workflows", "/workflows/deploy", "/runs", "/runs/wfr_x", "/secrets"} {
		res, _ := b.do("GET", p, nil, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") && p != "/" {
			t.Errorf("GET %s without a session: %d to %q, want a redirect to /login", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	res, page := b.do("GET", "/login", nil, nil)
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.Contains(page, `name="email"`) || !strings.Contains(page, `name="password"`) {
		t.Fatalf("the sign-in form lacks email or password: %s", page)
	}
	// The API still answers beside the UI.
	if res, body := b.do("GET", "/v1/workflows", nil, nil); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("GET /v1/workflows without a token: %d %s", res.StatusCode, body)
	}

	// A form without the login CSRF token, then from another origin, is refused.
	if res, _ := b.do("POST", "/login", url.Values{"email": {"ann@example.com"}, "password": {password}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the CSRF token: %d, want 403", res.StatusCode)
	}
	_, page = b.do("GET", "/login", nil, nil)
	if res, _ := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "email": {"ann@example.com"}, "password": {password}},
		map[string]string{"Origin": "http://evil.example"}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in from another origin: %d, want 403", res.StatusCode)
	}

	// Wrong password, unknown account: the same answer.
	r1, p1 := b.signIn("ann@example.com", "wrong password!!")
	r2, p2 := b.signIn("nobody@example.com", password)
	for i, r := range []*http.Response{r1, r2} {
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains([]string{p1, p2}[i], errSignIn) {
			t.Errorf("failed sign-in %d: %d", i, r.StatusCode)
		}
	}

	res, _ = b.signIn("ANN@example.com", password)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/workflows" {
		t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, not Secure on plain HTTP", sc)
	}
	res, page = b.do("GET", "/workflows", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Deploy a service") || strings.Contains(page, "Private job") {
		t.Errorf("/workflows for a Member: %d; want deploy, not private:\n%s", res.StatusCode, page)
	}
	csrf := csrfOf(t, page)

	// A POST without the session's CSRF token changes nothing.
	if res, _ := b.do("POST", "/secrets", url.Values{"name": {"X_SECRET"}, "value": {"abcdefgh"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d, want 403", res.StatusCode)
	}
	// A Member may not see secrets: the API's 403.
	if res, _ := b.do("GET", "/secrets", nil, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("GET /secrets as a Member: %d, want 403", res.StatusCode)
	}
	// Nor an Admin's private run, by URL.
	private := e.startAs(e.admin, "private", nil)
	e.waitRun(private)
	if res, page := b.do("GET", "/runs/"+private, nil, nil); res.StatusCode != http.StatusNotFound || strings.Contains(page, secretValue) {
		t.Errorf("GET another's private run: %d, want 404", res.StatusCode)
	}
	if _, page := b.do("GET", "/runs", nil, nil); strings.Contains(page, private) {
		t.Error("/runs lists an Admin's private run to a Member")
	}

	// Sign out ends the session server-side.
	if res, _ := b.do("POST", "/logout", url.Values{"csrf": {csrf}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", res.StatusCode)
	}
	old := newBrowser(t, e.hs.URL)
	u, _ := url.Parse(e.hs.URL)
	old.c.Jar.SetCookies(u, []*http.Cookie{sc})
	if res, _ := old.do("GET", "/workflows", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the session cookie still works after sign-out: %d", res.StatusCode)
	}
}

func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t, e.hs.URL)
	for i := 0; i < limitFailures; i++ {
		if res, _ := b.signIn("ann@example.com", "wrong password!!"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
	}
	// The account is locked for the window, right password or not; the
	// session store holds no session for it.
	res, page := b.signIn("ann@example.com", password)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed sign-ins") {
		t.Errorf("sign-in past the limit: %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Error("a session was issued past the limit")
		}
	}
}

// TestPagesHoldNoSecret renders every page an Admin can open after a run
// that sent the secret and got it echoed back, and looks for the value in
// the forms it could take in a page.
func TestPagesHoldNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	close(e.release)
	id := e.startAs(e.admin, "deploy", map[string]any{"ticket": "OPS-1", "environment": "production"})
	if res := e.waitRun(id); res != store.ResultSuccess {
		t.Fatalf("run %s: %s", id, res)
	}
	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("root@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	forms := map[string]string{
		"raw":        secretValue,
		"base64":     base64.StdEncoding.EncodeToString([]byte(secretValue)),
		"url":        url.QueryEscape("Bearer " + secretValue),
		"html":       html.EscapeString(secretValue),
		"js-escaped": strings.ReplaceAll(secretValue, "-", `\u002d`),
	}
	for _, p := range []string{"/workflows", "/workflows/deploy", "/runs", "/runs/" + id, "/runs/" + id + "/live", "/secrets"} {
		res, page := b.do("GET", p, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
		for name, f := range forms {
			if strings.Contains(page, f) {
				t.Errorf("GET %s holds the secret (%s)", p, name)
			}
		}
		if p == "/runs/"+id && !strings.Contains(page, `&#34;echo&#34;: &#34;***&#34;`) {
			t.Errorf("the run page does not show the echoed secret masked:\n%s", page)
		}
	}
}

func TestSecretDeleteNeedsConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("root@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	_, page := b.do("GET", "/secrets", nil, nil)
	csrf := csrfOf(t, page)
	tests := []struct {
		name    string
		confirm string
		status  int
		left    bool
	}{
		{"no confirmation", "", http.StatusBadRequest, true},
		{"another name", "api_token", http.StatusBadRequest, true},
		{"confirmed", "API_TOKEN", http.StatusSeeOther, false},
	}
	for _, tc := range tests {
		res, page := b.do("POST", "/secrets/API_TOKEN/delete", url.Values{"csrf": {csrf}, "confirm": {tc.confirm}}, nil)
		if res.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d\n%s", tc.name, res.StatusCode, tc.status, page)
		}
		_, err := e.svc.Get(t.Context(), "API_TOKEN")
		if (err == nil) != tc.left {
			t.Errorf("%s: the secret is there: %v, want %v", tc.name, err == nil, tc.left)
		}
	}
}
