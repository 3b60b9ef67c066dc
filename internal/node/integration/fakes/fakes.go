// Package fakes holds loopback fakes of the provider APIs the
// INTEGRATION_ACTION executor calls, for tests only: GitHub and GitLab
// cannot be reached from the machines sluice is tested on. Each fake speaks
// the documented REST contract of the endpoints sluice uses (paths, auth
// headers, status codes, bodies), written from the providers' public API
// documentation, and records what it was sent. They are fakes, not the
// providers: only what sluice uses is there.
package fakes

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Failure is a canned answer a fake gives once, instead of the real one, to
// the next request whose method matches and whose path contains Path.
type Failure struct {
	Method string
	Path   string
	Status int
	Header http.Header
	Body   string
}

// failures is a queue of canned answers.
type failures struct {
	mu sync.Mutex
	q  []Failure
}

// Add queues f.
func (fs *failures) Add(f Failure) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.q = append(fs.q, f)
}

// take answers r with the first matching failure, if any.
func (fs *failures) take(w http.ResponseWriter, r *http.Request) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.q {
		if f.Method == r.Method && strings.Contains(r.URL.Path, f.Path) {
			fs.q = append(fs.q[:i], fs.q[i+1:]...)
			for k, vs := range f.Header {
				w.Header()[k] = vs
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
