package api

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGetRun measures GET /v1/workflows/runs/{id} of a run that has
// ended, as a client waiting with ?wait= gets it last (and as a plain GET
// does): authentication (the token cache), the permission check, the
// store's reads and the JSON answer, over loopback HTTP, client included.
// cpu-µs/op is the process's user + system CPU time per request
// (getrusage), steadier than ns/op on a loaded machine.
func BenchmarkGetRun(b *testing.B) {
	for _, c := range []struct{ name, query string }{
		{"plain", ""},
		{"wait-ended", "?wait=30s"},
	} {
		b.Run(c.name, func(b *testing.B) {
			bs := newBenchServer(b)
			code, id := bs.postRun(b, "/v1/workflows/bench/runs", benchRunBody)
			if code != http.StatusCreated {
				b.Fatalf("start a run: status %d", code)
			}
			bs.wait(id)
			url := bs.hs.URL + "/v1/workflows/runs/" + id + c.query
			client := bs.hs.Client()
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+bs.token)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status %d", url, resp.StatusCode)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
