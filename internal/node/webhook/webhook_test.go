package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

// received is what a test server saw of a request.
type received struct {
	method string
	host   string
	header http.Header
	body   string
}

// recorder returns a server that records the last request and answers with
// status, contentType and body.
func recorder(t *testing.T, status int, contentType, body string) (*httptest.Server, *received) {
	t.Helper()
	got := &received{}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = received{method: r.Method, host: r.Host, header: r.Header.Clone(), body: string(b)}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	return srv, got
}

func TestExecuteMethodsAndBodies(t *testing.T) {
	tests := []struct {
		name        string
		cfg         map[string]any
		method      string
		body        string
		contentType string
	}{
		{"default is POST without body", map[string]any{}, "POST", "", ""},
		{"GET has no body", map[string]any{"method": "GET"}, "GET", "", ""},
		{"GET with a body given", map[string]any{"method": "GET", "body": map[string]any{"q": "x"}}, "GET", `{"q":"x"}`, "application/json"},
		{"PUT object", map[string]any{"method": "PUT", "body": map[string]any{"b": true, "a": json.Number("12345678901234567890")}}, "PUT", `{"a":12345678901234567890,"b":true}`, "application/json"},
		{"PATCH array", map[string]any{"method": "PATCH", "body": []any{1.5, "x", nil}}, "PATCH", `[1.5,"x",null]`, "application/json"},
		{"DELETE", map[string]any{"method": "DELETE"}, "DELETE", "", ""},
		{"HTML characters are not escaped", map[string]any{"body": map[string]any{"html": "<a href='x'>&</a>"}}, "POST", `{"html":"<a href='x'>&</a>"}`, "application/json"},
		{"null body is no body", map[string]any{"body": nil}, "POST", "", ""},
		{"string body is JSON by default", map[string]any{"body": "hi"}, "POST", `"hi"`, "application/json"},
		{"string body with a text Content-Type is raw", map[string]any{"body": "a=1&b=2", "headers": map[string]any{"content-type": "application/x-www-form-urlencoded"}}, "POST", "a=1&b=2", "application/x-www-form-urlencoded"},
		{"object body with a +json Content-Type is JSON", map[string]any{"body": map[string]any{"k": "v"}, "headers": map[string]any{"Content-Type": "application/vnd.api+json"}}, "POST", `{"k":"v"}`, "application/vnd.api+json"},
		{"object body with a text Content-Type is still JSON", map[string]any{"body": map[string]any{"k": "v"}, "headers": map[string]any{"Content-Type": "text/plain"}}, "POST", `{"k":"v"}`, "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, 200, "", "ok")
			tt.cfg["url"] = srv.URL + "/hook"
			if _, _, err := run(t, New(Options{}), tt.cfg, false); err != nil {
				t.Fatal(err)
			}
			if got.method != tt.method || got.body != tt.body {
				t.Errorf("got %s %q, want %s %q", got.method, got.body, tt.method, tt.body)
			}
			if ct := got.header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
		})
	}
}

func TestExecuteRequestHeaders(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		headers map[string]any
		want    map[string]string // header name → value ("" means absent)
		host    string
	}{
		{
			name: "sluice headers and default user agent",
			want: map[string]string{
				"X-Sluice-Workflow-Run": testRunID, "X-Sluice-Node-Run": testNodeRunID,
				"User-Agent": "sluice", "X-Sluice-Signature": "", "X-Sluice-Timestamp": "",
			},
		},
		{
			name: "configured user agent",
			opts: Options{UserAgent: "sluice/1.2.3"},
			want: map[string]string{"User-Agent": "sluice/1.2.3"},
		},
		{
			name:    "custom headers; the config's User-Agent wins",
			opts:    Options{UserAgent: "sluice/1.2.3"},
			headers: map[string]any{"authorization": "Bearer tok-123", "X-Empty": "", "User-Agent": "mine/1"},
			want:    map[string]string{"Authorization": "Bearer tok-123", "User-Agent": "mine/1", "X-Sluice-Node-Run": testNodeRunID},
		},
		{
			name:    "Host header sets the request host",
			headers: map[string]any{"Host": "virtual.example"},
			host:    "virtual.example",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, 204, "", "")
			cfg := map[string]any{"url": srv.URL}
			if tt.headers != nil {
				cfg["headers"] = tt.headers
			}
			if _, _, err := run(t, New(tt.opts), cfg, false); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if g := got.header.Get(k); g != v {
					t.Errorf("%s: %q, want %q", k, g, v)
				}
			}
			if tt.host != "" && got.host != tt.host {
				t.Errorf("host %q, want %q", got.host, tt.host)
			}
		})
	}
}

func TestExecuteResponse(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		data        any
	}{
		{"JSON object keeps exact numbers", 200, "application/json", `{"id": 12345678901234567890, "ok": true, "list": [1, "a"]}`,
			map[string]any{"id": json.Number("12345678901234567890"), "ok": true, "list": []any{json.Number("1"), "a"}}},
		{"JSON without a JSON content type", 201, "text/plain", ` [1,2] `, []any{json.Number("1"), json.Number("2")}},
		{"JSON scalar", 200, "application/json", `"done"`, "done"},
		{"text", 200, "text/plain", "hello\nworld", "hello\nworld"},
		{"two JSON values are text", 200, "application/json", `{} {}`, `{} {}`},
		{"invalid JSON is text", 202, "application/json", `{"a":`, `{"a":`},
		{"empty body", 204, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("X-Multi", "a")
				w.Header().Add("x-multi", "b")
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			res, _, err := run(t, New(Options{}), map[string]any{"url": srv.URL}, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Pending || res.Outlet != "" {
				t.Errorf("result %+v: want neither pending nor an outlet", res)
			}
			resp := res.Output.(map[string]any)["response"].(map[string]any)
			if resp["status"] != json.Number(fmt.Sprint(tt.status)) {
				t.Errorf("status %#v, want %d", resp["status"], tt.status)
			}
			if !reflect.DeepEqual(resp["data"], tt.data) {
				t.Errorf("data %#v, want %#v", resp["data"], tt.data)
			}
			headers := resp["headers"].(map[string]any)
			if headers["X-Multi"] != "a, b" {
				t.Errorf("X-Multi %#v, want %q", headers["X-Multi"], "a, b")
			}
			if tt.contentType != "" && headers["Content-Type"] != tt.contentType {
				t.Errorf("Content-Type %#v, want %q", headers["Content-Type"], tt.contentType)
			}
			// The output must survive a JSON round trip unchanged: that is how
			// the engine stores it.
			if _, err := json.Marshal(res.Output); err != nil {
				t.Errorf("output does not marshal: %v", err)
			}
		})
	}
}

func TestExecuteNon2xxFails(t *testing.T) {
	tests := []struct {
		status int
		want   string
		async  bool
	}{
		{404, "webhook answered 404 Not Found", false},
		{500, "webhook answered 500 Internal Server Error", false},
		{502, "webhook answered 502 Bad Gateway", false},
		{302, "webhook answered 302 Found", false}, // a redirect without Location is not followed
		{599, "webhook answered 599", false},
		{503, "webhook answered 503 Service Unavailable", true},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv, _ := recorder(t, tt.status, "text/plain", "upstream said no")
			u := strings.Replace(srv.URL, "http://", "http://user:pw-secret@", 1) + "/p-secret?token=q-secret"
			for _, verbose := range []bool{false, true} {
				res, l, err := run(t, New(Options{}), map[string]any{"url": u, "synchronized": !tt.async}, verbose)
				if err == nil || err.Error() != tt.want {
					t.Fatalf("verbose=%v: error %v, want %q", verbose, err, tt.want)
				}
				if statusOf(err) != tt.status || res.Pending {
					t.Errorf("status %d pending %v, want %d and not pending", statusOf(err), res.Pending, tt.status)
				}
				assertNoLeak(t, err, "pw-secret", "p-secret", "q-secret", "127.0.0.1")
				logged := strings.Contains(l.text(), "DEBUG response body: upstream said no")
				if logged != verbose {
					t.Errorf("verbose=%v: response body logged: %v\n%s", verbose, logged, l.text())
				}
			}
		})
	}
}

func TestExecuteSignature(t *testing.T) {
	key := []byte("signing-key-0123456789")
	tests := []struct {
		name string
		cfg  map[string]any
		body string
	}{
		{"POST with body", map[string]any{"body": map[string]any{"n": json.Number("1")}}, `{"n":1}`},
		{"GET without body", map[string]any{"method": "GET"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, 200, "", "")
			tt.cfg["url"] = srv.URL
			if _, _, err := run(t, New(Options{SigningKey: key}), tt.cfg, false); err != nil {
				t.Fatal(err)
			}
			if got.body != tt.body {
				t.Fatalf("body %q, want %q", got.body, tt.body)
			}
			// Verify as a receiver in another language would, from the
			// documented formula, without this package.
			ts := got.header.Get("X-Sluice-Timestamp")
			mac := hmac.New(sha256.New, key)
			io.WriteString(mac, ts+"."+got.body)
			if want := "v1=" + hex.EncodeToString(mac.Sum(nil)); got.header.Get("X-Sluice-Signature") != want {
				t.Errorf("signature %q, want %q", got.header.Get("X-Sluice-Signature"), want)
			}
			if err := Verify(key, got.header, []byte(got.body), time.Now(), 5*time.Minute); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if err := Verify(key, got.header, []byte(got.body+" "), time.Now(), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify of a changed body: %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	key := []byte("k1-0123456789")
	now := time.Unix(1_767_225_600, 0)
	ts := "1767225600"
	body := []byte(`{"a":1}`)
	good := Sign(key, ts, body)
	other := Sign([]byte("k0-old"), ts, body)
	tests := []struct {
		name string
		ts   string
		sig  string
		now  time.Time
		want error
	}{
		{"valid", ts, good, now, nil},
		{"valid among rotated keys", ts, other + ", " + good, now, nil},
		{"within tolerance", ts, good, now.Add(4 * time.Minute), nil},
		{"other key", ts, other, now, ErrBadSignature},
		{"no v1 prefix", ts, strings.TrimPrefix(good, "v1="), now, ErrBadSignature},
		{"missing signature", ts, "", now, ErrNoSignature},
		{"missing timestamp", "", good, now, ErrNoSignature},
		{"stale", ts, good, now.Add(6 * time.Minute), ErrStaleTimestamp},
		{"future", ts, good, now.Add(-6 * time.Minute), ErrStaleTimestamp},
		{"malformed timestamp", "yesterday", good, now, ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ts != "" {
				h.Set(HeaderTimestamp, tt.ts)
			}
			if tt.sig != "" {
				h.Set(HeaderSignature, tt.sig)
			}
			if err := Verify(key, h, body, tt.now, 5*time.Minute); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExecuteTimeout(t *testing.T) {
	tests := []struct {
		name      string
		onTimeout any
		async     bool
		wantErr   string
	}{
		{"fail by default", nil, false, "webhook timed out after 200ms"},
		{"fail", "fail", false, "webhook timed out after 200ms"},
		{"continue", "continue", false, ""},
		{"continue, async", "continue", true, ""},
		{"fail, async", "fail", true, "webhook timed out after 200ms"},
	}
	srv := newServer(t, blockUntilGone)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"url": srv.URL, "timeoutSeconds": json.Number("0.2"), "synchronized": !tt.async}
			if tt.onTimeout != nil {
				cfg["onTimeout"] = tt.onTimeout
			}
			res, l, err := run(t, New(Options{}), cfg, false)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrTimeout) {
					t.Fatalf("error %v, want %q (ErrTimeout)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]any{"timeout": true}; !reflect.DeepEqual(res.Output, want) || res.Pending {
				t.Errorf("result %+v, want output %v and not pending", res, want)
			}
			if !strings.Contains(l.text(), "timed out after 200ms; onTimeout is continue") {
				t.Errorf("no log line says the node timed out: %s", l.text())
			}
		})
	}
}

func TestExecuteTimeoutWhileReadingBody(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	_, _, err := run(t, New(Options{}), map[string]any{"url": srv.URL, "timeoutSeconds": 0.2}, false)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
}

func TestExecuteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the run is cancelled while the webhook works
		<-r.Context().Done()
	})
	cfg := map[string]any{"url": srv.URL, "onTimeout": "continue"}
	_, err := New(Options{}).Execute(ctx, newRequest(cfg, false, &logs{}))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if err.Error() != "POST request cancelled: context canceled" {
		t.Errorf("error %q", err)
	}
}

func TestExecuteAsync(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		pending bool
	}{
		{"accepted", 202, true},
		{"ok", 200, true},
		{"refused", 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, tt.status, "application/json", `{"queued":true}`)
			res, _, err := run(t, New(Options{}), map[string]any{"url": srv.URL, "synchronized": false, "body": map[string]any{"a": "b"}}, false)
			if got.header.Get("X-Sluice-Node-Run") != testNodeRunID || got.body != `{"a":"b"}` {
				t.Errorf("request %+v: want the node run header and the body", got)
			}
			if tt.pending {
				if err != nil || !res.Pending || res.Output != nil {
					t.Fatalf("result %+v, %v: want pending without output", res, err)
				}
				return
			}
			if statusOf(err) != tt.status || res.Pending {
				t.Fatalf("result %+v, %v: want status error %d", res, err, tt.status)
			}
		})
	}
}

func TestExecuteResponseLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"at the limit", 1024, false, false},
		{"at the limit, chunked", 1024, true, false},
		{"over the limit", 1025, false, true},
		{"over the limit, chunked", 1025, true, true},
		{"far over the limit, chunked", 1 << 20, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Repeat("x", tt.size)
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, body)
			})
			res, _, err := run(t, New(Options{MaxResponseBytes: 1024}), map[string]any{"url": srv.URL}, false)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if data := res.Output.(map[string]any)["response"].(map[string]any)["data"]; data != body {
					t.Errorf("data has %d bytes, want %d", len(data.(string)), len(body))
				}
				return
			}
			if err == nil || err.Error() != "webhook response is larger than 1 KiB" || !errors.Is(err, ErrResponseTooLarge) {
				t.Fatalf("error %v, want %q", err, "webhook response is larger than 1 KiB")
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{DefaultMaxResponseBytes, "10 MiB"}, {1 << 30, "1 GiB"}, {64 << 10, "64 KiB"},
		{1536 << 10, "1536 KiB"}, {1000, "1000 bytes"}, {1, "1 byte"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.n); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestExecuteRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/final-secret?k=loc-secret", http.StatusFound)
	})
	mux.HandleFunc("/keep-body", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, b)
	})
	mux.HandleFunc("/final-secret", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "final %s", r.Method)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop?k=loop-secret", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "ftp://ftp-secret.example/file")
		w.WriteHeader(http.StatusFound)
	})
	srv := newServer(t, mux.ServeHTTP)
	host := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name    string
		path    string
		body    any
		data    string
		wantErr string
		sentErr error
	}{
		{"302 is followed, POST becomes GET", "/start", nil, "final GET", "", nil},
		{"307 keeps the method and body", "/keep-body", map[string]any{"x": "y"}, `POST {"x":"y"}`, "", nil},
		{"a loop stops", "/loop", nil, "", "POST request failed: stopped after 10 redirects", ErrTooManyRedirects},
		{"a non-http Location is another origin", "/elsewhere", nil, "", ErrCrossOriginRedirect.Error(), ErrCrossOriginRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"url": srv.URL + tt.path}
			if tt.body != nil {
				cfg["body"] = tt.body
			}
			res, _, err := run(t, New(Options{}), cfg, false)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if data := res.Output.(map[string]any)["response"].(map[string]any)["data"]; data != tt.data {
					t.Errorf("data %q, want %q", data, tt.data)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.sentErr != nil && !errors.Is(err, tt.sentErr) {
				t.Errorf("error %v is not %v", err, tt.sentErr)
			}
			assertNoLeak(t, err, host, "loop-secret", "ftp-secret", "/loop", "/elsewhere")
		})
	}

	// A caller's client without a redirect policy of ours still gives a
	// clean error.
	_, _, err := run(t, New(Options{Client: &http.Client{}}), map[string]any{"url": srv.URL + "/loop"}, false)
	if err == nil || err.Error() != "POST request failed: stopped after 10 redirects" {
		t.Errorf("plain client: error %v", err)
	}
	assertNoLeak(t, err, host, "loop-secret")
}

func TestExecuteNetworkErrorsHideTheURL(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point here
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	hangUp := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	refused := closedAddr(t)
	garbage := rawServer(t, "garbage-secret that is neither TLS nor HTTP\r\n\r\n")
	dnsClient := clientResolvingWith(startNXDomainDNS(t))

	tests := []struct {
		name     string
		client   *http.Client
		url      string
		want     string
		sentinel error
		hidden   []string
	}{
		{
			name: "connection refused", url: "http://user:pw-secret@" + refused + "/path-secret?token=q-secret",
			want: "POST request failed: dial tcp: connection refused", sentinel: ErrConnectionRefused,
			hidden: []string{refused, "pw-secret", "path-secret", "q-secret"},
		},
		{
			name: "DNS lookup fails", client: dnsClient, url: "http://secret-host-value.invalid/x?token=q-secret",
			want: "POST request failed: DNS lookup failed: no such host", sentinel: ErrDNSLookup,
			hidden: []string{"secret-host-value", "q-secret"},
		},
		{
			name: "certificate of an unknown authority", url: tlsSrv.URL + "/path-secret",
			want: "POST request failed: TLS handshake failed: x509: certificate signed by unknown authority", sentinel: ErrTLSHandshake,
			hidden: []string{tlsHost, "path-secret"},
		},
		{
			name: "certificate for another host", client: clientDialingTo(tlsSrv.Client(), tlsHost), url: "https://secret-tls-host.test/",
			want: "POST request failed: TLS handshake failed: x509: certificate is not valid for the host name", sentinel: ErrTLSHandshake,
			hidden: []string{"secret-tls-host", tlsHost},
		},
		{
			name: "plain HTTP to an https URL", url: strings.Replace(hangUp.URL, "http://", "https://", 1) + "/x",
			want:   "POST request failed: the server answered plain HTTP to an https URL",
			hidden: []string{strings.TrimPrefix(hangUp.URL, "http://")},
		},
		{
			name: "not TLS at all", url: "https://" + garbage + "/",
			want: "POST request failed: TLS handshake failed: the server did not answer with TLS", sentinel: ErrTLSHandshake,
			hidden: []string{garbage, "garbage-secret"},
		},
		{
			name: "not HTTP at all", url: "http://" + garbage + "/",
			want:   "POST request failed: malformed HTTP response",
			hidden: []string{garbage, "garbage-secret"},
		},
		{
			name: "server hangs up", url: hangUp.URL + "/path-secret",
			want:   "POST request failed: connection closed by the server",
			hidden: []string{strings.TrimPrefix(hangUp.URL, "http://"), "path-secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, l, err := run(t, New(Options{Client: tt.client}), map[string]any{"url": tt.url, "timeoutSeconds": 10}, false)
			assertNoLeak(t, err, tt.hidden...)
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v is not %v", err, tt.sentinel)
			}
			if errors.Is(err, ErrConnectionRefused) && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v does not unwrap to ECONNREFUSED", err)
			}
			if l.text() != "" {
				t.Errorf("a failed request logged %q; want nothing without verbose", l.text())
			}
		})
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"url missing", map[string]any{}, "config.url: required"},
		{"url null", map[string]any{"url": nil}, "config.url: required"},
		{"url number", map[string]any{"url": json.Number("3")}, "config.url: must be a string, got number"},
		{"url float", map[string]any{"url": 3.0}, "config.url: must be a string, got number"},
		{"url relative", map[string]any{"url": "/hooks/x"}, "config.url: must be an absolute http or https URL"},
		{"url other scheme", map[string]any{"url": "ftp://secret-a.example/x"}, "config.url: scheme must be http or https"},
		{"url unparsable", map[string]any{"url": "http://secret-b.example/%zz"}, "config.url: is not a valid URL"},
		{"url without host", map[string]any{"url": "http:///path"}, "config.url: has no host"},
		{"method type", map[string]any{"url": "http://h", "method": true}, "config.method: must be a string, got boolean"},
		{"method unknown", map[string]any{"url": "http://h", "method": "get"}, "config.method: must be one of GET, POST, PUT, PATCH, DELETE"},
		{"headers type", map[string]any{"url": "http://h", "headers": []any{"a"}}, "config.headers: must be an object, got array"},
		{"header number", map[string]any{"url": "http://h", "headers": map[string]any{"X-Count": json.Number("1")}}, "config.headers.X-Count: must be a string, got number"},
		{"header null", map[string]any{"url": "http://h", "headers": map[string]any{"Authorization": nil}}, "config.headers.Authorization: must be a string, got null"},
		{"header object", map[string]any{"url": "http://h", "headers": map[string]any{"A": map[string]any{}}}, "config.headers.A: must be a string, got object"},
		{"header name", map[string]any{"url": "http://h", "headers": map[string]any{"Bad Name": "x"}}, "config.headers.Bad Name: is not a valid header name"},
		{"header value", map[string]any{"url": "http://h", "headers": map[string]any{"X-A": "secret-c\r\nX-B: y"}}, "config.headers.X-A: must not contain control characters such as line breaks"},
		{"header twice", map[string]any{"url": "http://h", "headers": map[string]any{"X-A": "1", "x-a": "2"}}, "config.headers.x-a: repeats the header config.headers.X-A (names are case-insensitive)"},
		{"sluice header", map[string]any{"url": "http://h", "headers": map[string]any{"x-sluice-signature": "v1=00"}}, "config.headers.x-sluice-signature: is set by sluice and cannot be set in the config"},
		{"content length", map[string]any{"url": "http://h", "headers": map[string]any{"Content-Length": "3"}}, "config.headers.Content-Length: is managed by the HTTP client and cannot be set"},
		{"body not JSON", map[string]any{"url": "http://h", "body": map[string]any{"n": json.Number("secret-d")}}, "config.body: cannot be encoded as JSON"},
		{"synchronized string", map[string]any{"url": "http://h", "synchronized": "true"}, "config.synchronized: must be a boolean, got string"},
		{"onTimeout type", map[string]any{"url": "http://h", "onTimeout": false}, "config.onTimeout: must be a string, got boolean"},
		{"onTimeout value", map[string]any{"url": "http://h", "onTimeout": "retry"}, `config.onTimeout: must be "fail" or "continue"`},
		{"timeout string", map[string]any{"url": "http://h", "timeoutSeconds": "30"}, "config.timeoutSeconds: must be a number, got string"},
		{"timeout zero", map[string]any{"url": "http://h", "timeoutSeconds": json.Number("0")}, "config.timeoutSeconds: must be greater than 0 and at most 86400"},
		{"timeout negative", map[string]any{"url": "http://h", "timeoutSeconds": -1.0}, "config.timeoutSeconds: must be greater than 0 and at most 86400"},
		{"timeout huge", map[string]any{"url": "http://h", "timeoutSeconds": json.Number("1e300")}, "config.timeoutSeconds: must be greater than 0 and at most 86400"},
		{"timeout tiny", map[string]any{"url": "http://h", "timeoutSeconds": json.Number("1e-300")}, "config.timeoutSeconds: must be at least 1ns"},
		{"unknown field", map[string]any{"url": "http://h", "retries": 3.0}, "config.retries: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeConfig(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			assertNoLeak(t, err, "secret-a", "secret-b", "secret-c", "secret-d")
		})
	}
}

func TestDecodeConfigDefaults(t *testing.T) {
	c, err := decodeConfig(map[string]any{"type": "WEBHOOK", "onFailure": "continue", "url": "https://h.example/x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.method != "POST" || !c.synchronized || c.onTimeout != "fail" || c.timeout != 30*time.Second || c.body != nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestExecuteLogs(t *testing.T) {
	srv, _ := recorder(t, 200, "application/json", `{"answer":42}`)
	u := strings.Replace(srv.URL, "http://", "http://user:pw-secret@", 1) + "/hooks/h1?x=1"
	cfg := func() map[string]any { return map[string]any{"url": u, "body": map[string]any{"q": "question"}} }

	_, l, err := run(t, New(Options{}), cfg(), false)
	if err != nil {
		t.Fatal(err)
	}
	lines := l.all()
	if len(lines) != 1 || lines[0].level != node.LevelInfo || !regexp.MustCompile(`^POST answered 200 in (<1ms|\S+s)$`).MatchString(lines[0].message) {
		t.Errorf("non-verbose logs %q: want one INFO line", lines)
	}

	_, l, err = run(t, New(Options{}), cfg(), true)
	if err != nil {
		t.Fatal(err)
	}
	text := l.text()
	for _, want := range []string{
		"DEBUG POST http://user:xxxxx@" + strings.TrimPrefix(srv.URL, "http://") + "/hooks/h1?x=1\n",
		`DEBUG request body: {"q":"question"}` + "\n",
		"INFO POST answered 200 in ",
		`DEBUG response body: {"answer":42}` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("verbose logs lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "pw-secret") {
		t.Errorf("verbose logs hold the URL's password:\n%s", text)
	}
}

func TestExecuteLogsLargeBodiesWhole(t *testing.T) {
	big := strings.Repeat("y", maxLoggedBody+1)
	srv, _ := recorder(t, 200, "text/plain", big)
	_, l, err := run(t, New(Options{}), map[string]any{"url": srv.URL}, true)
	if err != nil {
		t.Fatal(err)
	}
	text := l.text()
	if strings.Contains(text, "yyyy") || !strings.Contains(text, "response body: 65537 bytes, not logged (over 64 KiB)") {
		t.Errorf("a body over the log limit must be left out, not cut:\n%.300s", text)
	}
}

func TestExecuteWithoutLog(t *testing.T) {
	srv, _ := recorder(t, 200, "", "")
	req := newRequest(map[string]any{"url": srv.URL}, true, nil)
	req.Log = nil
	if _, err := New(Options{}).Execute(t.Context(), req); err != nil {
		t.Fatal(err)
	}
}

func TestRegister(t *testing.T) {
	r := node.NewRegistry()
	Register(r, Options{})
	e, ok := r.Lookup(workflow.TypeWebhook)
	if !ok {
		t.Fatal("WEBHOOK is not registered")
	}
	if _, isWebhook := e.(*Executor); !isWebhook {
		t.Errorf("registered %T, want *Executor", e)
	}
}

func TestURLUserinfoIsSentAsBasicAuth(t *testing.T) {
	srv, got := recorder(t, 200, "", "")
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("me", "pw")
	if _, _, err := run(t, New(Options{}), map[string]any{"url": u.String()}, false); err != nil {
		t.Fatal(err)
	}
	if got.header.Get("Authorization") != "Basic bWU6cHc=" {
		t.Errorf("Authorization %q, want Basic auth from the userinfo", got.header.Get("Authorization"))
	}
}
