package main

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// floorWorkEnv carries -floor-work to the floor server: the CPU it spends
// per run on top of its HTTP exchanges.
const floorWorkEnv = "SLUICE_LOAD_FLOOR_WORK"

// burnPoints is how many places on a run's critical path the floor server
// spends its extra work: before answering the POST, after each of the two
// webhook calls, and before answering the long poll; where sluice commits
// the run's creation, its two steps, and reads the finished run.
const burnPoints = 4

// burn spends d of this thread's CPU time (not wall time: on a loaded
// machine the two differ) hashing a small buffer. The goroutine stays on
// its thread meanwhile, so that the thread's CPU clock is its own.
func burn(d time.Duration) {
	if d <= 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok {
		return
	}
	var buf [32]byte
	for {
		for range 64 { // about 20 µs of hashing between looks at the clock
			buf = sha256.Sum256(buf[:])
		}
		now, ok := threadCPU()
		if !ok || now-start >= d {
			return
		}
	}
}

// threadCPU returns the CPU time the calling thread has used, from its
// CPU clock (exact to the call; getrusage's per-thread times lag by up to
// a scheduler tick, which made burns overshoot).
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// parseWork reads -floor-work: a comma-separated list of durations, the
// floor server's extra CPU per run for each floor measurement (0 is the
// bare floor).
func parseWork(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("-floor-work: %q is not a duration such as 500us (a list: 0,250us,500us)", f)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return []time.Duration{0}, nil
	}
	return out, nil
}
