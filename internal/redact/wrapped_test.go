package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFormsWrappedBase64 puts a value at every offset of a base64 stream
// wrapped as PEM (64 columns) and MIME or GNU base64 (76) do, with "\n" and
// "\r\n": every character that depends only on the value is masked, the line
// breaks between them included, as one run.
func TestFormsWrappedBase64(t *testing.T) {
	values := []string{"abcd", "s3cr3t-t0ken_value", "correct-horse-battery-staple-0123456789-abcdefghij-klmnopqrstuvwxyz-0123456789", "p@ss/w+rd\"<&>\x01\xff"}
	for _, v := range values {
		r := New()
		r.Add(v)
		for _, width := range []int{64, 76} {
			for _, eol := range []string{"\n", "\r\n"} {
				// Every offset of the value relative to the line breaks:
				// 3 bytes of data are 4 characters.
				for off := 0; off <= 3*width/4+3; off++ {
					for _, suffix := range []string{"", "\n", "-- more data after the value --"} {
						data := strings.Repeat("y", off) + v + suffix
						enc := wrapBase64(data, width, eol)
						text := "begin" + eol + enc + eol + "end"
						got := r.String(text)
						if !strings.HasPrefix(got, "begin"+eol) || !strings.HasSuffix(got, eol+"end") {
							t.Fatalf("value %q at %d: context masked: %q", v, off, got)
						}
						inner := strings.TrimSuffix(strings.TrimPrefix(got, "begin"+eol), eol+"end")
						checkWrappedMasked(t, enc, inner, off, len(v), width, eol)
					}
				}
			}
		}
	}
}

// TestWrappedNotABlock: line breaks that are no wrap of base64 join nothing.
func TestWrappedNotABlock(t *testing.T) {
	const secret = "abcdefghijklmnop"
	r := New()
	r.Add(secret)
	long := strings.Repeat("Q", 70)
	tests := []struct{ text, want string }{
		// The run before the break is shorter than 64 characters.
		{strings.Repeat("Q", 30) + "abcdefgh\nijklmnop", strings.Repeat("Q", 30) + "abcdefgh\nijklmnop"},
		// A space ends the run before the break.
		{long + " abcdefgh\nijklmnop", long + " abcdefgh\nijklmnop"},
		// A wrap break inside the value itself: a full match, masked.
		{long + "abcdefgh\nijklmnop", long[:70] + Mask},
		{long + "abcdefgh\r\nijklmnop tail", long[:70] + Mask + " tail"},
		// Two breaks, the value across both lines.
		{"abcd" + strings.Repeat("Q", 60) + "efgh\n" + "ijkl", "abcd" + strings.Repeat("Q", 60) + "efgh\nijkl"},
	}
	for _, tt := range tests {
		if got := r.String(tt.text); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestWrappedMatchesNaive compares String with the brute-force oracle, which
// unwraps the whole text, on random texts of wrapped base64 with values in
// it, false breaks (lines ending in hex) and clusters of breaks far apart.
func TestWrappedMatchesNaive(t *testing.T) {
	const secret = "s3cr3t-t0ken_value"
	r := New()
	r.Add(secret)
	patterns := patternsOf(r)
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []func() string{
		func() string { return "\n" },
		func() string { return "\r\n" },
		func() string { return strings.Repeat("0123456789abcdef", 4) },
		func() string { return " plain text " },
		func() string { return strings.Repeat("z", rng.IntN(300)) },
		func() string { return secret[:rng.IntN(len(secret))] },
		func() string { return secret[rng.IntN(len(secret)):] },
		func() string {
			return wrapBase64(strings.Repeat("y", rng.IntN(60))+secret+"\n", []int{64, 76}[rng.IntN(2)], []string{"\n", "\r\n"}[rng.IntN(2)])
		},
	}
	for i := range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))]())
		}
		text := b.String()
		if got, want := r.String(text), naiveRedact(patterns, text); got != want {
			t.Fatalf("text %d %q:\ngot  %q\nwant %q", i, text, got, want)
		}
	}
}
