package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startDebug serves Go's profiler (net/http/pprof, under /debug/pprof/) on
// addr, which must be a loopback address: profiles show the process's
// memory, which holds resolved secrets, so they are never served beyond
// the machine. It returns the address bound (port 0 picks a free one) and
// a function that stops the server.
func startDebug(addr string, log *slog.Logger) (net.Addr, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--debug-addr %q: want host:port on loopback, such as 127.0.0.1:6060: %w", addr, err)
	}
	if err := loopbackHost(host); err != nil {
		return nil, nil, fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server stopped", "error", err.Error())
		}
	}()
	return ln.Addr(), func() { _ = hs.Close() }, nil
}

// loopbackHost accepts localhost and loopback IP addresses only: not an
// empty host (every interface), not a name that DNS could point elsewhere.
func loopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("the profiler serves on loopback only (127.0.0.1, ::1 or localhost), not %q", host)
	}
	return nil
}
