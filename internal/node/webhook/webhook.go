// Package webhook is the WEBHOOK node: it sends one HTTP request built from
// the node's rendered config and turns the answer into the node's output.
//
// # Config
//
//	url             required; an absolute http or https URL
//	method          GET | POST | PUT | PATCH | DELETE (default POST)
//	headers         object of string values; a Host header sets the request's host
//	body            any JSON; sent as application/json unless a Content-Type header
//	                says otherwise (a string body with a non-JSON Content-Type is
//	                sent as it is, for forms and plain text). Absent or null: no body.
//	synchronized    default true
//	onTimeout       "fail" (default) | "continue"
//	timeoutSeconds  default 30; fractions allowed; at most 86400
//	onFailure, type read by the engine, ignored here
//
// Any other field is an error. Errors name the JSON path and the type found
// ("config.url: must be a string, got number"), never the value, which may
// hold a secret.
//
// # Request
//
// Every request carries X-Sluice-Workflow-Run (the run's wfr_ id) and
// X-Sluice-Node-Run (the node run's wfnr_ id; receivers use it to complete
// asynchronous nodes and to drop duplicate deliveries), a User-Agent (unless
// the config sets one) and, when there is a body, a Content-Type.
//
// Redirects are followed, at most 10, but only within the origin (scheme,
// host and port) of the config's url: a redirect to another origin, an
// https to http downgrade included, fails the node with
// ErrCrossOriginRedirect and sends nothing there. net/http drops only
// Authorization and Cookie on a redirect to another domain, and keeps the
// body on a 307 or 308, so any other header set from a secret (X-Api-Key)
// and the body would otherwise go to a host the workflow never named. This
// holds whatever client Options.Client gives.
//
// # Signature, for receivers
//
// When the server has a signing key, requests also carry
//
//	X-Sluice-Timestamp: 1767225600                (unix seconds, decimal)
//	X-Sluice-Signature: v1=<hex(HMAC-SHA256(key, timestamp + "." + body))>
//
// where body is the raw body bytes as sent (empty for a request without a
// body). To verify: recompute the HMAC over the timestamp header's text, a
// dot and the raw body, compare it with the hex after "v1=" in constant time,
// and reject timestamps more than a few minutes from your clock (that bounds
// replays; the X-Sluice-Node-Run id drops duplicates). The header may hold
// several comma-separated v1= values during a key rotation; accept the request
// if one matches. Go receivers can call Verify.
//
// # Output
//
// When synchronized, a 2xx answer gives
//
//	{"response": {"status": 200, "headers": {"Content-Type": "application/json"}, "data": ...}}
//
// Header names are canonical (Content-Type) and repeated headers are joined
// with ", ". data is the body decoded as JSON when it is one valid JSON value,
// and otherwise the body as text ("" when empty). Numbers in the output,
// status included, are json.Number: a JSON number keeps its exact digits
// (large identifiers lose precision as float64), and json.Number is what the
// rest of sluice already decodes configs with.
//
// An answer outside 2xx fails the node with a *StatusError ("webhook answered
// 502 Bad Gateway"); with Node.Verbose the body is logged at DEBUG. A body
// over Options.MaxResponseBytes fails the node with ErrResponseTooLarge.
//
// When synchronized is false, a 2xx answer leaves the node pending
// (IN_PROGRESS) until it is completed through the API.
//
// A request that gets no complete answer within timeoutSeconds fails with
// ErrTimeout ("webhook timed out after 30s"), or, with onTimeout "continue",
// succeeds with the output {"timeout": true}. For an asynchronous node the
// same holds until the answer's status arrives (the request may not have
// been delivered); after a 2xx status, a body that is lost, late or too large
// is only logged as a warning, since an asynchronous node does not use it.
//
// # Errors and logs
//
// No error of this package quotes the URL or any part of it: host, port,
// path, userinfo and query may all hold secrets, and so may a redirect's
// Location. The errors of net/http quote the URL, and those of package net
// the host and address, so they are classified into fixed messages instead
// ("POST request failed: dial tcp: connection refused", "DNS lookup failed:
// no such host", "TLS handshake failed: x509: certificate signed by unknown
// authority", "stopped after 10 redirects"); see RequestError.
//
// Without Node.Verbose the node logs one INFO line without the URL ("POST
// answered 200 in 12ms"). With it, it also logs at DEBUG the request line and
// the request and response bodies; the engine redacts every log line.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

// DefaultMaxResponseBytes is the default of Options.MaxResponseBytes.
const DefaultMaxResponseBytes = 10 << 20

// maxLoggedBody is the largest body logged in verbose mode. A larger one is
// not logged at all rather than cut: a cut could split a secret, and the
// redactor cannot mask half a secret.
const maxLoggedBody = 64 << 10

// Options configure an Executor.
type Options struct {
	// Client sends the requests. It should be shared, so that connections
	// are reused. Nil gives a client with its own Transport: keep-alive, up
	// to 64 idle connections per host, dial and TLS handshake timeouts, and
	// at most 10 redirects. The per-request timeout is the node's
	// timeoutSeconds in both cases.
	//
	// The Executor sends with a shallow copy of Client whose CheckRedirect
	// first refuses a redirect to another origin (ErrCrossOriginRedirect)
	// and then applies Client.CheckRedirect, or, when that is nil, the limit
	// of 10 redirects (ErrTooManyRedirects). Client itself is not modified.
	Client *http.Client
	// MaxResponseBytes bounds the body read from an answer; a larger one
	// fails the node. Zero or less means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// SigningKey, when set, signs every request (see the package doc).
	SigningKey []byte
	// UserAgent is sent unless the config sets a User-Agent header;
	// "sluice/<version>". Empty means "sluice".
	UserAgent string
}

// Executor executes WEBHOOK nodes. It is safe for concurrent use.
type Executor struct {
	client    *http.Client
	maxBytes  int64
	key       []byte
	userAgent string
}

// New returns an Executor with opts.
func New(opts Options) *Executor {
	e := &Executor{
		client:    opts.Client,
		maxBytes:  opts.MaxResponseBytes,
		key:       bytes.Clone(opts.SigningKey),
		userAgent: opts.UserAgent,
	}
	if e.client == nil {
		e.client = DefaultClient()
	}
	c := *e.client
	c.CheckRedirect = sameOriginOnly(c.CheckRedirect)
	e.client = &c
	if e.maxBytes <= 0 {
		e.maxBytes = DefaultMaxResponseBytes
	}
	if e.userAgent == "" {
		e.userAgent = "sluice"
	}
	return e
}

// Register adds a WEBHOOK executor made with opts to r.
func Register(r *node.Registry, opts Options) {
	r.Register(workflow.TypeWebhook, New(opts))
}

// DefaultClient returns the client New uses when Options.Client is nil: a
// fresh Transport tuned for many requests to few hosts, and a redirect policy
// that refuses a redirect to another origin with ErrCrossOriginRedirect and
// stops after 10 redirects with ErrTooManyRedirects. It has no overall
// timeout; each request is bounded by its node's timeoutSeconds.
func DefaultClient() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: checkRedirect,
	}
}

// checkRedirect follows at most maxRedirects redirects, all within the
// origin of the first request.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if !sameOrigin(via[0].URL, req.URL) {
		return ErrCrossOriginRedirect
	}
	if len(via) >= maxRedirects {
		return ErrTooManyRedirects
	}
	return nil
}

// sameOriginOnly returns a redirect policy that refuses a redirect out of the
// origin of the first request with ErrCrossOriginRedirect, and otherwise
// applies next, or checkRedirect when next is nil.
func sameOriginOnly(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	if next == nil {
		return checkRedirect
	}
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(via[0].URL, req.URL) {
			return ErrCrossOriginRedirect
		}
		return next(req, via)
	}
}

// sameOrigin reports whether a redirect from a to b stays with the server
// the user named: the same scheme, host and port (a missing port standing for
// the scheme's default one), or the upgrade of that host from http on its
// default port to https on its default port, which many servers answer with.
func sameOrigin(a, b *url.URL) bool {
	if !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	if strings.EqualFold(a.Scheme, b.Scheme) {
		return effectivePort(a) == effectivePort(b)
	}
	return strings.EqualFold(a.Scheme, "http") && strings.EqualFold(b.Scheme, "https") &&
		effectivePort(a) == "80" && effectivePort(b) == "443"
}

// effectivePort returns u's port, or its scheme's default port when it has
// none.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// Execute sends the request that req's config describes. See the package doc
// for the config, the output and the errors.
func (e *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	c, err := decodeConfig(req.Config)
	if err != nil {
		return node.Result{}, err
	}
	verbose := req.Node != nil && req.Node.Verbose
	logf := func(level, format string, args ...any) {
		if req.Log != nil {
			req.Log(level, fmt.Sprintf(format, args...))
		}
	}

	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	hr, err := e.newRequest(rctx, req, c)
	if err != nil {
		return node.Result{}, err
	}
	if verbose {
		// The engine redacts log lines, so the URL may be logged here; its
		// password is masked all the same.
		logf(node.LevelDebug, "%s %s", c.method, c.url.Redacted())
		logBody(logf, "request", c.body)
	}

	start := time.Now()
	resp, err := e.client.Do(hr)
	if err != nil {
		if errors.Is(err, ErrCrossOriginRedirect) && ctx.Err() == nil {
			// Not a RequestError: the *url.Error around it quotes the URL.
			return node.Result{}, ErrCrossOriginRedirect
		}
		return e.failed(ctx, rctx, req, c, "request failed", err)
	}
	defer resp.Body.Close()
	body, readErr := e.readBody(resp)
	elapsed := time.Since(start)

	logf(node.LevelInfo, "%s answered %d in %s", c.method, resp.StatusCode, formatElapsed(elapsed))
	if verbose && readErr == nil {
		logBody(logf, "response", body)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return node.Result{}, &StatusError{StatusCode: resp.StatusCode}
	}
	if !c.synchronized {
		if readErr != nil {
			// The webhook accepted the request; only its answer's body
			// was lost, which an asynchronous node does not use.
			logf(node.LevelWarn, "%s", describeReadError(c.method, readErr))
		}
		return node.Result{Pending: true}, nil
	}
	if readErr != nil {
		if errors.Is(readErr, ErrResponseTooLarge) {
			return node.Result{}, readErr
		}
		return e.failed(ctx, rctx, req, c, "response could not be read", readErr)
	}
	return node.Result{Output: map[string]any{"response": map[string]any{
		"status":  json.Number(strconv.Itoa(resp.StatusCode)),
		"headers": responseHeaders(resp.Header),
		"data":    decodeData(body),
	}}}, nil
}

// newRequest builds the HTTP request of c.
func (e *Executor) newRequest(ctx context.Context, req *node.Request, c *config) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	hr, err := http.NewRequestWithContext(ctx, c.method, c.url.String(), body)
	if err != nil {
		// Unreachable after decodeConfig; net/http's error quotes the URL.
		return nil, fmt.Errorf("config.url: is not a valid URL")
	}
	hr.Header = c.header
	if c.host != "" {
		hr.Host = c.host
	}
	if hr.Header.Get("User-Agent") == "" {
		hr.Header.Set("User-Agent", e.userAgent)
	}
	if c.body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set(HeaderWorkflowRun, req.RunID)
	hr.Header.Set(HeaderNodeRun, req.NodeRunID)
	// W3C Trace Context, when tracing is on, unless the config sets its own.
	node.SetTraceparent(ctx, hr.Header)
	if len(e.key) > 0 {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		hr.Header.Set(HeaderTimestamp, ts)
		hr.Header.Set(HeaderSignature, Sign(e.key, ts, c.body))
	}
	return hr, nil
}

// failed turns an error of sending the request or reading its answer into
// the node's result: a cancellation, a timeout (which onTimeout may turn into
// success), or a RequestError.
func (e *Executor) failed(ctx, rctx context.Context, req *node.Request, c *config, op string, err error) (node.Result, error) {
	if ctx.Err() != nil {
		return node.Result{}, fmt.Errorf("%s request cancelled: %w", c.method, ctx.Err())
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		if c.onTimeout == OnTimeoutContinue {
			if req.Log != nil {
				req.Log(node.LevelWarn, fmt.Sprintf("%s timed out after %s; onTimeout is continue, so the node succeeds with {\"timeout\": true}", c.method, c.timeout))
			}
			return node.Result{Output: map[string]any{"timeout": true}}, nil
		}
		return node.Result{}, fmt.Errorf("%w after %s", ErrTimeout, c.timeout)
	}
	return node.Result{}, newRequestError(c.method, op, err)
}

// readBody reads at most e.maxBytes of the answer's body.
func (e *Executor) readBody(resp *http.Response) ([]byte, error) {
	tooLarge := &tooLargeError{limit: e.maxBytes}
	if resp.ContentLength > e.maxBytes {
		return nil, tooLarge
	}
	size := resp.ContentLength
	if size < 0 || size > 64<<10 {
		size = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, e.maxBytes+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > e.maxBytes {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}

// describeReadError is the text of an error of reading an answer's body.
func describeReadError(method string, err error) string {
	if errors.Is(err, ErrResponseTooLarge) {
		return err.Error()
	}
	return newRequestError(method, "response could not be read", err).Error()
}

// responseHeaders is the output's header map: canonical names to their
// values joined with ", ".
func responseHeaders(h http.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, vs := range h {
		m[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
	}
	return m
}

// decodeData decodes a body holding exactly one JSON value, numbers as
// json.Number, and returns any other body as text.
func decodeData(b []byte) any {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return string(b)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.InputOffset() != int64(len(trimmed)) {
		return string(b)
	}
	return v
}

// logBody logs a request or response body at DEBUG, or only its size when it
// is over maxLoggedBody.
//
// A body that is one valid JSON value is logged as canonicalJSON writes it,
// not as it came: the engine masks log lines as plain text, and the remote's
// JSON encoder may write a secret it echoes with escapes of its own ("\/",
// "\u00e4") that the masking cannot know in every combination. Decoded and
// re-encoded, the secret shows as it is or as encoding/json writes it, which
// the masking knows.
func logBody(logf func(level, format string, args ...any), what string, b []byte) {
	size := len(b)
	if size > 0 && size <= maxLoggedBody {
		if c, ok := canonicalJSON(b); ok {
			b = c
		}
	}
	switch {
	case size == 0:
		logf(node.LevelDebug, "%s body: empty", what)
	case size > maxLoggedBody || len(b) > maxLoggedBody:
		logf(node.LevelDebug, "%s body: %d bytes, not logged (over %s)", what, size, formatSize(maxLoggedBody))
	default:
		logf(node.LevelDebug, "%s body: %s", what, b)
	}
}

// canonicalJSON returns b, when it holds exactly one JSON value, decoded and
// written again by encoding/json: compact, without HTML escaping, numbers
// with their digits kept, object keys sorted. It reports false for any other
// b.
func canonicalJSON(b []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

// formatElapsed writes a duration for the INFO line: "12ms", "1.204s",
// "<1ms".
func formatElapsed(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}
