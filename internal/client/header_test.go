package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestDoHeader checks that DoHeader's fields reach the server on the
// request and on its retry after a 401, and that they cannot replace the
// client's own Authorization, Accept and Content-Type. The server is a
// loopback recorder (a fake): it issues tokens and refuses the first one.
func TestDoHeader(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []http.Header
		toks int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth/access_token" {
			toks++
			io.WriteString(w, `{"ok": true, "accessToken": "tok-`+string(rune('0'+toks))+`", "expiresIn": 60}`)
			return
		}
		seen = append(seen, r.Header.Clone())
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"ok": false, "error": "unauthorized", "message": "the access token is invalid or expired"}`)
			return
		}
		io.WriteString(w, `{"ok": true}`)
	}))
	defer srv.Close()
	// taken returns the requests seen so far and forgets them.
	taken := func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}

	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.ClientID, c.ClientSecret = "id", "s3cret"
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h := http.Header{
		"Traceparent":   {tp},
		"Authorization": {"Bearer mine"},
		"Accept":        {"text/html"},
		"Content-Type":  {"text/plain"},
	}
	if err := c.DoHeader(t.Context(), http.MethodPost, "/v1/workflows/deploy/runs", h, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := taken()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the request and its retry after the 401", len(reqs))
	}
	for i, got := range reqs {
		if v := got.Values("Traceparent"); len(v) != 1 || v[0] != tp {
			t.Errorf("request %d: traceparent %q, want [%q]", i, v, tp)
		}
		if v := got.Values("Authorization"); len(v) != 1 || v[0] != "Bearer tok-"+string(rune('1'+i)) {
			t.Errorf("request %d: Authorization %q, want the client's own token only", i, v)
		}
		if got.Get("Accept") != "application/json" || got.Get("Content-Type") != "application/json" || len(got.Values("Accept")) != 1 || len(got.Values("Content-Type")) != 1 {
			t.Errorf("request %d: Accept %q, Content-Type %q; want the client's JSON ones only", i, got.Values("Accept"), got.Values("Content-Type"))
		}
	}
	// Do sends no extra field.
	if err := c.Do(t.Context(), http.MethodGet, "/v1/workflows/deploy", nil, nil); err != nil {
		t.Fatal(err)
	}
	if reqs := taken(); len(reqs) != 1 || reqs[0].Get("Traceparent") != "" {
		t.Errorf("Do sent %v, want one request without a traceparent", reqs)
	}
}
