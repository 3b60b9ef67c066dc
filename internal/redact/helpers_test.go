package redact

import (
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
// overlapping ones included, by brute force, and masks each maximal run of
// the union of their intervals (touching intervals form one run).
func naiveRedact(patterns []string, text string) string {
	var iv [][2]int
	for _, p := range patterns {
		for i := 0; ; i++ {
			j := strings.Index(text[i:], p)
			if j < 0 {
				break
			}
			i += j
			iv = append(iv, [2]int{i, i + len(p)})
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
