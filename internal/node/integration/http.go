package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
)

// maxBody bounds what is read of a provider's answer.
const maxBody = 1 << 20

// apiError is a provider's refusal that retrying does not cure (a 4xx other
// than 429 and rate limits). Its text quotes the provider's message; the
// engine redacts it like every error.
type apiError struct {
	provider string
	status   int
	method   string
	path     string // the path only: no query string, no userinfo
	message  string
}

func (e *apiError) Error() string {
	msg := e.message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("%s answered %d %s to %s %s: %s", e.provider, e.status, http.StatusText(e.status), e.method, e.path, msg)
}

// laterError says that the provider asked to be called again at a time past
// what the caller may wait in-process: a poll then waits durably instead.
type laterError struct {
	at    time.Time
	cause error
}

func (e *laterError) Error() string {
	return fmt.Sprintf("%v; trying again at %s", e.cause, e.at.UTC().Format(time.RFC3339))
}

func (e *laterError) Unwrap() error { return e.cause }

// response is a provider's answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode reads the answer's JSON body into v.
func (r *response) decode(provider, what string, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%s: %s: the answer is not the JSON expected: %w", provider, what, err)
	}
	return nil
}

// caller sends requests to one provider, retrying 5xx, 429 and rate limits
// with backoff, honouring Retry-After and the rate-limit reset headers, up
// to deadline. A wait longer than maxInline is returned as a *laterError
// instead of slept.
type caller struct {
	provider  string // "GitHub" | "GitLab", for messages
	hc        *http.Client
	now       func() time.Time
	deadline  time.Time
	maxInline time.Duration
	retryMin  time.Duration
}

// do sends one request; body, when not nil, is sent as JSON. path is what
// error messages name.
func (c *caller) do(ctx context.Context, method, url, path string, header http.Header, body any) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s: encode the request to %s: %w", c.provider, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", c.provider, method, path, err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("User-Agent", "sluice")
		node.SetTraceparent(ctx, req.Header)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The request may have reached the provider: only reads are
			// sent again, so that nothing is dispatched twice.
			if method != http.MethodGet {
				return nil, fmt.Errorf("%s: %s %s: %s", c.provider, method, path, transportError(err))
			}
			if err := c.wait(ctx, c.backoff(attempt), fmt.Errorf("%s: %s %s: %s", c.provider, method, path, transportError(err))); err != nil {
				return nil, err
			}
			continue
		}
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if rerr != nil && resp.StatusCode < 300 {
			return nil, fmt.Errorf("%s: %s %s: read the answer: %w", c.provider, method, path, rerr)
		}
		r := &response{status: resp.StatusCode, header: resp.Header, body: b}
		if r.status < 400 {
			return r, nil
		}
		aerr := &apiError{provider: c.provider, status: r.status, method: method, path: path, message: providerMessage(b)}
		if !retryable(r) {
			return nil, aerr
		}
		if err := c.wait(ctx, c.retryAfter(r, attempt), aerr); err != nil {
			return nil, err
		}
	}
}

// retryable: server errors, 429, and GitHub's rate limit answered as 403
// with no requests left.
func retryable(r *response) bool {
	switch {
	case r.status >= 500, r.status == http.StatusTooManyRequests:
		return true
	case r.status == http.StatusForbidden:
		return r.header.Get("X-RateLimit-Remaining") == "0" || r.header.Get("Retry-After") != ""
	}
	return false
}

// retryAfter is how long the provider asks to wait: Retry-After (seconds or
// an HTTP date), else GitHub's X-RateLimit-Reset or GitLab's
// RateLimit-Reset (Unix seconds) when no requests are left, else backoff.
func (c *caller) retryAfter(r *response, attempt int) time.Duration {
	now := c.now()
	if v := strings.TrimSpace(r.header.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	for _, h := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if v := r.header.Get(h); v != "" && (r.header.Get("X-RateLimit-Remaining") == "0" || r.header.Get("RateLimit-Remaining") == "0" || r.status == http.StatusTooManyRequests) {
			if s, err := strconv.ParseInt(v, 10, 64); err == nil {
				return max(time.Unix(s, 0).Sub(now), 0)
			}
		}
	}
	return c.backoff(attempt)
}

// backoff doubles from retryMin up to 64 times it.
func (c *caller) backoff(attempt int) time.Duration {
	return c.retryMin << min(attempt, 6)
}

// wait sleeps d before a retry, or gives up: with cause when the deadline
// would pass, with a *laterError when d is longer than maxInline.
func (c *caller) wait(ctx context.Context, d time.Duration, cause error) error {
	at := c.now().Add(d)
	if !c.deadline.IsZero() && at.After(c.deadline) {
		return fmt.Errorf("%w (gave up: the next try would be after the node's timeout)", cause)
	}
	if d > c.maxInline {
		return &laterError{at: at, cause: cause}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// providerMessage digs the message out of an error body: GitHub's
// {"message"}, GitLab's {"message"} (a string, an object or an array) or
// {"error"}, else the text itself, shortened.
func providerMessage(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for _, k := range []string{"message", "error_description", "error"} {
			switch v := m[k].(type) {
			case nil:
			case string:
				return shorten(v)
			default:
				j, _ := json.Marshal(v)
				return shorten(string(j))
			}
		}
	}
	return shorten(strings.TrimSpace(string(b)))
}

func shorten(s string) string {
	const n = 500
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// transportError is err without the URL net/http puts in it (a query
// string could carry a token).
func transportError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
