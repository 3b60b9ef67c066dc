package main

import (
	"runtime"
	"testing"
	"time"
)

// TestBurnSpendsThreadCPU checks that burn spends at least what it is asked
// of the calling thread's CPU time (a CPU clock, not a wall clock: it holds
// on a loaded machine).
func TestBurnSpendsThreadCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond} {
		before, ok := threadCPU()
		if !ok {
			t.Fatal("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed")
		}
		burn(d)
		after, _ := threadCPU()
		if got := after - before; got < d {
			t.Errorf("burn(%s) spent %s of thread CPU", d, got)
		}
	}
}

func TestParseWork(t *testing.T) {
	tests := []struct {
		in   string
		want []time.Duration
		err  bool
	}{
		{"0", []time.Duration{0}, false},
		{"", []time.Duration{0}, false},
		{"0, 250us,1ms", []time.Duration{0, 250 * time.Microsecond, time.Millisecond}, false},
		{"fast", nil, true},
		{"-1ms", nil, true},
	}
	for _, tc := range tests {
		got, err := parseWork(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseWork(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("parseWork(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseWork(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
