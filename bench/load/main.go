// Command load is sluice's load generator (make bench-load,
// make bench-load-all, docs/performance.md). It starts `sluice serve` on a
// fresh data dir (or uses -url), creates the 4-node workflow trigger →
// WEBHOOK → CONDITION → WEBHOOK against a loopback receiver of its own, and
// measures, in one run:
//
//   - baseline: the same HTTP client posting straight to the receiver
//     (closed loop, -clients workers), in requests/s;
//   - floor: the closed loop below (and the open loop, when it runs)
//     against a stand-in server of this binary's own that makes the same
//     HTTP exchanges per run (the POST, the long poll, the two webhook
//     calls) with no engine and no store, with its CPU per run: what a run
//     costs before sluice does anything (floor.go);
//   - closed loop: -clients workers each starting a run
//     (POST /v1/workflows/{id}/runs) and waiting for it with the long poll
//     (GET /v1/workflows/runs/{id}?wait=30s) until COMPLETED, in runs/s;
//   - open loop: runs started at a fixed -rate, each waited for the same
//     way, with latency percentiles from POST to COMPLETED.
//
// With -database-url the store is PostgreSQL instead of SQLite: the
// harness connects to the URL's database, creates a new one named
// sluice_load_<UTC time>_<random> (CREATE DATABASE, so the user needs
// CREATEDB) and points the servers at it, so that every invocation starts
// from empty tables and earlier runs slow no later one; it drops it
// (DROP DATABASE ... WITH (FORCE)) when it ends, also on SIGINT or
// SIGTERM. A database left by a harness killed otherwise is named so.
// -processes N starts N serve processes on that database, one after the
// other, each with its own data dir and loopback port and one master key
// shared through SLUICE_MASTER_KEY; the first creates the Admin client.
// Runs are started round robin over the processes and each is waited for
// on the process that started it, or with -wait-elsewhere on the next one
// (the wait then sees the run only through LISTEN/NOTIFY).
//
// With servers it started, it also reports their CPU time per run
// (user+system from /proc summed over the processes, so Linux only) and,
// on PostgreSQL, that of the server's backends connected to the run's
// database (pg_stat_activity; only for a server on this machine).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// firstErr keeps the first error of a phase, to print it.
var firstErr atomic.Pointer[error]

func noteErr(err error) {
	firstErr.CompareAndSwap(nil, &err)
}

// slowRun is how long a run may take before noteSlow prints what its
// requests did (a wait answered at its deadline shows there), and
// slowPrinted how many it printed: at most maxSlowPrinted per invocation.
const (
	slowRun        = 5 * time.Second
	maxSlowPrinted = 5
)

var slowPrinted atomic.Int32

// noteSlow prints, to stderr, the requests of a run that took longer than
// slowRun, for the first few such runs.
func noteSlow(id string, took time.Duration, steps []string) {
	if took < slowRun || slowPrinted.Add(1) > maxSlowPrinted {
		return
	}
	fmt.Fprintf(os.Stderr, "load: slow run %s: %s: %s\n", id, took.Round(time.Millisecond), strings.Join(steps, "; "))
}

type config struct {
	sluice        string
	flags         string
	url           string
	clientID      string
	secret        string
	databaseURL   string
	processes     int
	waitElsewhere bool
	phases        map[string]bool
	duration      time.Duration
	clients       int
	rate          int
	maxOpen       int
	poll          time.Duration
	floorWork     []time.Duration
}

func main() {
	if rcv := os.Getenv(floorEnv); rcv != "" {
		work, _ := time.ParseDuration(os.Getenv(floorWorkEnv))
		fmt.Fprintln(os.Stderr, "load: floor server:", serveFloor(rcv, work))
		os.Exit(1)
	}
	var c config
	flag.StringVar(&c.sluice, "sluice", "bin/sluice", "sluice binary to start (ignored with -url)")
	flag.StringVar(&c.flags, "serve-flags", "", "more flags for sluice serve, space-separated (such as --debug-addr 127.0.0.1:6060)")
	flag.StringVar(&c.url, "url", "", "an already running server instead (then -client-id and -client-secret, an Admin client)")
	flag.StringVar(&c.clientID, "client-id", "", "clientId with -url")
	flag.StringVar(&c.secret, "client-secret", "", "clientSecret with -url")
	flag.StringVar(&c.databaseURL, "database-url", "", "serve on PostgreSQL: a fresh database is created in this server for the run and dropped after (the user needs CREATEDB)")
	flag.IntVar(&c.processes, "processes", 1, "serve processes sharing the store (more than 1 needs -database-url)")
	flag.BoolVar(&c.waitElsewhere, "wait-elsewhere", false, "wait for each run on the process after the one that started it (LISTEN/NOTIFY across processes)")
	phases := flag.String("phases", "baseline,floor,closed,open", "the phases to run, comma-separated (bench/ab.sh runs only closed, for many short rounds)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each phase")
	flag.IntVar(&c.clients, "clients", 16, "closed-loop workers")
	flag.IntVar(&c.rate, "rate", 500, "open-loop runs started per second")
	flag.IntVar(&c.maxOpen, "max-open", 5000, "open loop: most runs in flight; a tick past it is counted as missed")
	flag.DurationVar(&c.poll, "poll", 0, "instead of the long poll, GET the run every this long until COMPLETED (how clients waited before ?wait=, and how to load a server without it)")
	work := flag.String("floor-work", "0", "the floor phase's extra CPU per run, spent on the run's critical path where sluice commits and reads; a comma-separated list measures the floor once per value (0,250us,500us,1ms: how much work per run the open loop's latency allows)")
	flag.Parse()
	var err error
	if c.floorWork, err = parseWork(*work); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if c.phases, err = parsePhases(*phases); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// parsePhases reads -phases: a comma-separated subset of baseline, floor,
// closed and open, not empty.
func parsePhases(v string) (map[string]bool, error) {
	out := map[string]bool{}
	for p := range strings.SplitSeq(v, ",") {
		switch p = strings.TrimSpace(p); p {
		case "baseline", "floor", "closed", "open":
			out[p] = true
		case "":
		default:
			return nil, fmt.Errorf("-phases: unknown phase %q (baseline, floor, closed, open)", p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-phases: name at least one of baseline, floor, closed, open")
	}
	return out, nil
}

// check rejects flags that do not go together.
func (c config) check() error {
	switch {
	case c.processes < 1:
		return fmt.Errorf("-processes %d: at least 1", c.processes)
	case c.url != "" && (c.databaseURL != "" || c.processes != 1):
		return errors.New("-url: the harness starts no server then, so -database-url and -processes do not apply")
	case c.processes > 1 && c.databaseURL == "":
		return fmt.Errorf("-processes %d needs -database-url: on SQLite one serve drives its data dir (its lock refuses a second)", c.processes)
	case c.clients < 1:
		return fmt.Errorf("-clients %d: at least 1", c.clients)
	case c.rate < 1:
		return fmt.Errorf("-rate %d: at least 1", c.rate)
	case c.maxOpen < 1:
		return fmt.Errorf("-max-open %d: at least 1", c.maxOpen)
	case c.duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", c.duration)
	}
	return nil
}

type client struct {
	http  *http.Client
	base  string
	token string
	poll  time.Duration // 0: the long poll
}

func (c *client) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		err = json.NewDecoder(resp.Body).Decode(out)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, err
}

// workflow is the 4-node workflow: trigger → WEBHOOK → CONDITION → WEBHOOK.
func workflow(rcv string) map[string]any {
	return map[string]any{
		"identifier":            "load",
		"title":                 "load test: trigger, webhook, condition, webhook",
		"allowAnyoneToViewRuns": true,
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "userInputs": map[string]any{
				"properties": map[string]any{"env": map[string]any{"type": "string"}}, "required": []string{"env"}}}},
			map[string]any{"identifier": "call", "config": map[string]any{"type": "WEBHOOK", "url": rcv + "/call", "body": map[string]any{"env": "{{ .outputs.trigger.env }}"}}},
			map[string]any{"identifier": "check", "config": map[string]any{"type": "CONDITION", "outlets": []any{
				map[string]any{"identifier": "ok", "title": "OK", "expression": ".outputs.call.response.status == 200"}}}},
			map[string]any{"identifier": "notify", "config": map[string]any{"type": "WEBHOOK", "url": rcv + "/notify", "body": map[string]any{"env": "{{ .outputs.trigger.env }}"}}},
		},
		"connections": []any{
			map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"},
			map[string]any{"sourceIdentifier": "call", "targetIdentifier": "check"},
			map[string]any{"sourceIdentifier": "check", "sourceOutletIdentifier": "ok", "targetIdentifier": "notify"},
		},
	}
}

type runAnswer struct {
	WorkflowRun struct {
		Identifier string `json:"identifier"`
		Status     string `json:"status"`
		Result     string `json:"result"`
	} `json:"workflowRun"`
}

// targets are the processes runs are spread over.
type targets struct {
	procs     []*client
	elsewhere bool
	next      atomic.Uint64
}

// oneRun starts a run on the next process, round robin, and waits for it
// there (or on the one after, with elsewhere).
func (t *targets) oneRun(ctx context.Context) error {
	post, wait := pick(t.next.Add(1)-1, len(t.procs), t.elsewhere)
	return oneRun(ctx, t.procs[post], t.procs[wait])
}

// oneRun starts a run on c and waits for it on w with the long poll (or
// polling, with c.poll); it returns an error unless the run ends SUCCESS.
func oneRun(ctx context.Context, c, w *client) error {
	var a runAnswer
	t0 := time.Now()
	code, err := c.do(ctx, "POST", "/v1/workflows/load/runs", map[string]any{"inputs": map[string]any{"env": "prod"}}, &a)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("start a run: %d", code)
	}
	id := a.WorkflowRun.Identifier
	steps := []string{fmt.Sprintf("POST %s -> %s", time.Since(t0).Round(time.Millisecond), a.WorkflowRun.Status)}
	defer func() { noteSlow(id, time.Since(t0), steps) }()
	path := "/v1/workflows/runs/" + id + "?wait=30s"
	if c.poll > 0 {
		path = "/v1/workflows/runs/" + id
	}
	for a.WorkflowRun.Status != "COMPLETED" {
		if c.poll > 0 {
			time.Sleep(c.poll)
		}
		a = runAnswer{}
		t1 := time.Now()
		if code, err := w.do(ctx, "GET", path, nil, &a); err != nil || code != http.StatusOK {
			return fmt.Errorf("wait for run %s: %d %v", id, code, err)
		}
		steps = append(steps, fmt.Sprintf("GET %s -> %s", time.Since(t1).Round(time.Millisecond), a.WorkflowRun.Status))
	}
	if a.WorkflowRun.Result != "SUCCESS" {
		return fmt.Errorf("run %s ended %s", id, a.WorkflowRun.Result)
	}
	return nil
}

// closedLoop runs fn from n workers for d and returns how many calls ended
// without error, the errors, and the latencies.
func closedLoop(n int, d time.Duration, fn func(context.Context) error) (int64, int64, []time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := fn(context.WithoutCancel(ctx)); err != nil {
					noteErr(err)
					failed.Add(1)
					continue
				}
				ok.Add(1)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok.Load(), failed.Load(), lat
}

// openLoop starts fn rate times a second for d, at most maxOpen at once.
func openLoop(rate, maxOpen int, d time.Duration, fn func(context.Context) error) (ok, failed, missed int64, lat []time.Duration) {
	var okN, failN, missN atomic.Int64
	var mu sync.Mutex
	sem := make(chan struct{}, maxOpen)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(due))
		select {
		case sem <- struct{}{}:
		default:
			missN.Add(1)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			if err := fn(context.Background()); err != nil {
				noteErr(err)
				failN.Add(1)
				return
			}
			okN.Add(1)
			l := time.Since(t0)
			mu.Lock()
			lat = append(lat, l)
			mu.Unlock()
		})
	}
	wg.Wait()
	return okN.Load(), failN.Load(), missN.Load(), lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(float64(len(lat)-1) * p)
	return lat[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func run(c config) error {
	// The loopback receiver both the workflow and the baseline post to.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	})}
	go func() { _ = rcv.Serve(ln) }()
	defer rcv.Close()
	rcvURL := "http://" + ln.Addr().String()

	// What to undo at the end, also on SIGINT or SIGTERM: the processes,
	// then their database.
	var undo undoStack
	defer undo.run()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			undo.run()
			os.Exit(130)
		}
	}()

	procs := []*proc{{url: c.url}}
	id, secret := c.clientID, c.secret
	var db *freshDB
	if c.url == "" {
		dbURL := ""
		if c.databaseURL != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			db, err = freshDatabase(ctx, c.databaseURL)
			cancel()
			if err != nil {
				return err
			}
			dbURL = db.url
			undo.push(func() {
				if err := db.drop(); err != nil {
					fmt.Fprintln(os.Stderr, "load:", err)
				}
			})
		}
		var stop func()
		if procs, id, secret, stop, err = startProcs(c.sluice, dbURL, c.processes, strings.Fields(c.flags)); err != nil {
			return err
		}
		undo.push(stop)
	}
	tr := &http.Transport{MaxIdleConns: 4 * c.maxOpen, MaxIdleConnsPerHost: 4 * c.maxOpen, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	tg := &targets{elsewhere: c.waitElsewhere}
	for i, p := range procs {
		api := &client{http: hc, base: p.url, poll: c.poll}
		var tok struct {
			AccessToken string `json:"accessToken"`
		}
		if code, err := api.do(context.Background(), "POST", "/v1/auth/access_token", map[string]string{"clientId": id, "clientSecret": secret}, &tok); err != nil || code != http.StatusOK {
			return fmt.Errorf("access token from process %d: %d %v", i+1, code, err)
		}
		api.token = tok.AccessToken
		tg.procs = append(tg.procs, api)
	}
	if code, err := tg.procs[0].do(context.Background(), "POST", "/v1/workflows", workflow(rcvURL), nil); err != nil || (code != http.StatusCreated && code != http.StatusConflict) {
		return fmt.Errorf("create the workflow: %d %v", code, err)
	}
	// A first run on each process (waited for as the phases will), which
	// also shows that every one sees the workflow.
	for i := range procs {
		if err := tg.oneRun(context.Background()); err != nil {
			return fmt.Errorf("a first run on process %d: %w", i+1, err)
		}
	}

	host, _ := os.Hostname()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("machine: %s, nproc %d, store %s, %s/%s, %s, load average %s", host, runtime.NumCPU(), storeLabel(c.databaseURL, c.url, len(procs), db.label()), runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
	wait := "the long poll (?wait=30s)"
	if c.poll > 0 {
		wait = fmt.Sprintf("GET every %s", c.poll)
	}
	if len(procs) > 1 {
		wait += fmt.Sprintf(", started round robin over %d processes and waited for on the same one", len(procs))
		if c.waitElsewhere {
			wait = strings.Replace(wait, "the same one", "the next one (-wait-elsewhere)", 1)
		}
	}
	fmt.Printf("phases of %s; closed loop %d clients; open loop %d runs/s; runs waited for with %s\n\n", c.duration, c.clients, c.rate, wait)

	// Baseline: the same client, straight to the receiver.
	raw := &client{http: hc, base: rcvURL}
	body := map[string]any{"env": "prod"}
	var rawRate float64
	if c.phases["baseline"] {
		n, failed, lat := closedLoop(c.clients, c.duration, func(ctx context.Context) error {
			code, err := raw.do(ctx, "POST", "/call", body, nil)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("receiver: %d", code)
			}
			return err
		})
		rawRate = float64(n) / c.duration.Seconds()
		fmt.Printf("baseline raw HTTP (closed, %d clients): %.0f req/s, p50 %s, p99 %s, %d errors\n", c.clients, rawRate, ms(pct(lat, .5)), ms(pct(lat, .99)), failed)
	}

	if c.phases["floor"] {
		// With the open phase, the floor is measured at its rate too.
		for _, work := range c.floorWork {
			lines, err := floorPhase(context.Background(), hc, rcvURL, c, c.phases["open"], work)
			if err != nil {
				return err
			}
			fmt.Println(strings.Join(lines, "\n"))
		}
	}

	measure := func(name string, phase func() (int64, int64, int64, []time.Duration)) {
		c0, cpuOK := cpu(procs)
		pg0 := db.backendCPU()
		t0 := time.Now()
		ok, failed, missed, lat := phase()
		el := time.Since(t0)
		line := fmt.Sprintf("%s: %d runs, %.0f runs/s, p50 %s, p99 %s, %d failed", name, ok, float64(ok)/el.Seconds(), ms(pct(lat, .5)), ms(pct(lat, .99)), failed)
		if missed > 0 {
			line += fmt.Sprintf(", %d ticks missed", missed)
		}
		if c1, ok1 := cpu(procs); cpuOK && ok1 && ok > 0 {
			line += fmt.Sprintf(", sluice CPU %.3f ms/run", float64(c1-c0)/float64(time.Millisecond)/float64(ok))
		}
		if pg1 := db.backendCPU(); pg0 != nil && pg1 != nil && ok > 0 {
			line += fmt.Sprintf(", postgres backends CPU %.3f ms/run", float64(cpuDelta(pg0, pg1))/float64(time.Millisecond)/float64(ok))
		}
		if name[:6] == "closed" && rawRate > 0 {
			line += fmt.Sprintf(", %.1f%% of raw req/s", 100*float64(ok)/el.Seconds()/rawRate)
		}
		if e := firstErr.Swap(nil); e != nil {
			line += fmt.Sprintf("; first error: %v", *e)
		}
		fmt.Println(line)
	}
	if c.phases["closed"] {
		measure(fmt.Sprintf("closed loop (%d clients, POST + wait)", c.clients), func() (int64, int64, int64, []time.Duration) {
			ok, failed, lat := closedLoop(c.clients, c.duration, tg.oneRun)
			return ok, failed, 0, lat
		})
	}
	if c.phases["open"] {
		measure(fmt.Sprintf("open loop (%d runs/s, POST + wait)", c.rate), func() (int64, int64, int64, []time.Duration) {
			return openLoop(c.rate, c.maxOpen, c.duration, tg.oneRun)
		})
	}
	return nil
}

// undoStack holds what to undo at the end, run once in reverse order by
// whichever comes first: the end of run or a signal.
type undoStack struct {
	mu   sync.Mutex
	fns  []func()
	done bool
}

func (u *undoStack) push(fn func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fns = append(u.fns, fn)
}

func (u *undoStack) run() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return
	}
	u.done = true
	for i := len(u.fns) - 1; i >= 0; i-- {
		u.fns[i]()
	}
}
