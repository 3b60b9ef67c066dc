package redact

import (
	"slices"
	"strings"
	"testing"
)

// TestSubsumedFamilies proves what SubsumedFormFamilies says: every form of
// such a family, for values of every length mod 3 and of many alphabets,
// contains a form of another family and is at most MinLen-1 bytes longer.
func TestSubsumedFamilies(t *testing.T) {
	values := []string{"abcd", "abcde", "abcdef", "tok-4Fq9Zx2Lm7Pw8Rs", `k<3y>&"tok'en/9 Zq`, "ümlaut-ß-€-🙂", "line one\nline two\r\nthree", "\x00\xff\xfe binary"}
	for _, name := range SubsumedFormFamilies() {
		i := slices.IndexFunc(formFamilies, func(f formFamily) bool { return f.name == name })
		if i < 0 {
			t.Fatalf("unknown family %q", name)
		}
		for _, v := range values {
			var others []string
			for _, f := range formFamilies {
				if f.name != name {
					others = append(others, f.forms(v)...)
				}
			}
			for _, f := range formFamilies[i].forms(v) {
				covered := slices.ContainsFunc(others, func(g string) bool {
					return len(g) >= MinLen && strings.Contains(f, g) && len(f)-len(g) < MinLen
				})
				if !covered {
					t.Errorf("family %s, value %q: form %q is not covered by another family", name, v, f)
				}
			}
		}
	}
	// Every family is named once, and forms is exactly their union.
	seen := map[string]bool{}
	for _, n := range FormFamilies() {
		if seen[n] {
			t.Errorf("family %q named twice", n)
		}
		seen[n] = true
	}
}
