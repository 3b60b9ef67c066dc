package credscan

import "strings"

// The scanner's tests build every credential-shaped string at run time from
// pieces, so that no complete fake token sits in the repository for a
// scanner (ours or a push protection) to trip on.

// ghToken builds a well-formed GitHub token with a valid checksum.
func ghToken(prefix string) string {
	random := strings.Repeat("aB3dE5gH7j", 3)
	return prefix + "_" + random + GitHubChecksum(random)
}

// jwtOf builds a JWT-shaped string from a header JSON.
func jwtOf(headerB64 string) string {
	return headerB64 + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + strings.Repeat("SflKxwRJSMeKKF2QT4fwpM", 2)
}

func join(parts ...string) string { return strings.Join(parts, "") }
