package telemetry_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/telemetry"
)

// FuzzEndpointURL checks that EndpointURL never panics, that every refusal
// names the flag, and that what it accepts is an http(s) URL with a host
// and a path and without credentials or a query.
func FuzzEndpointURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4318", "https://h/v1/traces", "h:4318", "http://u:p@h", "http://h?x=1", "", "http://[::1]:4318/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := telemetry.EndpointURL(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--otlp-endpoint: ") {
				t.Fatalf("%q: error %q does not name the flag", in, err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q accepted as %q, which does not parse: %v", in, got, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path == "" || u.User != nil || u.RawQuery != "" {
			t.Fatalf("%q accepted as %q", in, got)
		}
	})
}
