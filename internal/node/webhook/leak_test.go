package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
)

// TestExecuteRefusesCrossOriginRedirect: a redirect out of the origin of the
// config's url sends nothing there (net/http would forward a secret
// X-Api-Key header and, on 307/308, the body) and fails the node with
// ErrCrossOriginRedirect, which quotes no URL.
func TestExecuteRefusesCrossOriginRedirect(t *testing.T) {
	const secret = "sk_live_0123456789abcdef"
	var hits atomic.Int32
	target := func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "got it")
	}
	other := newServer(t, target)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(target))
	t.Cleanup(tlsSrv.Close)

	redirector := func(location string, status int) *httptest.Server {
		return newServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, location, status)
		})
	}
	// The same listener under another name is another host for net/http.
	otherByName := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	// A TLS server redirecting to plain http on its own host and port.
	downgrade := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			hits.Add(1)
		}
		http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(downgrade.Close)
	// A caller's client with a policy that follows anything.
	permissive := &http.Client{
		Transport:     tlsSrv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return nil },
	}

	tests := []struct {
		name   string
		url    string
		client *http.Client
	}{
		{"307 to another port", redirector(other.URL+"/elsewhere?k="+secret, http.StatusTemporaryRedirect).URL, nil},
		{"308 to another host name", redirector(otherByName+"/x", http.StatusPermanentRedirect).URL, nil},
		{"302 to another port", redirector(other.URL, http.StatusFound).URL, nil},
		{"http to https", redirector(tlsSrv.URL, http.StatusTemporaryRedirect).URL, tlsSrv.Client()},
		{"https downgraded to http", downgrade.URL, downgrade.Client()},
		{"caller's permissive policy", redirector(tlsSrv.URL, http.StatusTemporaryRedirect).URL, permissive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			cfg := map[string]any{
				"url":     tt.url,
				"headers": map[string]any{"X-Api-Key": secret, "Authorization": "Bearer " + secret},
				"body":    map[string]any{"token": secret},
			}
			_, l, err := run(t, New(Options{Client: tt.client}), cfg, true)
			if err == nil || err.Error() != ErrCrossOriginRedirect.Error() {
				t.Fatalf("error %v, want %q", err, ErrCrossOriginRedirect)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the other origin got %d requests", n)
			}
			u, _ := url.Parse(tt.url)
			assertNoLeak(t, err, secret, u.Host, u.Port(), "localhost", "elsewhere")
			if strings.Contains(l.text(), "answered") {
				t.Errorf("logs report an answer:\n%s", l.text())
			}
		})
	}
	if permissive.CheckRedirect(nil, nil) != nil || tlsSrv.Client().CheckRedirect != nil {
		t.Error("New modified the caller's client")
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"http://h.example/a", "http://h.example/b?q=1", true},
		{"http://h.example/", "http://H.EXAMPLE:80/x", true},
		{"https://h.example:443/", "https://h.example/x", true},
		{"http://[::1]:8080/", "http://[::1]:8080/y", true},
		{"http://h.example/", "https://h.example/", true}, // the usual upgrade to https
		{"http://h.example:8080/", "https://h.example/", false},
		{"http://h.example/", "https://h.example:8443/", false},
		{"http://h.example/", "https://other.example/", false},
		{"https://h.example/", "http://h.example:443/", false},
		{"http://h.example:8080/", "http://h.example:8081/", false},
		{"http://h.example/", "http://h.example.evil/", false},
		{"http://h.example/", "http://other.example/", false},
		{"http://h.example/", "ftp://h.example/", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestVerboseLogsMaskForeignJSONEscapes: a webhook echoing a secret with its
// JSON encoder's own escapes (PHP's "\/", Python's "\u00e4") must leave
// nothing of it in the stored logs, which the engine masks as plain text.
func TestVerboseLogsMaskForeignJSONEscapes(t *testing.T) {
	tests := []struct {
		name, secret, body string
	}{
		{"PHP slash", "abc/def+ghi/jkl==", `{"received":"abc\/def+ghi\/jkl=="}`},
		{"Python non-ASCII", "pässwörd-1234", `{"received": "p\u00e4ssw\u00f6rd-1234"}`},
		{"upper-case hex", "pässwörd-1234", `{"received": "p\u00E4ssw\u00F6rd-1234"}`},
		{"PHP default", "clé/secrète-99", `{"received":"cl\u00e9\/secr\u00e8te-99"}`},
		{"escaped key too", "abc/def+ghi/jkl==", `{"a\/b":["abc\/def+ghi\/jkl=="],"n":1e3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			})
			red := redact.New()
			red.Add(tt.secret)
			_, l, err := run(t, New(Options{}), map[string]any{"url": srv.URL}, true)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, ln := range l.all() {
				msgs = append(msgs, ln.message)
			}
			var stored strings.Builder
			for _, text := range red.Lines(msgs) {
				stored.WriteString(text.String() + "\n")
			}
			text := stored.String()
			if !strings.Contains(text, "response body: ") || !strings.Contains(text, redact.Mask) {
				t.Fatalf("response body not logged, or nothing masked:\n%s", text)
			}
			// No part of the secret that could be put back together.
			for _, part := range strings.FieldsFunc(tt.secret, func(r rune) bool { return r == '/' || r >= 0x80 }) {
				if len(part) >= 3 && strings.Contains(text, part) {
					t.Errorf("stored logs hold %q of the secret:\n%s", part, text)
				}
			}
		})
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`{"b":"x\/y","a":"\u00e4\u00C4"}`, `{"a":"äÄ","b":"x/y"}`, true},
		{" [1.50, 12345678901234567890, true, null] \n", `[1.50,12345678901234567890,true,null]`, true},
		{`"<&>"`, `"<&>"`, true},
		{`{} {}`, "", false},
		{`{"a":1} x`, "", false},
		{`not json`, "", false},
	}
	for _, tt := range tests {
		got, ok := canonicalJSON([]byte(tt.in))
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("canonicalJSON(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
