package cli

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestServeUISignInOnPostgres signs a person in to the web UI of a real
// `sluice serve` on PostgreSQL (passwords and sessions in its store), with
// --ui-session-ttl and --ui-secure-cookies shaping the session cookie.
func TestServeUISignInOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--database-url", db}
	if r := sluice(t, "", append([]string{"users", "create", "--email", "ann@example.com", "--role", "Member"}, common...)...); r.code != 0 {
		t.Fatalf("users create: exit %d: %s", r.code, r.stderr)
	}
	const pw = "a long enough password"
	if r := sluice(t, pw, append([]string{"users", "set-password", "ann@example.com"}, common...)...); r.code != 0 {
		t.Fatalf("users set-password: exit %d: %s", r.code, r.stderr)
	}
	srv := startServer(t, append(common, "--ui-session-ttl", "2h", "--ui-secure-cookies")...)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(password string) *http.Response {
		t.Helper()
		resp, err := client.Get(srv.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("GET /login: no csrf field in\n%s", page)
		}
		// The login cookie is Secure (--ui-secure-cookies), so the jar
		// keeps it from a plain-HTTP request: carry it by hand, as a
		// browser behind a TLS proxy would.
		var loginCookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name != "" && c.Value == string(m[1]) {
				loginCookie = c
			}
		}
		if loginCookie == nil || !loginCookie.Secure {
			t.Fatalf("GET /login cookies %v: want a Secure login cookie carrying the form's token", resp.Cookies())
		}
		form := url.Values{"email": {"ann@example.com"}, "password": {password}, "csrf": {string(m[1])}}
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCookie.Name, Value: loginCookie.Value})
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	if resp := login("wrong password"); resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("a wrong password signed in: %d %v", resp.StatusCode, resp.Header)
	}
	resp := login(pw)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/workflows" {
		t.Fatalf("sign-in: %d to %q; want 303 to /workflows\n%s", resp.StatusCode, resp.Header.Get("Location"), srv.logs())
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.MaxAge > 0 && c.Value != "" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("sign-in set no session cookie: %v", resp.Cookies())
	}
	if session.MaxAge != 7200 || !session.Secure || !session.HttpOnly {
		t.Errorf("session cookie Max-Age=%d Secure=%v HttpOnly=%v; want 7200 (--ui-session-ttl 2h), Secure (--ui-secure-cookies), HttpOnly", session.MaxAge, session.Secure, session.HttpOnly)
	}

	// The session lives in PostgreSQL: the page it opens is served.
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/workflows", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "ann@example.com") {
		t.Fatalf("GET /workflows with the session: %d\n%s", resp.StatusCode, body)
	}
}
