package redact

import (
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// patternsOf returns the patterns r currently matches.
func patternsOf(r *Redactor) []string {
	return r.matcher().patterns
}

// naiveRedact is the test oracle: it finds every occurrence of every pattern,
// overlapping ones included, by brute force, in the text and in the text with
// its wrap breaks removed (see naiveUnwrap), and masks each maximal run of
// the union of their intervals (touching intervals form one run).
func naiveRedact(patterns []string, text string) string {
	var iv [][2]int
	joined, orig := naiveUnwrap(text)
	for _, p := range patterns {
		for i := 0; ; i++ {
			j := strings.Index(text[i:], p)
			if j < 0 {
				break
			}
			i += j
			iv = append(iv, [2]int{i, i + len(p)})
		}
		for i := 0; ; i++ {
			j := strings.Index(joined[i:], p)
			if j < 0 {
				break
			}
			i += j
			iv = append(iv, [2]int{orig[i], orig[i+len(p)-1] + 1})
		}
	}
	slices.SortFunc(iv, func(x, y [2]int) int { return x[0] - y[0] })
	var b strings.Builder
	prev := 0
	for i := 0; i < len(iv); {
		start, end := iv[i][0], iv[i][1]
		for i++; i < len(iv) && iv[i][0] <= end; i++ {
			end = max(end, iv[i][1])
		}
		b.WriteString(text[prev:start])
		b.WriteString(Mask)
		prev = end
	}
	b.WriteString(text[prev:])
	return b.String()
}

// naiveUnwrap returns text without its wrap breaks, and for each byte of the
// result its offset in text. A wrap break is "\n" or "\r\n" after at least
// 64 characters of the standard base64 alphabet (or "=") and before one.
func naiveUnwrap(text string) (string, []int) {
	b64 := func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
	}
	isBreak := make([]bool, len(text))
	for p := 0; p < len(text); p++ {
		if text[p] != '\n' || p+1 == len(text) || !b64(text[p+1]) {
			continue
		}
		q := p
		if q > 0 && text[q-1] == '\r' {
			q--
		}
		run := 0
		for run < q && b64(text[q-1-run]) {
			run++
		}
		if run >= 64 {
			for i := q; i <= p; i++ {
				isBreak[i] = true
			}
		}
	}
	var b strings.Builder
	var orig []int
	for i := range len(text) {
		if !isBreak[i] {
			b.WriteByte(text[i])
			orig = append(orig, i)
		}
	}
	return b.String(), orig
}

// hasWrapBreak reports whether text has a wrap break (see naiveUnwrap).
func hasWrapBreak(text string) bool {
	joined, _ := naiveUnwrap(text)
	return len(joined) != len(text)
}

// assertNoPattern fails t if out contains any of patterns.
func assertNoPattern(t testing.TB, patterns []string, out string) {
	t.Helper()
	for _, p := range patterns {
		if strings.Contains(out, p) {
			t.Fatalf("output %q still contains pattern %q", out, p)
		}
	}
}

// containsAny reports whether text contains any of patterns.
func containsAny(patterns []string, text string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return strings.Contains(text, p) })
}

// randomSecrets returns n distinct random secrets of the given length drawn
// from an alphabet like that of generated API tokens, reproducibly.
func randomSecrets(seed uint64, n, length int) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		b := make([]byte, length)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if s := string(b); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// wrapBase64 returns the standard base64 of data wrapped at width columns,
// each line ended by eol but the last, as GNU base64 and PEM write it.
func wrapBase64(data string, width int, eol string) string {
	e := base64.StdEncoding.EncodeToString([]byte(data))
	var b strings.Builder
	for len(e) > width {
		b.WriteString(e[:width] + eol)
		e = e[width:]
	}
	b.WriteString(e)
	return b.String()
}

// checkWrappedMasked checks got, the redaction of enc, the base64 of a text
// that holds a value of n bytes at byte offset off, wrapped at width columns
// with eol: got must be enc with one run replaced by Mask, and every
// character of enc whose 6 bits all come from the value must lie in that run.
func checkWrappedMasked(t *testing.T, enc, got string, off, n, width int, eol string) {
	t.Helper()
	a := 0
	for a < len(enc) && a < len(got) && enc[a] == got[a] {
		a++
	}
	b := 0
	for b < len(enc)-a && b < len(got)-a && enc[len(enc)-1-b] == got[len(got)-1-b] {
		b++
	}
	if got[a:len(got)-b] != Mask {
		t.Errorf("value at %d, width %d, eol %q: not masked as one run:\n%s\n->\n%s", off, width, eol, enc, got)
		return
	}
	for j := 0; 6*j+6 <= 8*(off+n); j++ {
		if 6*j < 8*off {
			continue
		}
		pos := j + j/width*len(eol)
		if pos < a || pos >= len(enc)-b {
			t.Errorf("value at %d, width %d, eol %q: character %d visible:\n%s", off, width, eol, j, got)
			return
		}
	}
}
