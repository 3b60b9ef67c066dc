package redact

import (
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// benchText returns about size bytes of log-like lines, with a few real
// occurrences of secrets in raw, base64 (Basic auth) and hex form.
func benchText(size int, secrets []string) string {
	rng := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	b.Grow(size + 256)
	paths := []string{"/api/v1/items", "/api/v1/runs/42/nodes", "/healthz", "/v1/organization/secrets", "/v1/workflows/deploy-service"}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "2025-03-01T12:%02d:%02d.%03dZ INFO request id=%016x method=GET path=%s status=%d dur=%dms user=user%d@example.com agent=\"Mozilla/5.0 (X11; Linux x86_64)\"",
			i/60%60, i%60, rng.IntN(1000), rng.Uint64(), paths[rng.IntN(len(paths))], 200+rng.IntN(3)*100, rng.IntN(900), rng.IntN(50))
		if len(secrets) > 0 && i%997 == 0 {
			s := secrets[rng.IntN(len(secrets))]
			switch i % 3 {
			case 0:
				fmt.Fprintf(&b, " token=%s", s)
			case 1:
				fmt.Fprintf(&b, " auth=\"Basic %s\"", base64.StdEncoding.EncodeToString([]byte("deploy:"+s)))
			default:
				fmt.Fprintf(&b, " key=%x", s)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// naiveReplace is the baseline: one strings.ReplaceAll pass per pattern,
// longest first. It does not mask unions of overlapping matches correctly;
// it only sets the speed to beat.
func naiveReplace(patterns []string, text string) string {
	for _, p := range patterns {
		text = strings.ReplaceAll(text, p, Mask)
	}
	return text
}

func BenchmarkRedact(b *testing.B) {
	const size = 1 << 20
	for _, n := range []int{1, 10, 100, 1000} {
		secrets := randomSecrets(uint64(n), n, 32)
		r := New()
		for _, s := range secrets {
			r.Add(s)
		}
		text := benchText(size, secrets)
		patterns := slices.Clone(patternsOf(r))
		slices.SortFunc(patterns, func(x, y string) int { return len(y) - len(x) })
		if strings.Count(r.String(text), Mask) == 0 {
			b.Fatal("benchmark text has no occurrence")
		}
		b.Run(fmt.Sprintf("secrets=%d/patterns=%d/redactor", n, len(patterns)), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				_ = r.String(text)
			}
		})
		b.Run(fmt.Sprintf("secrets=%d/patterns=%d/naive", n, len(patterns)), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				_ = naiveReplace(patterns, text)
			}
		})
	}
}

// BenchmarkRedactClean measures text with no occurrence at all, the common
// case for log lines.
func BenchmarkRedactClean(b *testing.B) {
	secrets := randomSecrets(100, 100, 32)
	r := New()
	for _, s := range secrets {
		r.Add(s)
	}
	text := benchText(1<<20, nil)
	_ = r.String(text) // build the matcher outside the loop
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.String(text)
	}
}

// BenchmarkWriter streams the same text through a Writer in 4 KiB writes.
func BenchmarkWriter(b *testing.B) {
	secrets := randomSecrets(100, 100, 32)
	r := New()
	for _, s := range secrets {
		r.Add(s)
	}
	text := []byte(benchText(1<<20, secrets))
	_ = r.String("") // build the matcher outside the loop
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		w := r.NewWriter(io.Discard)
		for i := 0; i < len(text); i += 4096 {
			_, _ = w.Write(text[i:min(i+4096, len(text))])
		}
		_ = w.Close()
	}
}

// BenchmarkBuild measures the rebuild that the first scan after Add pays.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		secrets := randomSecrets(uint64(n), n, 32)
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			for b.Loop() {
				r := New()
				for _, s := range secrets {
					r.Add(s)
				}
				_ = r.String("x")
			}
		})
	}
}

// BenchmarkRedactWrapped measures the worst case of unwrapping: a text that
// is all base64 wrapped at 76 columns (a MIME body, a GNU base64 dump), so
// every line break is a wrap break and the text is scanned twice. Compare
// with BenchmarkRedactClean, a text of the same size without one.
func BenchmarkRedactWrapped(b *testing.B) {
	secrets := randomSecrets(100, 100, 32)
	r := New()
	for _, s := range secrets {
		r.Add(s)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	data := make([]byte, 3<<18)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	copy(data[1000:], secrets[0])
	var sb strings.Builder
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	sb.WriteString(enc)
	text := sb.String()
	if !strings.Contains(r.String(text), Mask) {
		b.Fatal("the wrapped secret is not masked")
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.String(text)
	}
}

// BenchmarkLines redacts about 1 MiB of log lines as one batch, as the
// engine stores a node's logs.
func BenchmarkLines(b *testing.B) {
	secrets := randomSecrets(100, 100, 32)
	r := New()
	for _, s := range secrets {
		r.Add(s)
	}
	text := benchText(1<<20, secrets)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	_ = r.String("") // build the matcher outside the loop
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.Lines(lines)
	}
}
