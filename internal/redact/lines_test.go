package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// texts returns the strings of ts.
func texts(ts []Text) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// TestLinesSplitInBatch splits a secret across two lines of one batch at
// every position: both parts are masked, whatever their length.
func TestLinesSplitInBatch(t *testing.T) {
	const secret = "supersecretvalue"
	r := New()
	r.Add(secret)
	for i := 1; i < len(secret); i++ {
		got := texts(r.Lines([]string{"log: " + secret[:i], secret[i:] + " end"}))
		want := []string{"log: " + Mask, Mask + " end"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("split at %d: got %q, want %q", i, got, want)
		}
	}
}

func TestLinesBatch(t *testing.T) {
	const secret = "supersecretvalue"
	r := New()
	r.Add(secret)
	r.Add("hunter2-s3cr3t")
	tests := []struct {
		name        string
		lines, want []string
	}{
		{"three lines", []string{"a supe", "rsecr", "etvalue b"}, []string{"a " + Mask, Mask, Mask + " b"}},
		{"within lines", []string{"GET /x?password=hunter2-s3cr3t 200", "plain line", "", "aHVudGVyMi1zM2NyM3Q= twice hunter2-s3cr3t"},
			[]string{"GET /x?password=" + Mask + " 200", "plain line", "", Mask + " twice " + Mask}},
		{"embedded newline", []string{"one\ntwo supersecretvalue", "x"}, []string{"one\ntwo " + Mask, "x"}},
		{"across an empty line", []string{"supersec", "", "retvalue"}, []string{Mask, "", Mask}},
		{"CRLF line ends", []string{"log: supers\r", "ecretvalue\r", "x\r"}, []string{"log: " + Mask + "\r", Mask + "\r", "x\r"}},
		{"a line break is no part of the value", []string{"supersec\nretvalue"}, []string{"supersec\nretvalue"}},
		{"nothing", nil, []string{}},
		{"unrelated lines stay", []string{"supersecretvalue", "unrelated", "supersecretvalue"}, []string{Mask, "unrelated", Mask}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts(r.Lines(tt.lines))
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("Lines(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

// TestLinesSplitAcrossBatches documents the limit: each batch is matched on
// its own, so a value split across two batches is visible in both.
func TestLinesSplitAcrossBatches(t *testing.T) {
	const secret = "supersecretvalue"
	r := New()
	r.Add(secret)
	first := texts(r.Lines([]string{"log: super"}))
	second := texts(r.Lines([]string{"secretvalue end"}))
	if first[0] != "log: super" || second[0] != "secretvalue end" {
		t.Errorf("got %q and %q, want both unchanged", first, second)
	}
}

func TestLinesAddBetweenBatches(t *testing.T) {
	r := New()
	if got := r.Lines([]string{"token: late-s3cr3t-value"})[0].String(); got != "token: late-s3cr3t-value" {
		t.Fatalf("got %q", got)
	}
	r.Add("late-s3cr3t-value")
	if got := r.Lines([]string{"token: late-s3cr3t-value"})[0].String(); got != "token: "+Mask {
		t.Errorf("got %q", got)
	}
}

// TestNoPartialMatchOracle is the rule that keeps masking from becoming an
// oracle: for a secret S and every proper prefix or suffix P of S, or of
// one of the forms S is registered in, text that holds P but not a full
// match comes out of every entry point exactly as it went in. Were it
// otherwise, a caller who may add log lines could learn S byte by byte from
// which of its guesses came back masked.
func TestNoPartialMatchOracle(t *testing.T) {
	secrets := []string{"supersecretvalue", "tok_9f8e7d6c5b4a", "p@ss/w rd\"<&>'x", "abcd"}
	for _, secret := range secrets {
		r := New()
		r.Add(secret)
		patterns := patternsOf(r)
		var parts []string
		for _, f := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), hex.EncodeToString([]byte(secret)), url.QueryEscape(secret)} {
			for i := 1; i < len(f); i++ {
				parts = append(parts, f[:i], f[i:])
			}
		}
		var probes []string
		for _, p := range parts {
			for _, line := range []string{p, "probe " + p, p + " tail", "x" + p + "x"} {
				if containsAny(patterns, line) {
					continue // a full match of another form: masking it is fine
				}
				probes = append(probes, line)
				if got := r.Lines([]string{line})[0].String(); got != line {
					t.Errorf("secret %q: Lines([%q]) = %q, want it unchanged", secret, line, got)
				}
				if got := r.String(line); got != line {
					t.Errorf("secret %q: String(%q) = %q, want it unchanged", secret, line, got)
				}
				got, err := r.JSON(map[string]any{"probe": line})
				if err != nil {
					t.Fatal(err)
				}
				if want, _ := New().JSON(map[string]any{"probe": line}); !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("secret %q: JSON of %q is %s, want %s", secret, line, got.Bytes(), want.Bytes())
				}
				// A stream that ends with the part is written as it came.
				var out bytes.Buffer
				w := r.NewWriter(&out)
				if _, err := w.Write([]byte(line)); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if out.String() != line {
					t.Errorf("secret %q: stream %q written as %q", secret, line, out.String())
				}
			}
		}
		// The attack: one batch with every guess, each on its own line.
		got := texts(r.Lines(probes))
		for i := range probes {
			if got[i] != probes[i] {
				t.Errorf("secret %q: probe line %q stored as %q", secret, probes[i], got[i])
			}
		}
	}
}

// maskedRange returns how many bytes at the start (a) and the end (b) of
// orig are kept in got, which must be orig with at most one run masked.
func maskedRange(orig, got string) (a, b int, ok bool) {
	for a < len(orig) && a < len(got) && orig[a] == got[a] {
		a++
	}
	for b < len(orig)-a && b < len(got)-a && orig[len(orig)-1-b] == got[len(got)-1-b] {
		b++
	}
	mid := got[a : len(got)-b]
	return a, b, mid == "" && a+b == len(orig) || mid == Mask
}

// checkCharsHidden checks that in the unwrapped base64 enc, where "?" marks
// what was masked, every character whose 6 bits all come from a value of n
// bytes at byte offset off is masked.
func checkCharsHidden(t *testing.T, enc string, off, n int) {
	t.Helper()
	for j := 0; 6*j+6 <= 8*(off+n) && j < len(enc); j++ {
		if 6*j >= 8*off && enc[j] != '?' {
			t.Errorf("value at %d: character %d visible: %s", off, j, enc)
			return
		}
	}
}

// TestLinesWrappedBase64 posts wrapped base64 as separate lines of one batch.
func TestLinesWrappedBase64(t *testing.T) {
	const secret = "correct-horse-battery-staple-42"
	r := New()
	r.Add(secret)
	for prefix := range 48 {
		data := strings.Repeat("x", prefix) + secret + "\n"
		enc := wrapBase64(data, 64, "\n")
		lines := strings.Split(enc, "\n")
		got := texts(r.Lines(lines))
		// Line by line: every character that depends only on the value is
		// masked, and nothing else.
		var visible strings.Builder
		for i := range lines {
			a, b, ok := maskedRange(lines[i], got[i])
			if !ok {
				t.Fatalf("prefix %d: line %q stored as %q", prefix, lines[i], got[i])
			}
			visible.WriteString(lines[i][:a] + strings.Repeat("?", len(lines[i])-a-b) + lines[i][len(lines[i])-b:])
		}
		checkCharsHidden(t, visible.String(), prefix, len(secret))
	}
}
