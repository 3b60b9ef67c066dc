package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is an httptest server that answers as sluice's /v1 API does
// (its error envelope: {"ok": false, "error", "message", "details"}) for
// the few paths these tests use; it is a fake, not sluice. Tokens it
// issues are "tok-N"; it accepts only the newest.
type fakeServer struct {
	*httptest.Server
	mu        sync.Mutex
	issued    int
	exchanges int
	auths     []string
}

func newFake(t *testing.T) *fakeServer {
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) current() string { return "tok-" + string(rune('0'+f.issued)) }

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code, msg string, details ...Detail) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code, "message": msg, "details": details})
	}
	if r.URL.Path == "/v1/auth/access_token" {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.exchanges++
		if in["clientId"] != "id" || in["clientSecret"] != "s3cret" {
			fail(http.StatusUnauthorized, "invalid_credentials", "the client id or secret is wrong")
			return
		}
		if r.URL.Query().Get("notoken") != "" {
			io.WriteString(w, `{"ok": true}`)
			return
		}
		f.issued++
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "accessToken": f.current(), "expiresIn": 3600})
		return
	}
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != "Bearer "+f.current() {
		fail(http.StatusUnauthorized, "unauthorized", "the access token is invalid or expired")
		return
	}
	switch r.URL.Path {
	case "/v1/workflows/deploy":
		io.WriteString(w, `{"ok": true, "workflow": {"identifier": "deploy", "version": 3, "big": 12345678901234567890}}`)
	case "/v1/workflows":
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("Content-Type") != "application/json" {
			fail(http.StatusBadRequest, "invalid_request", "the body is not JSON")
			return
		}
		fail(http.StatusUnprocessableEntity, "invalid_workflow", "the workflow is invalid",
			Detail{Path: "/nodes/0/config/type", Message: `unknown node type "NOPE"`})
	case "/v1/proxy":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	case "/v1/notjson":
		io.WriteString(w, "{not json")
	default:
		fail(http.StatusNotFound, "not_found", "workflow "+strings.TrimPrefix(r.URL.Path, "/v1/workflows/")+" not found")
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		in, base string
		ok       bool
	}{
		{"http://127.0.0.1:7070", "http://127.0.0.1:7070", true},
		{"https://sluice.example.com/", "https://sluice.example.com", true},
		{"127.0.0.1:7070", "", false},
		{"ftp://host", "", false},
		{"http://", "", false},
		{"", "", false},
		{"http://[::1", "", false},
	} {
		c, err := New(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q): error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "http or https URL") {
				t.Errorf("New(%q): error %q does not say what is wanted", tc.in, err)
			}
			continue
		}
		if c.Base != tc.base {
			t.Errorf("New(%q).Base = %q, want %q", tc.in, c.Base, tc.base)
		}
	}
}

// TestDo checks answers and errors, each worded as the user should read
// it: the API's message with its status, a 401 saying to log in again, a
// 404 as the server words it, a proxy's page by its status only, and a
// server that cannot be reached, named.
func TestDo(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantErr    []string // substrings of the error; nil: no error
	}{
		{"ok", http.MethodGet, "/v1/workflows/deploy", nil, 0, nil},
		{"404", http.MethodGet, "/v1/workflows/missing", nil, http.StatusNotFound, []string{"workflow missing not found", "(404 not_found)"}},
		{"422 with details", http.MethodPost, "/v1/workflows", map[string]any{"identifier": "x"}, http.StatusUnprocessableEntity, []string{"the workflow is invalid", "422 invalid_workflow"}},
		{"proxy page", http.MethodGet, "/v1/proxy", nil, http.StatusBadGateway, []string{"GET /v1/proxy: Bad Gateway (502 )"}},
		{"undecodable answer", http.MethodGet, "/v1/notjson", nil, 0, []string{"GET /v1/notjson: decode the answer"}},
		{"unencodable body", http.MethodPost, "/v1/workflows", map[string]any{"f": func() {}}, 0, []string{"POST /v1/workflows: encode the body"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(f.URL)
			if err != nil {
				t.Fatal(err)
			}
			c.ClientID, c.ClientSecret = "id", "s3cret"
			var out map[string]any
			err = c.Do(t.Context(), tc.method, tc.path, tc.body, &out)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				wf, _ := out["workflow"].(map[string]any)
				if wf["identifier"] != "deploy" || wf["big"] != json.Number("12345678901234567890") {
					t.Errorf("answer = %v, want the workflow with its big number kept exactly", out)
				}
				return
			}
			if err == nil {
				t.Fatal("Do succeeded")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := StatusOf(err); got != tc.wantStatus {
				t.Errorf("StatusOf = %d, want %d", got, tc.wantStatus)
			}
			if strings.Contains(err.Error(), "<html") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows a page or the secret: %q", err)
			}
			var ae *APIError
			if tc.name == "422 with details" && (!errors.As(err, &ae) || len(ae.Details) != 1 || ae.Details[0].Path != "/nodes/0/config/type") {
				t.Errorf("details = %+v, want the JSON path of the problem", ae)
			}
		})
	}
}

// TestUnauthorized checks the 401s: wrong credentials are refused as the
// server words them with a hint to log in again; an expired token is
// exchanged for a new one once and the request sent again; a bare token
// that is refused is not retried.
func TestUnauthorized(t *testing.T) {
	f := newFake(t)

	c, _ := New(f.URL)
	c.ClientID, c.ClientSecret = "id", "wrong"
	err := c.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil)
	if StatusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "the client id or secret is wrong") ||
		!strings.Contains(err.Error(), "log in again: sluice login") || strings.Contains(err.Error(), "wrong\"") {
		t.Errorf("wrong secret: %v", err)
	}

	var kept []string
	c, _ = New(f.URL)
	c.ClientID, c.ClientSecret = "id", "s3cret"
	c.OnToken = func(tok string, exp time.Time) {
		kept = append(kept, tok)
		if time.Until(exp) < 59*time.Minute {
			t.Errorf("token expiry %v, want about an hour from now", exp)
		}
	}
	if err := c.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil); err != nil {
		t.Fatal(err)
	}
	// The server issues a newer token elsewhere: ours is now refused, and
	// the client exchanges again, once.
	if _, _, err := c.Exchange(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	if len(kept) != 2 || kept[1] != "tok-3" {
		t.Errorf("OnToken got %v, want the first token and tok-3", kept)
	}

	bare, _ := New(f.URL)
	bare.Token = "tok-stale"
	before := f.exchanges
	err = bare.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil)
	if StatusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "the access token is invalid or expired (log in again: sluice login) (401 unauthorized)") {
		t.Errorf("stale bare token: %v", err)
	}
	if f.exchanges != before {
		t.Error("a bare token was followed by an exchange without credentials")
	}

	none, _ := New(f.URL)
	if err := none.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil); err == nil || !strings.Contains(err.Error(), "sluice login") {
		t.Errorf("no credentials: %v", err)
	}

	nt, _ := New(f.URL)
	nt.ClientID, nt.ClientSecret = "id", "s3cret"
	nt.Base += "/v1/auth/access_token?notoken=1#"
	if _, _, err := nt.Exchange(t.Context()); err == nil || !strings.Contains(err.Error(), "no accessToken") {
		t.Errorf("an answer without a token: %v", err)
	}
}

// TestNetworkError checks that a server that cannot be reached is named,
// with the cause, and is no APIError; and that a cancelled context is
// reported as such.
func TestNetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, _ := New("http://" + addr)
	c.Token = "tok"
	err = c.Do(t.Context(), http.MethodGet, "/v1/workflows", nil, nil)
	var ne *NetworkError
	if !errors.As(err, &ne) || StatusOf(err) != 0 {
		t.Fatalf("error %v (%T), want a *NetworkError", err, err)
	}
	if want := "cannot reach the sluice server at http://" + addr + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q, want it to start with %q and say the connection was refused", err, want)
	}
	if strings.Contains(err.Error(), "tok") {
		t.Errorf("the token is in the error: %q", err)
	}

	// A server that hangs: the caller's context ends the request.
	hang := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer hs.Close()
	defer close(hang)
	c2, _ := New(hs.URL)
	c2.Token = "tok"
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the request is in flight (any time is correct).
		cancel()
	}()
	if err := c2.Do(ctx, http.MethodGet, "/v1/workflows", nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}
}
