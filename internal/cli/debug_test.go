package cli

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, ok := range map[string]bool{"::1": true, "127.0.0.2": true, "localhost": true, "": false, "::": false, "192.168.1.1": false, "localhost.example.com": false} {
		if err := loopbackHost(host); (err == nil) != ok {
			t.Errorf("loopbackHost(%q) = %v, want ok %v", host, err, ok)
		}
	}
}

func TestStartDebug(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		addr    string
		wantErr string
	}{
		{"127.0.0.1:0", ""},
		{"localhost:0", ""},
		{":6060", "loopback only"},
		{"0.0.0.0:6060", "loopback only"},
		{"10.1.2.3:6060", "loopback only"},
		{"example.com:6060", "loopback only"},
		{"127.0.0.1", "want host:port"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			addr, stop, err := startDebug(tc.addr, log)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--debug-addr") {
					t.Fatalf("startDebug(%q) = %v, want an error naming --debug-addr: %s", tc.addr, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			resp, err := http.Get("http://" + addr.String() + "/debug/pprof/goroutine?debug=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
				t.Errorf("profile: %d %.100s", resp.StatusCode, body)
			}
		})
	}
}
