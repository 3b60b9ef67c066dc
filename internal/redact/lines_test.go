package redact

import (
	"strings"
	"testing"
)

// TestLinesSplit splits a secret across two lines at every position.
func TestLinesSplit(t *testing.T) {
	const secret = "supersecretvalue"
	r := New()
	r.Add(secret)
	for i := 1; i < len(secret); i++ {
		l := r.NewLines()
		first := l.Next("log: " + secret[:i]).String()
		second := l.Next(secret[i:] + " end").String()
		// The first part is masked once it is MinLen bytes long.
		if i >= MinLen {
			if first != "log: "+Mask {
				t.Errorf("split at %d: first line %q", i, first)
			}
		} else if first != "log: "+secret[:i] {
			t.Errorf("split at %d: first line %q, want it unchanged", i, first)
		}
		// The second part completes a match: always masked.
		if second != Mask+" end" {
			t.Errorf("split at %d: second line %q", i, second)
		}
	}
}

func TestLinesAcrossThreeLines(t *testing.T) {
	const secret = "supersecretvalue"
	r := New()
	r.Add(secret)
	l := r.NewLines()
	got := []string{
		l.Next("a supe").String(),
		l.Next("rsecr").String(),
		l.Next("etvalue b").String(),
	}
	want := []string{"a " + Mask, Mask, Mask + " b"}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestLinesLeadingSuffix: without the previous line, the start of a line is
// masked when it is the end of a pattern and at least half of it.
func TestLinesLeadingSuffix(t *testing.T) {
	const secret = "supersecretvalue" // 16 bytes
	r := New()
	r.Add(secret)
	tests := []struct {
		line, want string
	}{
		{"secretvalue tail", Mask + " tail"},    // 11 bytes ≥ 8
		{"etvalue tail", "etvalue tail"},        // 7 bytes < 8
		{"rsecretvalue", Mask},                  // 12 bytes
		{"value tail", "value tail"},            // 5 bytes
		{"supersecretvalue x", Mask + " x"},     // a whole match
		{"no secret here", "no secret here"},    // nothing
		{"x secretvalue", "x secretvalue"},      // not at the start
		{"secretvalue supe", Mask + " " + Mask}, // both ends
	}
	for _, tt := range tests {
		l := r.NewLines()
		l.Next("unrelated line")
		if got := l.Next(tt.line).String(); got != tt.want {
			t.Errorf("Next(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestLinesWithinLine(t *testing.T) {
	r := New()
	r.Add("hunter2-s3cr3t")
	l := r.NewLines()
	lines := []string{
		"GET /x?password=hunter2-s3cr3t 200",
		"plain line",
		"",
		"aHVudGVyMi1zM2NyM3Q= twice hunter2-s3cr3t",
	}
	for _, line := range lines {
		got := l.Next(line).String()
		if want := r.String(line); got != want {
			t.Errorf("Next(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestLinesAddDuringStream(t *testing.T) {
	r := New()
	l := r.NewLines()
	if got := l.Next("token: abcd").String(); got != "token: abcd" {
		t.Fatalf("got %q", got)
	}
	r.Add("late-s3cr3t-value")
	if got := l.Next("late-s3cr3t-value here").String(); got != Mask+" here" {
		t.Errorf("got %q", got)
	}
	if got := l.Next("and late-s3c").String(); got != "and "+Mask {
		t.Errorf("got %q", got)
	}
	r.Add("another-s3cr3t")
	// The state is rebuilt for the new matcher from the held tail.
	if got := l.Next("r3t-value.").String(); got != Mask+"." {
		t.Errorf("got %q", got)
	}
	if strings.Contains(l.Next("x").String(), Mask) {
		t.Error("unrelated line masked")
	}
}
