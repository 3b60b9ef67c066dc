package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Sentinel errors, matched with errors.Is on what Execute returns.
var (
	// ErrTimeout: no complete answer within config.timeoutSeconds (and
	// config.onTimeout is "fail").
	ErrTimeout = errors.New("webhook timed out")
	// ErrResponseTooLarge: the answer's body is over Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("webhook response is too large")
	// ErrConnectionRefused: nothing listens at the URL's host and port.
	ErrConnectionRefused = errors.New("connection refused")
	// ErrDNSLookup: the URL's host name could not be resolved.
	ErrDNSLookup = errors.New("DNS lookup failed")
	// ErrTLSHandshake: the TLS handshake failed (certificate not trusted,
	// not valid for the host, expired, or the server does not speak TLS).
	ErrTLSHandshake = errors.New("TLS handshake failed")
	// ErrTooManyRedirects: the webhook redirected more than 10 times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrCrossOriginRedirect: the webhook redirected to another origin
	// (scheme, host or port), which is not followed. Its text is the whole
	// message of the node's error and quotes no URL.
	ErrCrossOriginRedirect = errors.New("webhook redirected to another origin; not followed, since headers and body may hold secrets")
)

// maxRedirects is how many redirects a request follows.
const maxRedirects = 10

// StatusError is returned when the webhook answers with a status outside
// 2xx. Its message holds the status code and its standard text only: the
// reason phrase the server sent is left out, since it is remote text.
type StatusError struct {
	// StatusCode is the HTTP status the webhook answered.
	StatusCode int
}

// Error returns "webhook answered 502 Bad Gateway".
func (e *StatusError) Error() string {
	if t := http.StatusText(e.StatusCode); t != "" {
		return fmt.Sprintf("webhook answered %d %s", e.StatusCode, t)
	}
	return fmt.Sprintf("webhook answered %d", e.StatusCode)
}

// tooLargeError is ErrResponseTooLarge with the limit in its message.
type tooLargeError struct{ limit int64 }

// Error returns "webhook response is larger than 10 MiB".
func (e *tooLargeError) Error() string {
	return "webhook response is larger than " + formatSize(e.limit)
}

// Unwrap returns ErrResponseTooLarge.
func (e *tooLargeError) Unwrap() error { return ErrResponseTooLarge }

// RequestError is returned when a request could not be sent or its answer
// could not be read. Its message never quotes the URL, nor any part of it
// (host, port, path, userinfo, query) nor a redirect's Location: those may
// hold secrets. It says what failed instead, as in
// "POST request failed: dial tcp: connection refused".
//
// RequestError deliberately does not unwrap to the error net/http returned,
// whose text quotes the URL. It unwraps to one of the sentinel errors above,
// when one applies, and to the syscall.Errno behind the failure, if any, so
// errors.Is(err, ErrConnectionRefused) and errors.Is(err,
// syscall.ECONNRESET) work.
type RequestError struct {
	// Method is the request's method.
	Method string
	// Op is what failed: "request failed" or "response could not be read".
	Op string
	// Reason says why, without any address.
	Reason string

	causes []error
}

// Error returns the method, what failed and why.
func (e *RequestError) Error() string {
	return e.Method + " " + e.Op + ": " + e.Reason
}

// Unwrap returns the sentinel error and the errno behind e, if any.
func (e *RequestError) Unwrap() []error { return e.causes }

// newRequestError classifies err, an error of net/http, into a RequestError.
func newRequestError(method, op string, err error) *RequestError {
	reason, causes := classify(err)
	return &RequestError{Method: method, Op: op, Reason: reason, causes: causes}
}

// classify turns an error of net/http into a message that holds no address,
// and the errors the RequestError should unwrap to. It never returns text
// from err itself, except for strings known to be constant (errno texts, TLS
// alert names).
func classify(err error) (string, []error) {
	var causes []error
	var errno syscall.Errno
	if errors.As(err, &errno) {
		causes = append(causes, errno)
	}

	if errors.Is(err, ErrTooManyRedirects) || containsAny(err, "stopped after") {
		return fmt.Sprintf("stopped after %d redirects", maxRedirects), append(causes, ErrTooManyRedirects)
	}

	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsNotFound:
			return "DNS lookup failed: no such host", append(causes, ErrDNSLookup)
		case dnsErr.IsTimeout:
			return "DNS lookup failed: timed out", append(causes, ErrDNSLookup)
		default:
			return "DNS lookup failed", append(causes, ErrDNSLookup)
		}
	}

	if reason, ok := classifyTLS(err); ok {
		return "TLS handshake failed: " + reason, append(causes, ErrTLSHandshake)
	}

	// The operation and network of a *net.OpError ("dial tcp", "read tcp")
	// are constants; its Source and Addr fields are not used.
	prefix := ""
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		prefix = strings.TrimSpace(opErr.Op+" "+opErr.Net) + ": "
	}

	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return prefix + "connection refused", append(causes, ErrConnectionRefused)
	case errno != 0:
		return prefix + errno.Error(), causes
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return prefix + "connection closed by the server", causes
	case containsAny(err, "unsupported protocol scheme"):
		return "redirected to a URL whose scheme is not http or https", causes
	case containsAny(err, "server gave HTTP response to HTTPS client"):
		return "the server answered plain HTTP to an https URL", causes
	case containsAny(err, "malformed HTTP", "malformed MIME"):
		return "malformed HTTP response", causes
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return prefix + "i/o timeout", causes
	}
	if prefix != "" {
		return prefix + "network error", causes
	}
	return "unexpected error", causes
}

// classifyTLS describes a TLS failure without the host name, which
// x509.HostnameError and others quote.
func classifyTLS(err error) (string, bool) {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var alertErr tls.AlertError
	switch {
	case errors.As(err, &hostErr):
		return "x509: certificate is not valid for the host name", true
	case errors.As(err, &authErr):
		return "x509: certificate signed by unknown authority", true
	case errors.As(err, &invalidErr):
		if invalidErr.Reason == x509.Expired {
			return "x509: certificate has expired or is not yet valid", true
		}
		return "x509: certificate is not valid", true
	case errors.As(err, &verifyErr):
		return "x509: certificate verification failed", true
	case errors.As(err, &recordErr):
		return "the server did not answer with TLS", true
	case errors.As(err, &alertErr):
		// The text is the fixed name of the alert: "tls: handshake failure".
		return "remote error: " + alertErr.Error(), true
	}
	return "", false
}

// containsAny reports whether the text of an error in err's chain, other than
// a *url.Error (whose text quotes the URL), holds one of subs. It is used for
// the few net/http errors that have no exported type.
func containsAny(err error, subs ...string) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, isURLErr := e.(*url.Error); isURLErr {
			continue
		}
		msg := e.Error()
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}

// formatSize writes a byte count the way the limits are usually set:
// "10 MiB", "64 KiB", "1000 bytes".
func formatSize(n int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
