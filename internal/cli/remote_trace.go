package cli

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sluice-run/sluice/internal/traceparent"
)

// traceParentEnv is the environment variable by which a CI job or a script
// hands its trace context to the processes it starts: OpenTelemetry's
// "Environment Variables as Context Propagation Carriers" maps the W3C
// traceparent header to TRACEPARENT.
const traceParentEnv = "TRACEPARENT"

// callerTrace returns the header runs start sends with the run's creation
// so that the run joins the caller's trace (decision 029): --traceparent
// when the flag is given (given empty: none, whatever the environment
// says), else $TRACEPARENT when set, else nil. The value must be one the
// server's parser (internal/traceparent) accepts: the server would ignore a
// malformed one silently, so it is refused here, naming the flag or the
// variable, before anything is sent.
func callerTrace(flagSet bool, flag string, getenv func(string) string) (http.Header, error) {
	v, where := flag, "--traceparent"
	if !flagSet {
		v, where = getenv(traceParentEnv), traceParentEnv+" (environment variable)"
	}
	if v == "" {
		return nil, nil
	}
	if err := checkTraceParent(v); err != nil {
		fix := "fix or unset it, or override it with --traceparent (--traceparent= sends none)"
		if flagSet {
			fix = "give a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, or --traceparent= to send none"
		}
		return nil, invalid("%s: not a W3C traceparent (%v): %s; %s", where, err, quoteShort(v), fix)
	}
	return http.Header{http.CanonicalHeaderKey(traceparent.Header): {v}}, nil
}

// checkTraceParent checks v as the server does, and that it can travel as
// an HTTP field value (a later version's extra fields are not otherwise
// checked by the parser).
func checkTraceParent(v string) error {
	if _, err := traceparent.Parse(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "traceparent: "))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("character %d is not printable ASCII", i+1)
		}
	}
	return nil
}

// quoteShort quotes v for an error, cut after 80 bytes.
func quoteShort(v string) string {
	if len(v) > 80 {
		return fmt.Sprintf("%q…", v[:80])
	}
	return fmt.Sprintf("%q", v)
}
