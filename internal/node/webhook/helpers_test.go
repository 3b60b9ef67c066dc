package webhook

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

const (
	testRunID     = "wfr_AAAAAAAAAAAAAAAA"
	testNodeRunID = "wfnr_BBBBBBBBBBBBBBBB"
)

// logLine is one line a node logged.
type logLine struct{ level, message string }

// logs collects what a node logs.
type logs struct {
	mu    sync.Mutex
	lines []logLine
}

func (l *logs) log(level, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{level, message})
}

// all returns the lines logged so far.
func (l *logs) all() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logLine(nil), l.lines...)
}

// text returns every line, one per line, prefixed with its level.
func (l *logs) text() string {
	var b strings.Builder
	for _, ln := range l.all() {
		b.WriteString(ln.level + " " + ln.message + "\n")
	}
	return b.String()
}

// newRequest builds a node.Request for cfg as the engine would.
func newRequest(cfg map[string]any, verbose bool, l *logs) *node.Request {
	return &node.Request{
		WorkflowID:      "wf",
		WorkflowVersion: 1,
		RunID:           testRunID,
		NodeRunID:       testNodeRunID,
		Node:            &workflow.Node{Identifier: "call", Type: workflow.TypeWebhook, Verbose: verbose},
		Config:          cfg,
		Log:             l.log,
	}
}

// run executes cfg with e and returns what the node returned and logged.
func run(t *testing.T, e *Executor, cfg map[string]any, verbose bool) (node.Result, *logs, error) {
	t.Helper()
	l := &logs{}
	res, err := e.Execute(t.Context(), newRequest(cfg, verbose, l))
	return res, l, err
}

// newServer starts a loopback HTTP server closed at the end of the test.
func newServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// blockUntilGone is a handler that answers only once the client has given up.
func blockUntilGone(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

// assertNoLeak fails when err's text holds any of secrets.
func assertNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q quotes %q", err, s)
		}
	}
}

// startNXDomainDNS starts a DNS server on loopback UDP that answers every
// query with NXDOMAIN, and returns its address. It lets the Go resolver fail
// a lookup for real without any traffic leaving the machine.
func startNXDomainDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, ok := nxdomain(buf[:n]); ok {
				pc.WriteTo(resp, addr)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// nxdomain builds the NXDOMAIN answer to a DNS query: the query's header
// with QR, RA and RCODE 3 set, and its first question.
func nxdomain(q []byte) ([]byte, bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) < 1 {
		return nil, false
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	end := i + 1 + 4 // the root label, QTYPE and QCLASS
	if end > len(q) {
		return nil, false
	}
	resp := append([]byte(nil), q[:end]...)
	resp[2] = 0x80 | q[2]&0x01 // QR, and RD as asked
	resp[3] = 0x80 | 3         // RA, RCODE NXDOMAIN
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	return resp, true
}

// clientResolvingWith returns a client whose DNS lookups go to dnsAddr only.
func clientResolvingWith(dnsAddr string) *http.Client {
	resolver := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", dnsAddr)
		},
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Resolver: resolver}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: checkRedirect,
	}
}

// clientDialingTo returns a copy of base whose connections all go to addr,
// whatever host the URL names.
func clientDialingTo(base *http.Client, addr string) *http.Client {
	tr := base.Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// statusOf returns the StatusCode of err's *StatusError, or 0.
func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

// rawServer starts a loopback TCP server that writes reply to every
// connection and closes it, and returns its address.
func rawServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Read(make([]byte, 4096))
			conn.Write([]byte(reply))
			conn.Close()
		}
	}()
	return ln.Addr().String()
}
