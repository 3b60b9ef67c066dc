package credscan

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	alg := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	notJSON := base64.RawURLEncoding.EncodeToString([]byte(`{alg: HS256 but not json`))
	noAlg := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT"}`))
	pemBody := strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 3)
	tests := []struct {
		name string
		text string
		want Kind // "" for none
	}{
		{"ghp token", "Bearer " + ghToken("ghp"), KindGitHubToken},
		{"gho token", ghToken("gho"), KindGitHubToken},
		{"ghs token inside text", "token=" + ghToken("ghs") + "&x=1", KindGitHubToken},
		{"ghp 39 chars", "ghp_" + strings.Repeat("a", 35), ""},
		{"ghp bad checksum", "ghp_" + strings.Repeat("aB3dE5gH7j", 3) + "000000", ""},
		{"github_pat", join("github", "_pat_", strings.Repeat("A1b2C", 4), "xy_", strings.Repeat("q9W8e", 12)), KindGitHubPAT},
		{"github_pat short", join("github", "_pat_", "abc"), ""},
		{"gitlab", join("glpat", "-", strings.Repeat("x7Y", 7)), KindGitLabToken},
		{"gitlab short", join("glpat", "-", "short"), ""},
		{"slack bot token", join("xo", "xb-", "123456789012-1234567890123-", strings.Repeat("AbCd", 6)), KindSlackToken},
		{"slack near miss", join("xo", "xb-", "test-token"), ""},
		{"slack webhook", join("https://hooks.", "slack.com/services/", "T01ABCDEF2/B01ABCDEF3/", strings.Repeat("aB3d", 6)), KindSlackWebhook},
		{"slack webhook docs path", "https://hooks.slack.com/services/", ""},
		{"aws key id", join("id AK", "IA", "IOSFODNN7EXAMPLE"), KindAWSAccessKeyID},
		{"aws sts key id", join("AS", "IA", "IOSFODNN7EXAMPLE"), KindAWSAccessKeyID},
		{"aws too long", join("AK", "IA", "IOSFODNN7EXAMPLEXYZ"), ""},
		{"aws lower case", join("AK", "IA", "iosfodnn7example"), ""},
		{"google api key", join("AI", "za", "Sy", strings.Repeat("D-9t_Zq", 4), "abcd1"), KindGoogleAPIKey},
		{"google too short", join("AI", "za", "Sy", "abc"), ""},
		{"stripe live", join("sk", "_live_", strings.Repeat("4eC39HqLyjWDarjtT1zdp7dc", 1)), KindStripeLiveKey},
		{"stripe restricted live", join("rk", "_live_", strings.Repeat("51H", 9)), KindStripeLiveKey},
		{"stripe test key", join("sk", "_test_", strings.Repeat("4eC39HqLyjWDarjtT1zdp7dc", 1)), ""},
		{"private key", join("-----BEGIN RSA ", "PRIVATE KEY-----\n", pemBody, "\n-----END RSA PRIVATE KEY-----"), KindPrivateKey},
		{"pkcs8 private key", join("-----BEGIN ", "PRIVATE KEY-----\n", pemBody), KindPrivateKey},
		{"public key", join("-----BEGIN ", "PUBLIC KEY-----\n", pemBody), ""},
		{"private key header only", join("paste your -----BEGIN ", "PRIVATE KEY----- here"), ""},
		{"jwt", "Bearer " + jwtOf(alg), KindJWT},
		{"jwt-looking, header not JSON", jwtOf(notJSON), ""},
		{"jwt-looking, no alg", jwtOf(noAlg), ""},
		{"url password", "https://deploy:hunter2hunter2@example.com/api", KindURLPassword},
		{"postgres url password", "postgres://app:s3cr3t@db:5432/app", KindURLPassword},
		{"url without userinfo", "https://example.com/api?x=1#y@z", ""},
		{"url with user only", "ssh://git@github.com/org/repo.git", ""},
		{"url placeholder password", "https://user:****@example.com", ""},
		{"url variable password", "https://user:${PASSWORD}@example.com", ""},
		{"email", "mail ops@example.com: user:pass", ""},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", ""},
		{"git sha", "da39a3ee5e6b4b0d3255bfef95601890afd80709", ""},
		{"base64 image", "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x89PNG\r\n\x1a\n IHDR some pixels ", 40))), ""},
		{"plain text", "Deploy the service to production", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Formats(tt.text)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("Formats = %v, want none", got)
			case tt.want != "" && !slices.Contains(got, tt.want):
				t.Errorf("Formats = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestGitHubChecksum(t *testing.T) {
	// The checksum is 6 base62 characters that decode back to the CRC32.
	c := GitHubChecksum("abc")
	if len(c) != 6 {
		t.Fatalf("GitHubChecksum length = %d, want 6", len(c))
	}
	if !matchGitHub(ghToken("ghp"), 0, "ghp_") {
		t.Fatal("a token built with GitHubChecksum does not verify")
	}
}
