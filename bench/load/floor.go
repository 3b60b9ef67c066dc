package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"
)

// floorEnv, when set in the environment, makes this binary the floor
// server instead of the harness: its value is the receiver's URL.
const floorEnv = "SLUICE_LOAD_FLOOR_RECEIVER"

// floorToken is the bearer token the floor server accepts.
const floorToken = "floor-token"

var floorListenRe = regexp.MustCompile(`floor listening on (\S+)`)

// floorServer is the floor phase's server: the HTTP exchanges of one run of
// the 4-node workflow with no engine and no store. It answers the
// harness's token request, and for each run the POST (201 with a run) and
// the long poll (the run once COMPLETED), and between them makes the
// workflow's two webhook calls to the receiver, one after the other, each
// with the JSON body sluice sends and its answer decoded as sluice decodes
// it. Runs live in a map until their long poll has answered. It serves
// until killed.
//
// What a sluice run costs above this server's CPU per run is what the
// engine, the store and the run's bookkeeping cost: the part of a run that
// sluice can make cheaper, measured beside the whole in one invocation.
type floorServer struct {
	rcv  string
	work time.Duration // extra CPU per run, in burnPoints parts
	http *http.Client
	mu   sync.Mutex
	runs map[string]*floorRun
}

type floorRun struct {
	done   chan struct{}
	answer []byte // the COMPLETED run, set before done is closed
}

// floorRunView is the run as the floor answers it: the fields of sluice's
// workflowRun, with one node run per node.
type floorRunView struct {
	Identifier string         `json:"identifier"`
	Workflow   string         `json:"workflowIdentifier"`
	Status     string         `json:"status"`
	Result     string         `json:"result,omitempty"`
	CreatedBy  string         `json:"createdBy"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
	Variables  map[string]any `json:"variables"`
	NodeRuns   []floorNodeRun `json:"nodeRuns"`
}

type floorNodeRun struct {
	Identifier string            `json:"identifier"`
	Node       map[string]string `json:"node"`
	Status     string            `json:"status"`
	Result     string            `json:"result,omitempty"`
	Output     any               `json:"output"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
}

// serveFloor runs the floor server on a free loopback port and prints its
// address; it returns only on a listen error.
func serveFloor(rcv string, work time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("floor listening on http://%s\n", ln.Addr())
	return http.Serve(ln, newFloor(rcv, work))
}

// newFloor returns the floor server's handler, posting to rcv and spending
// work of CPU per run besides its exchanges.
func newFloor(rcv string, work time.Duration) http.Handler {
	f := &floorServer{rcv: rcv, work: work, runs: map[string]*floorRun{}, http: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
		Timeout:   time.Minute,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeFloorJSON(w, http.StatusOK, map[string]any{"ok": true, "accessToken": floorToken, "expiresIn": 3600, "tokenType": "Bearer"})
	})
	mux.HandleFunc("POST /v1/workflows/{id}/runs", f.start)
	mux.HandleFunc("GET /v1/workflows/runs/{wfr}", f.wait)
	return mux
}

func (f *floorServer) authed(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+floorToken
}

func (f *floorServer) start(w http.ResponseWriter, r *http.Request) {
	if !f.authed(r) {
		writeFloorJSON(w, http.StatusUnauthorized, map[string]any{"ok": false})
		return
	}
	var body struct {
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeFloorJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "message": err.Error()})
		return
	}
	now := time.Now()
	v := floorRunView{
		Identifier: "wfr_" + floorID(), Workflow: r.PathValue("id"), Status: "IN_PROGRESS",
		CreatedBy: "load", CreatedAt: now, UpdatedAt: now, Variables: map[string]any{},
		NodeRuns: []floorNodeRun{{Identifier: "wfnr_" + floorID(), Node: map[string]string{"identifier": "trigger"},
			Status: "COMPLETED", Result: "SUCCESS", Output: body.Inputs, CreatedAt: now, UpdatedAt: now}},
	}
	run := &floorRun{done: make(chan struct{})}
	f.mu.Lock()
	f.runs[v.Identifier] = run
	f.mu.Unlock()
	burn(f.work / burnPoints)
	writeFloorJSON(w, http.StatusCreated, map[string]any{"ok": true, "workflowRun": v})
	go f.drive(v, body.Inputs, run)
}

// drive makes the run's two webhook calls and completes it.
func (f *floorServer) drive(v floorRunView, inputs map[string]any, run *floorRun) {
	result := "SUCCESS"
	for _, node := range []string{"call", "check", "notify"} {
		nr := floorNodeRun{Identifier: "wfnr_" + floorID(), Node: map[string]string{"identifier": node}, CreatedAt: time.Now()}
		if node == "check" {
			nr.Output = map[string]any{"outlet": "ok"}
		} else {
			out, err := f.call(node, inputs["env"])
			if err != nil {
				result = "FAILURE"
			}
			burn(f.work / burnPoints)
			nr.Output = out
		}
		nr.Status, nr.Result, nr.UpdatedAt = "COMPLETED", result, time.Now()
		v.NodeRuns = append(v.NodeRuns, nr)
		if result != "SUCCESS" {
			break
		}
	}
	v.Status, v.Result, v.UpdatedAt = "COMPLETED", result, time.Now()
	b, _ := json.Marshal(map[string]any{"ok": true, "workflowRun": v})
	run.answer = b
	close(run.done)
}

// call posts {"env": env} to the receiver's path and decodes its answer.
func (f *floorServer) call(path string, env any) (map[string]any, error) {
	b, err := json.Marshal(map[string]any{"env": env})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, f.rcv+"/"+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("receiver: %d", resp.StatusCode)
	}
	return map[string]any{"response": map[string]any{"status": resp.StatusCode, "data": body}}, nil
}

func (f *floorServer) wait(w http.ResponseWriter, r *http.Request) {
	if !f.authed(r) {
		writeFloorJSON(w, http.StatusUnauthorized, map[string]any{"ok": false})
		return
	}
	id := r.PathValue("wfr")
	d, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		d = 0
	}
	f.mu.Lock()
	run, ok := f.runs[id]
	f.mu.Unlock()
	if !ok {
		writeFloorJSON(w, http.StatusNotFound, map[string]any{"ok": false})
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-run.done:
	case <-t.C:
		writeFloorJSON(w, http.StatusOK, map[string]any{"ok": true, "workflowRun": map[string]any{"identifier": id, "status": "IN_PROGRESS"}})
		return
	case <-r.Context().Done():
		return
	}
	f.mu.Lock()
	delete(f.runs, id)
	f.mu.Unlock()
	burn(f.work / burnPoints)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(run.answer)
}

func writeFloorJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// floorID returns 16 random hex characters.
func floorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startFloor starts this binary again as the floor server, posting to rcv,
// and waits for its address.
func startFloor(rcv string, work time.Duration) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), floorEnv+"="+rcv, floorWorkEnv+"="+work.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the floor server: %w", err)
	}
	p := &proc{pid: cmd.Process.Pid, stop: func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := floorListenRe.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
				break
			}
		}
		close(ready)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case p.url = <-ready:
	case <-time.After(30 * time.Second):
	}
	if p.url == "" {
		p.stop()
		return nil, errors.New("the floor server printed no address")
	}
	return p, nil
}

// floorPhase measures the floor: the closed loop (and, with open, the open
// loop at rate) against the floor server spending work of CPU per run
// besides its exchanges, with its CPU per run, a line each.
func floorPhase(ctx context.Context, hc *http.Client, rcv string, c config, open bool, work time.Duration) ([]string, error) {
	p, err := startFloor(rcv, work)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	cl := &client{http: hc, base: p.url, token: floorToken}
	if err := oneRun(ctx, cl, cl); err != nil {
		return nil, fmt.Errorf("floor: a first run: %w", err)
	}
	run := func(ctx context.Context) error { return oneRun(ctx, cl, cl) }
	procs := []*proc{p}
	measure := func(name string, phase func() (int64, int64, int64, []time.Duration)) string {
		c0, _ := cpu(procs)
		t0 := time.Now()
		ok, failed, missed, lat := phase()
		el := time.Since(t0)
		what := "no engine or store"
		if work > 0 {
			what = fmt.Sprintf("plus %s of CPU per run", work)
		}
		line := fmt.Sprintf("floor: the same HTTP exchanges, %s (%s): %d runs, %.0f runs/s, p50 %s, p99 %s, %d failed",
			what, name, ok, float64(ok)/el.Seconds(), ms(pct(lat, .5)), ms(pct(lat, .99)), failed)
		if missed > 0 {
			line += fmt.Sprintf(", %d ticks missed", missed)
		}
		if c1, ok1 := cpu(procs); ok1 && ok > 0 {
			line += fmt.Sprintf(", floor CPU %.3f ms/run", float64(c1-c0)/float64(time.Millisecond)/float64(ok))
		}
		if e := firstErr.Swap(nil); e != nil {
			line += fmt.Sprintf("; first error: %v", *e)
		}
		return line
	}
	lines := []string{measure(fmt.Sprintf("closed, %d clients", c.clients), func() (int64, int64, int64, []time.Duration) {
		ok, failed, lat := closedLoop(c.clients, c.duration, run)
		return ok, failed, 0, lat
	})}
	if open {
		lines = append(lines, measure(fmt.Sprintf("open, %d runs/s", c.rate), func() (int64, int64, int64, []time.Duration) {
			return openLoop(c.rate, c.maxOpen, c.duration, run)
		}))
	}
	return lines, nil
}
