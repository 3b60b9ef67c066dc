package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// Defaults and bounds of the node's config.
const (
	// DefaultTimeout is used when config.timeoutSeconds is absent.
	DefaultTimeout = 30 * time.Second
	// MaxTimeout bounds config.timeoutSeconds.
	MaxTimeout = 24 * time.Hour
)

// Values of config.onTimeout.
const (
	OnTimeoutFail     = "fail"
	OnTimeoutContinue = "continue"
)

// Headers that sluice sets itself. A config that sets one of them is rejected:
// a receiver must be able to trust them.
const (
	HeaderWorkflowRun = "X-Sluice-Workflow-Run"
	HeaderNodeRun     = "X-Sluice-Node-Run"
	HeaderTimestamp   = "X-Sluice-Timestamp"
	HeaderSignature   = "X-Sluice-Signature"
)

// methods are the accepted values of config.method.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// config is a WEBHOOK node's rendered config, decoded and checked.
type config struct {
	url          *url.URL
	method       string
	header       http.Header // canonical names; Host is kept in host instead
	host         string      // the Host header when the config sets one
	body         []byte      // nil: no body
	synchronized bool
	onTimeout    string
	timeout      time.Duration
}

// decodeConfig decodes the rendered config strictly. Its errors name the JSON
// path of the offending field and the type found, never the value: a rendered
// value may hold a secret.
func decodeConfig(m map[string]any) (*config, error) {
	c := &config{
		method:       http.MethodPost,
		synchronized: true,
		onTimeout:    OnTimeoutFail,
		timeout:      DefaultTimeout,
		header:       http.Header{},
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "type", "onFailure":
			// The engine checks and applies these.
		case "agent", "verbose":
			// Port's fields, which the parser checks: agent is said there
			// (sluice has no Port Execution Agent; the request is sent from
			// here all the same) and verbose becomes the node's Verbose.
		case "url", "method", "headers", "body", "synchronized", "onTimeout", "timeoutSeconds":
		default:
			return nil, fmt.Errorf("config.%s: unknown field", k)
		}
	}

	raw, ok := m["url"]
	if !ok || raw == nil {
		return nil, fmt.Errorf("config.url: required")
	}
	s, err := asString("config.url", raw)
	if err != nil {
		return nil, err
	}
	if c.url, err = parseURL(s); err != nil {
		return nil, fmt.Errorf("config.url: %w", err)
	}

	if raw, ok := m["method"]; ok && raw != nil {
		s, err := asString("config.method", raw)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(methods, s) {
			return nil, fmt.Errorf("config.method: must be one of %s", strings.Join(methods, ", "))
		}
		c.method = s
	}

	if raw, ok := m["headers"]; ok && raw != nil {
		if err := c.decodeHeaders(raw); err != nil {
			return nil, err
		}
	}

	if raw, ok := m["body"]; ok && raw != nil {
		if c.body, err = encodeBody(raw, c.header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}

	if raw, ok := m["synchronized"]; ok && raw != nil {
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("config.synchronized: must be a boolean, got %s", jsontext.TypeName(raw))
		}
		c.synchronized = b
	}

	if raw, ok := m["onTimeout"]; ok && raw != nil {
		s, err := asString("config.onTimeout", raw)
		if err != nil {
			return nil, err
		}
		if s != OnTimeoutFail && s != OnTimeoutContinue {
			return nil, fmt.Errorf("config.onTimeout: must be %q or %q", OnTimeoutFail, OnTimeoutContinue)
		}
		c.onTimeout = s
	}

	if raw, ok := m["timeoutSeconds"]; ok && raw != nil {
		f, err := asNumber("config.timeoutSeconds", raw)
		if err != nil {
			return nil, err
		}
		if !(f > 0) || f > MaxTimeout.Seconds() {
			return nil, fmt.Errorf("config.timeoutSeconds: must be greater than 0 and at most %d", int(MaxTimeout.Seconds()))
		}
		c.timeout = time.Duration(f * float64(time.Second))
		if c.timeout <= 0 {
			return nil, fmt.Errorf("config.timeoutSeconds: must be at least 1ns")
		}
	}
	return c, nil
}

// parseURL parses an absolute http or https URL. Its errors never quote the
// URL or the error of url.Parse, which does.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("is not a valid URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, fmt.Errorf("must be an absolute http or https URL")
	default:
		return nil, fmt.Errorf("scheme must be http or https")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("has no host")
	}
	return u, nil
}

// decodeHeaders checks config.headers and fills c.header.
func (c *config) decodeHeaders(raw any) error {
	hm, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("config.headers: must be an object, got %s", jsontext.TypeName(raw))
	}
	seen := make(map[string]string, len(hm))
	for _, name := range sortedKeys(hm) {
		path := "config.headers." + name
		v, ok := hm[name].(string)
		if !ok {
			return fmt.Errorf("%s: must be a string, got %s", path, jsontext.TypeName(hm[name]))
		}
		if !validHeaderName(name) {
			return fmt.Errorf("%s: is not a valid header name", path)
		}
		if !validHeaderValue(v) {
			return fmt.Errorf("%s: must not contain control characters such as line breaks", path)
		}
		canon := http.CanonicalHeaderKey(name)
		if prev, dup := seen[canon]; dup {
			return fmt.Errorf("%s: repeats the header config.headers.%s (names are case-insensitive)", path, prev)
		}
		seen[canon] = name
		switch canon {
		case HeaderWorkflowRun, HeaderNodeRun, HeaderTimestamp, HeaderSignature:
			return fmt.Errorf("%s: is set by sluice and cannot be set in the config", path)
		case "Content-Length", "Transfer-Encoding", "Connection":
			return fmt.Errorf("%s: is managed by the HTTP client and cannot be set", path)
		case "Host":
			c.host = v
			continue
		}
		c.header.Set(canon, v)
	}
	return nil
}

// encodeBody encodes config.body. It is JSON unless the content type is not a
// JSON type and the body is a string, which is then sent as it is (a form or
// plain text, say).
func encodeBody(v any, contentType string) ([]byte, error) {
	if s, ok := v.(string); ok && contentType != "" && !isJSONType(contentType) {
		return []byte(s), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// The encoder's message may quote a value (an invalid json.Number,
		// say): leave it out.
		return nil, fmt.Errorf("config.body: cannot be encoded as JSON")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// isJSONType reports whether a Content-Type value is JSON
// (application/json, or any type with a +json suffix).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// asString returns v as a string or an error naming path and v's type.
func asString(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: must be a string, got %s", path, jsontext.TypeName(v))
	}
	return s, nil
}

// asNumber returns v as a float64 or an error naming path and v's type.
func asNumber(path string, v any) (float64, error) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return 0, fmt.Errorf("%s: is not a valid number", path)
		}
	case float64:
		f = n
	case float32:
		f = float64(n)
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, fmt.Errorf("%s: must be a number, got %s", path, jsontext.TypeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s: is not a finite number", path)
	}
	return f, nil
}

// sortedKeys returns m's keys in order, so that the first error reported
// does not depend on map iteration.
func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s may be sent as a header value: no
// control characters other than horizontal tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
