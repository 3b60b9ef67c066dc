package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// benchServer answers every POST with a small JSON body, as a typical
// webhook receiver would.
func benchServer(b *testing.B) string {
	b.Helper()
	return newServer(b, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"id":12345,"status":"queued"}`)
	}).URL
}

// BenchmarkExecute measures one WEBHOOK node: decoding its config, encoding a
// small JSON body, the POST to a loopback server and decoding the answer into
// the output. Compare with BenchmarkRawNetHTTP.
func BenchmarkExecute(b *testing.B) {
	url := benchServer(b)
	e := New(Options{})
	l := &logs{}
	b.ReportAllocs()
	for b.Loop() {
		l.lines = l.lines[:0]
		cfg := map[string]any{
			"url":  url,
			"body": map[string]any{"message": "deployed", "service": "api", "count": json.Number("3")},
		}
		if _, err := e.Execute(b.Context(), newRequest(cfg, false, l)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawNetHTTP is the baseline: the same POST with a plain
// http.Client, reading the answer with io.ReadAll.
func BenchmarkRawNetHTTP(b *testing.B) {
	url := benchServer(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(`{"count":3,"message":"deployed","service":"api"}`)
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
