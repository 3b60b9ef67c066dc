package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzProviderAnswer checks that no provider answer (an error body, its
// rate-limit headers) makes the parsing panic, that the message quoted in
// errors stays bounded, and that the wait asked for is never negative.
func FuzzProviderAnswer(f *testing.F) {
	f.Add([]byte(`{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}`), "1", "0", "1700000000")
	f.Add([]byte(`{"message": {"ref": ["is missing"]}}`), "Wed, 21 Oct 2015 07:28:00 GMT", "", "")
	f.Add([]byte(`{"error": "insufficient_scope"}`), "-3", "0", "x")
	f.Add([]byte("<html>502</html>"), "", "", "")
	f.Fuzz(func(t *testing.T, body []byte, retryAfter, remaining, reset string) {
		msg := providerMessage(body)
		if utf8.ValidString(string(body)) && utf8.RuneCountInString(msg) > 501 {
			t.Fatalf("message of %d runes", utf8.RuneCountInString(msg))
		}
		h := http.Header{}
		for k, v := range map[string]string{"Retry-After": retryAfter, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset} {
			if v != "" && !strings.ContainsAny(v, "\r\n") {
				h.Set(k, v)
			}
		}
		now := time.Unix(1_700_000_000, 0)
		c := &caller{now: func() time.Time { return now }, retryMin: time.Second}
		for _, status := range []int{403, 429, 503} {
			r := &response{status: status, header: h, body: body}
			_ = retryable(r)
			if d := c.retryAfter(r, 3); d < 0 {
				t.Fatalf("retryAfter = %v", d)
			}
		}
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := &caller{now: func() time.Time { return now }, retryMin: time.Second}
	tests := []struct {
		name   string
		status int
		header http.Header
		want   time.Duration
		retry  bool
	}{
		{"Retry-After seconds", 429, http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{"Retry-After date", 503, http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"GitHub primary rate limit", 403, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1700000042"}}, 42 * time.Second, true},
		{"GitLab RateLimit-Reset", 429, http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1700000005"}}, 5 * time.Second, true},
		{"server error backs off", 502, http.Header{}, 8 * time.Second, true},
		{"forbidden is final", 403, http.Header{"X-Ratelimit-Remaining": {"12"}}, 8 * time.Second, false},
		{"not found is final", 404, http.Header{}, 8 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &response{status: tc.status, header: tc.header}
			if got := retryable(r); got != tc.retry {
				t.Fatalf("retryable = %v, want %v", got, tc.retry)
			}
			if got := c.retryAfter(r, 3); got != tc.want {
				t.Errorf("retryAfter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateInstallation(t *testing.T) {
	tests := []struct {
		name  string
		id    string
		prov  string
		base  string
		token string
		field string // "" for valid
	}{
		{"github", "gh", "github-ocean", "https://ghe.example.com/api/v3", "GH_TOKEN", ""},
		{"external without token", "agents", "ai-agents", "", "", ""},
		{"empty id", "", "gitlab", "", "", "id:"},
		{"id with a space", "my gh", "gitlab", "", "", "id:"},
		{"no provider", "gl", "", "", "", "provider:"},
		{"relative base", "gl", "gitlab", "gitlab.example.com", "", "baseUrl:"},
		{"credentials in base", "gl", "gitlab", "https://user:pw@gitlab.example.com", "", "baseUrl:"},
		{"query in base", "gl", "gitlab", "https://gitlab.example.com/?private_token=x", "", "baseUrl:"},
		{"token secret name", "gl", "gitlab", "", "not a name!", "tokenSecret:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateInstallation(storeInstallation(tc.id, tc.prov, tc.base, tc.token))
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field)):
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}
