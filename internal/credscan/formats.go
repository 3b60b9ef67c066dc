package credscan

import (
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"strings"
)

// Kind names a kind of credential, as messages show it.
type Kind string

// The kinds of credential the scanner recognizes.
const (
	KindGitHubToken    Kind = "GitHub token"
	KindGitHubPAT      Kind = "GitHub fine-grained personal access token"
	KindGitLabToken    Kind = "GitLab personal access token"
	KindSlackToken     Kind = "Slack token"
	KindSlackWebhook   Kind = "Slack incoming-webhook URL"
	KindAWSAccessKeyID Kind = "AWS access key id"
	KindGoogleAPIKey   Kind = "Google API key"
	KindStripeLiveKey  Kind = "Stripe live key"
	KindPrivateKey     Kind = "private key"
	KindJWT            Kind = "JWT"
	KindURLPassword    Kind = "password in a URL"
	KindOrgSecret      Kind = "organization secret"
	base62Alphabet          = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	githubRandomLen         = 30 // the random part of a ghX_ token
	githubChecksumLen       = 6  // base62 CRC32 of the random part
	githubPATMinLen         = 82 // after github_pat_: 22 + "_" + 59
	gitlabMinLen            = 20
	slackMinLen             = 20
	awsKeyLen               = 16
	googleKeyLen            = 35
	stripeMinLen            = 24
	pemMinBody              = 40
	jwtMinSignature         = 16
)

// detector finds one kind of credential in a text.
type detector struct {
	kind Kind
	// prefixes are the anchors the detector starts from; each occurrence is
	// passed to match with its offset.
	prefixes []string
	match    func(s string, i int, prefix string) bool
}

// detectors are the well-known formats, each tuned for few false positives:
// exact lengths and alphabets, checksums where the format has one, and a
// structural check (JSON in a JWT header, a body after a PEM header).
var detectors = []detector{
	{KindGitHubToken, []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, matchGitHub},
	{KindGitHubPAT, []string{"github_pat_"}, func(s string, i int, p string) bool {
		return leftBoundary(s, i) && runLen(s, i+len(p), isWord) >= githubPATMinLen
	}},
	{KindGitLabToken, []string{"glpat-"}, func(s string, i int, p string) bool {
		return leftBoundary(s, i) && runLen(s, i+len(p), isTokenChar) >= gitlabMinLen
	}},
	{KindSlackToken, []string{"xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"}, matchSlackToken},
	{KindSlackWebhook, []string{"hooks.slack.com/services/"}, matchSlackWebhook},
	{KindAWSAccessKeyID, []string{"AKIA", "ASIA"}, func(s string, i int, p string) bool {
		j := i + len(p)
		return leftBoundary(s, i) && runLen(s, j, isBase32Upper) == awsKeyLen && !(j+awsKeyLen < len(s) && isAlnum(s[j+awsKeyLen]))
	}},
	{KindGoogleAPIKey, []string{"AIza"}, func(s string, i int, p string) bool {
		return leftBoundary(s, i) && runLen(s, i+len(p), isTokenChar) == googleKeyLen
	}},
	{KindStripeLiveKey, []string{"sk_live_", "rk_live_"}, func(s string, i int, p string) bool {
		return leftBoundary(s, i) && runLen(s, i+len(p), isAlnum) >= stripeMinLen
	}},
	{KindPrivateKey, []string{"-----BEGIN "}, matchPEM},
	{KindJWT, []string{"eyJ"}, matchJWT},
	{KindURLPassword, []string{"://"}, matchURLPassword},
}

// Formats returns the kinds of well-known credential found in s, each once,
// in the order of the detectors. It never returns the matched text.
//
// It walks s once: only at a byte that starts one of the detectors'
// prefixes does it compare that prefix and run the detector.
func Formats(s string) []Kind {
	var hit [len(kindOrder)]bool
	any := false
	for i := 0; i < len(s); i++ {
		for _, a := range anchorsByByte[s[i]] {
			if hit[a.d] || len(s)-i < len(a.prefix) || s[i:i+len(a.prefix)] != a.prefix {
				continue
			}
			if detectors[a.d].match(s, i, a.prefix) {
				hit[a.d], any = true, true
			}
		}
	}
	if !any {
		return nil
	}
	var out []Kind
	for d, h := range hit {
		if h {
			out = append(out, detectors[d].kind)
		}
	}
	return out
}

// kindOrder sizes the per-call table of Formats: one slot per detector.
var kindOrder = [11]struct{}{}

// prefixAnchor is one detector prefix, indexed by its first byte.
type prefixAnchor struct {
	prefix string
	d      int // index into detectors
}

// anchorsByByte maps a byte to the detector prefixes that start with it.
// It is computed once from detectors and never changed.
var anchorsByByte = func() [256][]prefixAnchor {
	if len(detectors) != len(kindOrder) {
		panic("credscan: kindOrder must have one slot per detector")
	}
	var t [256][]prefixAnchor
	for d, det := range detectors {
		for _, p := range det.prefixes {
			t[p[0]] = append(t[p[0]], prefixAnchor{prefix: p, d: d})
		}
	}
	return t
}()

// matchGitHub checks a ghX_ token: 30 base62 characters and, in the last
// 6, the CRC32 (IEEE) of those 30 in base62, left-padded with zeros, as
// GitHub's token format publishes it.
func matchGitHub(s string, i int, p string) bool {
	j := i + len(p)
	if runLen(s, j, isAlnum) < githubRandomLen+githubChecksumLen {
		return false
	}
	random := s[j : j+githubRandomLen]
	sum, ok := base62Decode(s[j+githubRandomLen : j+githubRandomLen+githubChecksumLen])
	return ok && sum == uint64(crc32.ChecksumIEEE([]byte(random)))
}

// GitHubChecksum returns the 6-character checksum GitHub appends to the 30
// random characters of a ghX_ token. Tests use it to build well-formed
// tokens at run time instead of keeping them in the source.
func GitHubChecksum(random string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(random)))
	var b [githubChecksumLen]byte
	for k := githubChecksumLen - 1; k >= 0; k-- {
		b[k] = base62Alphabet[n%62]
		n /= 62
	}
	return string(b[:])
}

// base62Decode decodes a short base62 number.
func base62Decode(s string) (uint64, bool) {
	var n uint64
	for k := 0; k < len(s); k++ {
		d := strings.IndexByte(base62Alphabet, s[k])
		if d < 0 {
			return 0, false
		}
		n = n*62 + uint64(d)
	}
	return n, true
}

// matchSlackToken checks xoxX- followed by dash-separated segments, at least
// three, with digits in the first: xoxb-<team>-<bot>-<secret>.
func matchSlackToken(s string, i int, p string) bool {
	if !leftBoundary(s, i) {
		return false
	}
	j := i + len(p)
	n := runLen(s, j, func(c byte) bool { return isAlnum(c) || c == '-' })
	if n < slackMinLen {
		return false
	}
	body := s[j : j+n]
	first, _, _ := strings.Cut(body, "-")
	return strings.Count(body, "-") >= 2 && first != "" && runLen(first, 0, isDigit) == len(first)
}

// matchSlackWebhook checks hooks.slack.com/services/T.../B.../secret.
func matchSlackWebhook(s string, i int, p string) bool {
	rest := s[i+len(p):]
	segs := strings.SplitN(rest, "/", 3)
	if len(segs) < 3 {
		return false
	}
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' || isDigit(c) }
	return len(segs[0]) >= 9 && segs[0][0] == 'T' && runLen(segs[0], 0, upper) == len(segs[0]) &&
		len(segs[1]) >= 9 && segs[1][0] == 'B' && runLen(segs[1], 0, upper) == len(segs[1]) &&
		runLen(segs[2], 0, isAlnum) >= 16
}

// matchPEM checks a "-----BEGIN ... PRIVATE KEY-----" header followed by a
// body of at least pemMinBody base64 characters.
func matchPEM(s string, i int, p string) bool {
	rest := s[i+len(p):]
	end := strings.Index(rest, "-----")
	if end < 0 || end > 40 {
		return false
	}
	label := rest[:end]
	if !strings.HasSuffix(label, "PRIVATE KEY") && !strings.HasSuffix(label, "PRIVATE KEY BLOCK") {
		return false
	}
	body := rest[end+5:]
	if k := strings.Index(body, "-----"); k >= 0 {
		body = body[:k]
	}
	n := 0
	for k := 0; k < len(body); k++ {
		if c := body[k]; isAlnum(c) || c == '+' || c == '/' || c == '=' {
			n++
		}
	}
	return n >= pemMinBody
}

// matchJWT checks three base64url segments whose first decodes to a JSON
// object with an "alg" member, and a signature of some length.
func matchJWT(s string, i int, _ string) bool {
	if i > 0 && isB64URL(s[i-1]) {
		return false
	}
	h := runLen(s, i, isB64URL)
	j := i + h
	if j >= len(s) || s[j] != '.' {
		return false
	}
	c := runLen(s, j+1, isB64URL)
	k := j + 1 + c
	if c == 0 || k >= len(s) || s[k] != '.' || runLen(s, k+1, isB64URL) < jwtMinSignature {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s[i:j], "="))
	if err != nil {
		return false
	}
	var header map[string]any
	if json.Unmarshal(raw, &header) != nil {
		return false
	}
	_, ok := header["alg"].(string)
	return ok
}

// matchURLPassword checks scheme://user:password@host with a password that
// is not an obvious placeholder (***, xxx, <password>, ${PASS}).
func matchURLPassword(s string, i int, _ string) bool {
	// The scheme: a letter, then letters, digits, + . -
	k := i
	for k > 0 && (isAlnum(s[k-1]) || s[k-1] == '+' || s[k-1] == '.' || s[k-1] == '-') {
		k--
	}
	if k == i || !isLetter(s[k]) {
		return false
	}
	auth := s[i+3:]
	if e := strings.IndexAny(auth, "/?# \t\r\n\"'<>"); e >= 0 {
		auth = auth[:e]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return false
	}
	_, pass, ok := strings.Cut(auth[:at], ":")
	return ok && pass != "" && !placeholder(pass)
}

// placeholder reports whether a URL password is obviously not a real one.
func placeholder(p string) bool {
	if strings.Trim(p, "*xX.") == "" {
		return true
	}
	switch p[0] {
	case '<', '$', '{', '[', '%':
		return true
	}
	return false
}

// leftBoundary reports whether the match at i does not continue a word.
func leftBoundary(s string, i int) bool { return i == 0 || !isWord(s[i-1]) }

// runLen counts the bytes from i that satisfy ok.
func runLen(s string, i int, ok func(byte) bool) int {
	n := 0
	for i+n < len(s) && ok(s[i+n]) {
		n++
	}
	return n
}

func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
func isLetter(c byte) bool      { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool       { return isLetter(c) || isDigit(c) }
func isWord(c byte) bool        { return isAlnum(c) || c == '_' }
func isTokenChar(c byte) bool   { return isAlnum(c) || c == '_' || c == '-' }
func isB64URL(c byte) bool      { return isAlnum(c) || c == '_' || c == '-' || c == '=' }
func isBase32Upper(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '2' && c <= '7' }
