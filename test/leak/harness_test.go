// Package leak_test is sluice's adversarial secrets suite: every case is a
// real run (a SQLite file, the engine, the WEBHOOK and CONDITION executors, a
// loopback receiver that plays the hostile remote system) that tries to make a
// secret come back, and every case then checks that no secret value, nor any
// of the forms it takes in transit, shows up in the run as the API shows it,
// in the node-run logs, in the raw bytes of the database file and its WAL, in
// the process log, or in a Go error the engine returned.
//
// The forms are computed here, independently of internal/redact, so a form
// that the redactor forgets to register makes a case fail:
// TestDisablingAnyFormFails switches off each family of forms the redactor
// registers, in turn, and requires a case to fail.
//
// process_test.go runs sluice as a user does: `sluice serve` as a process
// that is SIGKILLed while a node waits and started again (the run's
// redactor rebuilt from the store), with every HTTP answer and the process
// log checked, and `sluice run` with its text and JSON output checked;
// TestProcessChecksSeeEveryForm proves those checks see every family.
package leak_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/view"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Placeholders in a case's definition, replaced before it is parsed.
const (
	phReceiver = "@RCV@"     // the hostile receiver's base URL, http://127.0.0.1:port
	phRcvHost  = "@RCVHOST@" // the hostile receiver's host:port
	phTLS      = "@TLS@"     // a TLS receiver whose certificate is not trusted
	phRefused  = "@REFUSED@" // a loopback host:port where nothing listens
)

// leakCase is one adversarial run.
type leakCase struct {
	name string
	// def is the workflow definition, with the placeholders above.
	def string
	// secrets are served by a secret.MapSource; vault secrets are stored
	// encrypted in the run's store and served by a secret.Service.
	secrets map[string]string
	vault   map[string]string
	// derived returns values that templates derive from the secrets (and
	// that the remote echoes); their forms must not leak either.
	derived func(s map[string]string) []string
	// respond is the receiver's behaviour; nil answers 200 {"ok":true}.
	// s holds every secret value of the case, by name: the hostile remote
	// knows what it was sent.
	respond func(w http.ResponseWriter, r *http.Request, body []byte, s map[string]string)
	// dnsFail makes the webhook client resolve names through a loopback
	// DNS server that answers NXDOMAIN to everything.
	dnsFail bool
	inputs  map[string]any
	// async completes waiting node runs from outside after the first
	// Execute.
	async func(t *testing.T, d *driver)
	// result is the run's status and result: "COMPLETED SUCCESS",
	// "COMPLETED FAILED" or "IN_PROGRESS".
	result string
	// sent names the secrets (or derived values, with "=" prefix) that the
	// receiver or the DNS server must have seen, so that an echo case
	// cannot pass by never sending the secret.
	sent []string
	// check asserts what the case intended (the echo happened and was
	// masked, the node failed, the path taken).
	check func(t *testing.T, r *runOut)
	// allowFragments turns off the check for long fragments of the raw
	// values, for the negative cases that show near-misses are kept.
	allowFragments bool
}

// recorded is a request as the receiver saw it.
type recorded struct {
	Method string
	URI    string
	Header http.Header
	Body   []byte
}

// dump is the request's text, with Basic auth credentials and the strings
// of a JSON body decoded, for the "the secret really went out" checks.
func (r recorded) dump() string {
	var b strings.Builder
	var doc any
	if json.Unmarshal(r.Body, &doc) == nil {
		walkStrings(doc, func(s string) { b.WriteString(s + "\n") })
	}
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URI)
	if u, err := url.PathUnescape(r.URI); err == nil {
		b.WriteString(u + "\n")
	}
	if u, err := url.QueryUnescape(r.URI); err == nil {
		b.WriteString(u + "\n")
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
			if enc, ok := strings.CutPrefix(v, "Basic "); ok {
				if dec, err := base64.StdEncoding.DecodeString(enc); err == nil {
					fmt.Fprintf(&b, "basic-decoded: %s\n", dec)
				}
			}
		}
	}
	b.Write(r.Body)
	return b.String()
}

// walkStrings calls f with every string (object keys included) in a decoded
// JSON value.
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for k, e := range x {
			f(k)
			walkStrings(e, f)
		}
	}
}

// receiver is a loopback HTTP server that records every request and answers
// as the case says.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newReceiver(t *testing.T, tls bool, respond func(w http.ResponseWriter, r *http.Request, body []byte, s map[string]string), s map[string]string) *receiver {
	t.Helper()
	rc := &receiver{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		if respond == nil {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
			return
		}
		respond(w, r, body, s)
	})
	rc.srv = httptest.NewUnstartedServer(h)
	// Failed TLS handshakes are expected; keep them off the test output.
	rc.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		rc.srv.StartTLS()
	} else {
		rc.srv.Start()
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// nxdomain is a loopback DNS server that answers every query with NXDOMAIN
// and records the names asked for.
type nxdomain struct {
	conn  net.PacketConn
	mu    sync.Mutex
	names []string
}

func newNXDomain(t *testing.T) *nxdomain {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dns server: %v", err)
	}
	d := &nxdomain{conn: pc}
	t.Cleanup(func() { pc.Close() })
	go d.serve()
	return d
}

func (d *nxdomain) serve() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		q := buf[:n]
		if len(q) < 12 {
			continue
		}
		d.mu.Lock()
		d.names = append(d.names, questionName(q[12:]))
		d.mu.Unlock()
		// Same id and question; QR=1, RD copied, RA=1, RCODE=3 (NXDOMAIN);
		// no answers.
		resp := slices.Clone(q)
		resp[2] = 0x80 | (q[2] & 0x01)
		resp[3] = 0x80 | 0x03
		binary.BigEndian.PutUint16(resp[6:], 0)  // ANCOUNT
		binary.BigEndian.PutUint16(resp[8:], 0)  // NSCOUNT
		binary.BigEndian.PutUint16(resp[10:], 0) // ARCOUNT
		end := 12 + questionLen(q[12:])
		if end > len(resp) {
			continue
		}
		d.conn.WriteTo(resp[:end], addr)
	}
}

// questionName decodes the first question's name.
func questionName(b []byte) string {
	var labels []string
	for i := 0; i < len(b) && b[i] != 0; {
		l := int(b[i])
		if i+1+l > len(b) {
			break
		}
		labels = append(labels, string(b[i+1:i+1+l]))
		i += 1 + l
	}
	return strings.Join(labels, ".")
}

// questionLen is the length of the first question: its name, type and class.
func questionLen(b []byte) int {
	i := 0
	for i < len(b) && b[i] != 0 {
		i += 1 + int(b[i])
	}
	return i + 1 + 4
}

func (d *nxdomain) queried() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.names)
}

// client returns a webhook client that resolves every name through d.
func (d *nxdomain) client() *http.Client {
	addr := d.conn.LocalAddr().String()
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Resolver: &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, "udp", addr)
			},
		},
	}
	c := webhook.DefaultClient()
	tr := c.Transport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer.DialContext
	c.Transport = tr
	return c
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// driver completes waiting node runs from outside, as the API would, and
// keeps the errors for the leak checks.
type driver struct {
	t     *testing.T
	ctx   context.Context
	eng   *engine.Engine
	st    store.Store
	runID string
	s     map[string]string
	errs  *[]error
}

// waiting returns the node run of node that waits for a completion.
func (d *driver) waiting(nodeID string) string {
	d.t.Helper()
	nrs, err := d.st.NodeRuns(d.ctx, d.runID)
	if err != nil {
		d.t.Fatalf("node runs: %v", err)
	}
	for _, nr := range nrs {
		if nr.NodeID == nodeID && nr.Status == store.StatusInProgress {
			return nr.Identifier
		}
	}
	d.t.Fatalf("node %s has no node run IN_PROGRESS", nodeID)
	return ""
}

// complete sends c for the node run, then drives the run on when c completes
// the node.
func (d *driver) complete(nodeRunID string, c engine.Completion) {
	d.t.Helper()
	run, err := d.eng.CompleteNodeRun(d.ctx, nodeRunID, c)
	if err != nil {
		*d.errs = append(*d.errs, err)
		d.t.Errorf("complete %s: %v", nodeRunID, err)
		return
	}
	if c.Status == store.StatusCompleted {
		if _, err := d.eng.Execute(d.ctx, run.Identifier); err != nil {
			*d.errs = append(*d.errs, err)
			d.t.Errorf("execute after completion: %v", err)
		}
	}
}

// runOut is what a case's run left behind.
type runOut struct {
	view    view.Run
	json    []byte
	reqs    []recorded
	dns     []string
	errs    []error
	audit   []store.AuditEvent
	secrets map[string]string
}

// output returns node's output, decoded.
func (r *runOut) output(t *testing.T, nodeID string) any {
	t.Helper()
	raw, ok := r.view.Variables.Outputs[nodeID]
	if !ok {
		t.Fatalf("node %s has no output; nodes run: %v", nodeID, r.path())
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("output of %s: %v", nodeID, err)
	}
	return v
}

// nodeRun returns the last node run of nodeID.
func (r *runOut) nodeRun(t *testing.T, nodeID string) view.NodeRun {
	t.Helper()
	for i := len(r.view.NodeRuns) - 1; i >= 0; i-- {
		if nr := r.view.NodeRuns[i]; nr.Node.Identifier == nodeID {
			return nr
		}
	}
	t.Fatalf("node %s did not run; nodes run: %v", nodeID, r.path())
	return view.NodeRun{}
}

// logs returns the log lines of node's last node run.
func (r *runOut) logs(t *testing.T, nodeID string) []string {
	t.Helper()
	var out []string
	for _, l := range r.nodeRun(t, nodeID).NodeRunLogs {
		out = append(out, l.Log)
	}
	return out
}

// path lists the nodes run, in order.
func (r *runOut) path() []string {
	var p []string
	for _, nr := range r.view.NodeRuns {
		p = append(p, nr.Node.Identifier)
	}
	return p
}

// errorMessage returns the error message of a failed node's output.
func (r *runOut) errorMessage(t *testing.T, nodeID string) string {
	t.Helper()
	msg, ok := field(r.output(t, nodeID), "error", "message").(string)
	if !ok {
		t.Fatalf("node %s output has no error message: %s", nodeID, r.view.Variables.Outputs[nodeID])
	}
	return msg
}

// field walks a decoded JSON value by object keys and array indexes.
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// runCase runs c for real and performs every leak check.
func runCase(t *testing.T, c leakCase) *runOut {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "sluice.db")
	st, err := sqlitetest.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})

	var slogBuf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&slogBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	all := map[string]string{}
	for k, v := range c.secrets {
		all[k] = v
	}
	for k, v := range c.vault {
		all[k] = v
	}

	var src engine.SecretSource = secret.MapSource(c.secrets)
	if len(c.vault) > 0 {
		key, err := secret.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		ring, err := secret.NewKeyRing(key)
		if err != nil {
			t.Fatal(err)
		}
		svc := secret.NewService(st, ring, secret.WithLogger(logger))
		for name, v := range c.vault {
			if _, err := svc.Create(ctx, "usr_leaktest", name, v, "leak suite"); err != nil {
				t.Fatalf("create vault secret %s: %v", name, err)
			}
		}
		src = secret.Layered{secret.MapSource(c.secrets), svc}
	}

	def := c.def
	rcv := newReceiver(t, false, c.respond, all)
	def = strings.ReplaceAll(def, phReceiver, rcv.srv.URL)
	def = strings.ReplaceAll(def, phRcvHost, strings.TrimPrefix(rcv.srv.URL, "http://"))
	if strings.Contains(def, phTLS) {
		tlsRcv := newReceiver(t, true, c.respond, all)
		def = strings.ReplaceAll(def, phTLS, tlsRcv.srv.URL)
	}
	if strings.Contains(def, phRefused) {
		def = strings.ReplaceAll(def, phRefused, refusedAddr(t))
	}
	client := webhook.DefaultClient()
	var dns *nxdomain
	if c.dnsFail {
		dns = newNXDomain(t)
		client = dns.client()
	}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{Client: client})
	condition.Register(reg)
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Secrets: src, Logger: logger})

	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		t.Fatalf("parse definition: %v", err)
	}
	rec, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatalf("create workflow: %v", err)
	}

	out := &runOut{secrets: all}
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: c.inputs, Actor: engine.Actor{ID: "usr_leaktest"}})
	if err != nil {
		out.errs = append(out.errs, err)
		t.Fatalf("start: %v", err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		out.errs = append(out.errs, err)
		t.Errorf("execute: %v", err)
	}
	if c.async != nil {
		c.async(t, &driver{t: t, ctx: ctx, eng: eng, st: st, runID: run.Identifier, s: all, errs: &out.errs})
	}

	out.view, err = view.Load(ctx, st, run.Identifier)
	if err != nil {
		t.Fatalf("view: %v", err)
	}
	if out.json, err = json.Marshal(out.view); err != nil {
		t.Fatalf("marshal view: %v", err)
	}
	out.reqs = rcv.requests()
	if dns != nil {
		out.dns = dns.queried()
	}
	if out.audit, err = st.ListAudit(ctx, 1000, 0); err != nil {
		t.Fatalf("audit: %v", err)
	}

	// Everything that is stored or shown, as haystacks.
	var hay []haystack
	hay = append(hay, haystack{"run JSON (view.Load)", out.json})
	for _, nr := range out.view.NodeRuns {
		for i, l := range nr.NodeRunLogs {
			hay = append(hay, haystack{fmt.Sprintf("log line %d of node %s", i, nr.Node.Identifier), []byte(l.Log)})
		}
		for i, l := range nr.Links {
			hay = append(hay, haystack{fmt.Sprintf("link %d of node %s", i, nr.Node.Identifier), []byte(l)})
		}
	}
	hay = append(hay, dbFiles(t, dbPath, "before Close")...)
	for _, e := range out.errs {
		hay = append(hay, haystack{"Go error", []byte(e.Error())})
	}

	closed = true
	if err := st.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
	hay = append(hay, dbFiles(t, dbPath, "after Close")...)
	hay = append(hay, haystack{"slog output", slogBuf.Bytes()})

	// The leak checks.
	f := newFinder()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		f.addValue(name, all[name], !c.allowFragments)
	}
	if c.derived != nil {
		for i, d := range c.derived(all) {
			f.addValue(fmt.Sprintf("derived#%d", i), d, false)
		}
	}
	for _, h := range hay {
		for _, m := range f.find(h.data) {
			t.Errorf("LEAK in %s: %s", h.name, m)
		}
	}
	// A value split across log lines must not be reassembled by reading
	// adjacent stored lines together.
	for _, nr := range out.view.NodeRuns {
		for i := 0; i+1 < len(nr.NodeRunLogs); i++ {
			joined := nr.NodeRunLogs[i].Log + nr.NodeRunLogs[i+1].Log
			for _, m := range f.find([]byte(joined)) {
				t.Errorf("LEAK across log lines %d and %d of node %s: %s", i, i+1, nr.Node.Identifier, m)
			}
		}
	}

	// The case did what it meant to do.
	if c.result != "" {
		got := out.view.Status
		if out.view.Result != nil {
			got += " " + *out.view.Result
		}
		if got != c.result {
			t.Errorf("run = %s, want %s (nodes %v)", got, c.result, out.path())
			for _, nr := range out.view.NodeRuns {
				t.Logf("node %s: output %s", nr.Node.Identifier, nr.Output)
			}
		}
	}
	// The checker itself must see what the remote side was sent, or a
	// passing case could mean a blind checker.
	if len(c.sent) > 0 {
		var sentText strings.Builder
		for _, q := range out.reqs {
			sentText.WriteString(q.dump())
		}
		for _, n := range out.dns {
			sentText.WriteString(n + "\n")
		}
		if len(f.find([]byte(sentText.String()))) == 0 {
			t.Errorf("the checker finds no secret in what the remote side received: it is blind for this case")
		}
	}
	for _, s := range c.sent {
		want, label := all[s], "secret "+s
		if v, ok := strings.CutPrefix(s, "="); ok {
			want, label = v, "value"
		}
		if want == "" {
			t.Fatalf("case names unknown secret %q in sent", s)
		}
		if !sawValue(out, want) {
			t.Errorf("the remote side never received %s: the case proves nothing", label)
		}
	}
	if c.check != nil {
		c.check(t, out)
	}
	return out
}

// sawValue reports whether a recorded request or DNS query held v.
func sawValue(r *runOut, v string) bool {
	for _, q := range r.reqs {
		if strings.Contains(q.dump(), v) {
			return true
		}
	}
	for _, n := range r.dns {
		if strings.Contains(strings.ToLower(n), strings.ToLower(v)) {
			return true
		}
	}
	return false
}

// haystack is something stored or shown.
type haystack struct {
	name string
	data []byte
}

// dbFiles reads the database file and its -wal and -shm files, those that
// exist.
func dbFiles(t *testing.T, dbPath, when string) []haystack {
	t.Helper()
	var out []haystack
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(dbPath + suffix)
		if errors.Is(err, os.ErrNotExist) {
			if suffix == "" {
				t.Errorf("database file missing %s", when)
			}
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", dbPath+suffix, err)
		}
		out = append(out, haystack{fmt.Sprintf("database file sluice.db%s (%s, %d bytes)", suffix, when, len(b)), b})
	}
	return out
}

// refusedAddr returns a loopback host:port where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// masked reports whether v is a string that holds the mask, for the
// "the echo happened and was masked" assertions.
func masked(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "***")
}

// wantMasked fails unless the value at path in node's output holds the mask.
func wantMasked(t *testing.T, r *runOut, nodeID string, path ...any) {
	t.Helper()
	v := field(r.output(t, nodeID), path...)
	if !masked(v) {
		t.Errorf("output of %s at %v = %#v, want the mask (the echo did not happen or was not masked)", nodeID, path, v)
	}
}

// wantFailed fails unless node failed with a message holding every want.
func wantFailed(t *testing.T, r *runOut, nodeID string, want ...string) {
	t.Helper()
	nr := r.nodeRun(t, nodeID)
	if nr.Result == nil || *nr.Result != store.ResultFailed {
		t.Errorf("node %s result = %v, want FAILED", nodeID, nr.Result)
	}
	msg := r.errorMessage(t, nodeID)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("node %s error = %q, want it to say %q", nodeID, msg, w)
		}
	}
}

// wantLog fails unless a log line of node holds every want.
func wantLog(t *testing.T, r *runOut, nodeID string, want ...string) {
	t.Helper()
	for _, l := range r.logs(t, nodeID) {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return
		}
	}
	t.Errorf("no log line of %s holds %q; logs: %q", nodeID, want, r.logs(t, nodeID))
}
