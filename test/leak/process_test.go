package leak_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/cli"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/view"
)

// mainEnv, set in the environment of a re-executed test binary, makes it
// run sluice's command line with its arguments instead of the tests, so
// that the suite can run `sluice serve` as a real process, SIGKILL it and
// start it again.
const mainEnv = "SLUICE_LEAK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
	}
	code := m.Run()
	if probe.dir != "" {
		os.RemoveAll(probe.dir)
	}
	os.Exit(code)
}

// Credentials of the first Admin client of the served processes. The
// secret is no secret of a run: the checks do not look for it.
const (
	adminID     = "cl_leakadmin"
	adminSecret = "leak-admin-secret-0123456789abcdefghij"
)

// serveProc is `sluice serve` in a child process.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error
}

// startServe starts `sluice serve` on a free loopback port over dataDir,
// with the process log in logFormat at debug level, and returns once it
// listens. The process is killed when the test ends, if still running.
func startServe(t *testing.T, dataDir, logFormat string) *serveProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--log-format", logFormat, "--log-level", "debug", "--shutdown-grace", "5s")
	cmd.Env = append(os.Environ(), mainEnv+"=1", "SLUICE_MASTER_KEY=",
		"SLUICE_ADMIN_CLIENT_ID="+adminID, "SLUICE_ADMIN_CLIENT_SECRET="+adminSecret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			if a, ok := strings.CutPrefix(sc.Text(), "sluice listening on "); ok {
				addr <- a
			}
		}
		_, _ = io.Copy(&p.stdout, out)
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.url = <-addr:
	case <-p.done:
		t.Fatalf("serve exited before listening (%v)\n%s", p.err, p.stderr.Bytes())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen\n%s", p.stderr.Bytes())
	}
	return p
}

// stop sends sig and waits for the process to exit.
func (p *serveProc) stop(sig os.Signal) error {
	_ = p.cmd.Process.Signal(sig)
	<-p.done
	return p.err
}

// apiClient calls a served process and keeps every answer (status line,
// headers and body) as a haystack.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	mu    sync.Mutex
	hay   []haystack
}

// call sends body as JSON and returns the answer's body once it has the
// status want; any other status fails the test.
func (c *apiClient) call(method, path string, body any, want int) []byte {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s\n", resp.Status)
	_ = resp.Header.Write(&head)
	c.mu.Lock()
	c.hay = append(c.hay, haystack{fmt.Sprintf("HTTP answer to %s %s", method, path), append(head.Bytes(), got...)})
	c.mu.Unlock()
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, got)
	}
	return got
}

// login takes an access token for the Admin client.
func (c *apiClient) login() {
	c.t.Helper()
	c.token = ""
	var v struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(c.call("POST", "/v1/auth/access_token", map[string]string{"clientId": adminID, "clientSecret": adminSecret}, 200), &v); err != nil || v.AccessToken == "" {
		c.t.Fatalf("access token: %v", err)
	}
	c.token = v.AccessToken
}

// run returns the run as GET /v1/workflows/runs/{id}?include=logs answers it.
func (c *apiClient) run(id string) view.Run {
	c.t.Helper()
	var v struct {
		WorkflowRun view.Run `json:"workflowRun"`
	}
	if err := json.Unmarshal(c.call("GET", "/v1/workflows/runs/"+id+"?include=logs", nil, 200), &v); err != nil {
		c.t.Fatalf("decode run: %v", err)
	}
	return v.WorkflowRun
}

// waitRun polls the run until ok holds, for at most a minute.
func (c *apiClient) waitRun(id, what string, ok func(view.Run) bool) view.Run {
	c.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := c.run(id); ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run %s: %s did not happen: %+v", id, what, c.run(id))
		}
	}
}

// waitingNodeRun returns the node run of nodeID that is IN_PROGRESS, "" if
// none.
func waitingNodeRun(r view.Run, nodeID string) string {
	for _, nr := range r.NodeRuns {
		if nr.Node.Identifier == nodeID && nr.Status == "IN_PROGRESS" {
			return nr.Identifier
		}
	}
	return ""
}

// secretFinder returns a finder of every form of every value in s, with
// long fragments of the raw values.
func secretFinder(s map[string]string) *finder {
	f := newFinder()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range s {
			if !yield(k) {
				return
			}
		}
	})
	for _, n := range names {
		f.addValue(n, s[n], true)
	}
	return f
}

// checkHay fails the test for every form of a secret found in hay.
func checkHay(t *testing.T, f *finder, hay []haystack) {
	t.Helper()
	for _, h := range hay {
		for _, m := range f.find(h.data) {
			t.Errorf("LEAK in %s: %s", h.name, m)
		}
	}
}

// TestLeakAcrossRestart runs the every-form workflow in `sluice serve`, a
// real process: the secrets are stored through the API, the receiver echoes
// every form of them, and the process is SIGKILLed while the asynchronous
// node waits. A new process on the same data dir rebuilds the run's
// redactor from the store; the remote system then posts every form as log
// lines and completes the node with every form in its output. No form may
// show in any HTTP answer of the API (headers and body), in the process
// log (access log included) or stdout of either process, or in the
// database files.
func TestLeakAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sluice serve as a process twice; not with -short")
	}
	secrets := everyFormSecrets
	dir := t.TempDir()
	rcv := newReceiver(t, false, everyFormEcho, secrets)
	def := strings.ReplaceAll(everyFormCase().def, phReceiver, rcv.srv.URL)

	first := startServe(t, dir, "json")
	c := &apiClient{t: t, base: first.url}
	c.login()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range secrets {
			if !yield(k) {
				return
			}
		}
	}) {
		c.call("POST", "/v1/organization/secrets", map[string]any{"secretName": name, "secretValue": secrets[name]}, 201)
	}
	c.call("POST", "/v1/workflows", json.RawMessage(def), 201)
	var started struct {
		WorkflowRun struct {
			Identifier string `json:"identifier"`
		} `json:"workflowRun"`
	}
	if err := json.Unmarshal(c.call("POST", "/v1/workflows/every-form/runs", map[string]any{"inputs": map[string]any{}}, 201), &started); err != nil {
		t.Fatal(err)
	}
	runID := started.WorkflowRun.Identifier
	before := c.waitRun(runID, "the node wait waits", func(r view.Run) bool { return waitingNodeRun(r, "wait") != "" })
	nodeRunID := waitingNodeRun(before, "wait")

	// The process dies without a chance to clean up.
	if err := first.stop(syscall.SIGKILL); err == nil {
		t.Fatalf("a SIGKILLed serve exited 0")
	}

	second := startServe(t, dir, "text")
	c.base = second.url
	c.login()
	forms := echoForms(secrets)
	labels := slices.Sorted(func(yield func(string) bool) {
		for k := range forms {
			if !yield(k) {
				return
			}
		}
	})
	var all []map[string]string
	for _, l := range labels {
		line := map[string]string{"logLevel": "INFO", "log": "echo " + forms[l] + " (" + l + ")"}
		all = append(all, line)
		c.call("POST", "/v1/workflows/nodes/runs/"+nodeRunID+"/logs", map[string]any{"logs": []any{line}}, 200)
	}
	c.call("PATCH", "/v1/workflows/nodes/runs/"+nodeRunID, map[string]any{"status": "IN_PROGRESS", "logs": all}, 200)
	output := map[string]any{}
	for _, l := range labels {
		output[l] = forms[l]
	}
	c.call("PATCH", "/v1/workflows/nodes/runs/"+nodeRunID, map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": output}, 200)
	after := c.waitRun(runID, "the run ends", func(r view.Run) bool { return r.Status == "COMPLETED" })
	if after.Result == nil || *after.Result != "SUCCESS" {
		t.Errorf("run result = %v, want SUCCESS", after.Result)
	}
	// Every read the API offers on the run, its workflow and the secrets.
	c.call("GET", "/v1/workflows/runs", nil, 200)
	c.call("GET", "/v1/workflows/runs?workflowIdentifiers=every-form", nil, 200)
	c.call("GET", "/v1/workflows/every-form", nil, 200)
	c.call("GET", "/v1/workflows", nil, 200)
	c.call("GET", "/v1/organization/secrets", nil, 200)
	c.call("GET", "/v1/organization/secrets/TOKEN", nil, 200)
	c.call("GET", "/v1/audit", nil, 200)

	// The echoes happened, before and after the restart, and were masked:
	// a vacuous pass (no echo, a failed node) proves nothing.
	var waitOut map[string]any
	for _, nr := range after.NodeRuns {
		if nr.Node.Identifier == "wait" && nr.Identifier == nodeRunID {
			if err := json.Unmarshal(nr.Output, &waitOut); err != nil {
				t.Fatalf("output of wait: %v (%s)", err, nr.Output)
			}
			if len(nr.NodeRunLogs) < len(labels) {
				t.Errorf("wait has %d log lines, want at least %d", len(nr.NodeRunLogs), len(labels))
			}
		}
	}
	if len(waitOut) < 100 {
		t.Fatalf("the completion after the restart stored %d forms, want every one (%d)", len(waitOut), len(labels))
	}
	for k, v := range waitOut {
		if !masked(v) {
			t.Errorf("completion after the restart: form %s stored unmasked: %q", k, v)
		}
	}
	var jsonOut struct {
		Response struct {
			Data map[string]any `json:"data"`
		} `json:"response"`
	}
	if err := json.Unmarshal(after.Variables.Outputs["json"], &jsonOut); err != nil || len(jsonOut.Response.Data) < 100 {
		t.Fatalf("the echo before the restart: %v, %d forms", err, len(jsonOut.Response.Data))
	}
	if err := second.stop(syscall.SIGTERM); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}

	hay := append([]haystack(nil), c.hay...)
	for i, p := range []*serveProc{first, second} {
		if !bytes.Contains(p.stderr.Bytes(), []byte("http request")) {
			t.Errorf("process %d wrote no access log: the check of its log proves nothing", i+1)
		}
		hay = append(hay, haystack{fmt.Sprintf("process log of serve #%d", i+1), p.stderr.Bytes()},
			haystack{fmt.Sprintf("stdout of serve #%d", i+1), p.stdout.Bytes()})
	}
	hay = append(hay, dbFiles(t, filepath.Join(dir, "sluice.db"), "after the second serve stopped")...)
	f := secretFinder(secrets)
	checkHay(t, f, hay)

	// The checker is not blind: the receiver saw every secret.
	r := &runOut{reqs: rcv.requests()}
	for name, v := range secrets {
		if !sawValue(r, v) {
			t.Errorf("the receiver never received %s: the case proves nothing", name)
		}
	}
}

// TestLeakCLIRun runs the every-form workflow's synchronous nodes with
// `sluice run`, in text and in JSON output, secrets stored with `sluice
// secrets set`: no form of a secret may show on stdout or stderr (the
// process log at debug level), nor in the database files.
func TestLeakCLIRun(t *testing.T) {
	secrets := everyFormSecrets
	dir := t.TempDir()
	// The last node fails: the receiver answers 502 with every form as
	// text, which its error message quotes.
	rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request, b []byte, s map[string]string) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			var text strings.Builder
			for _, f := range echoForms(s) {
				text.WriteString(f + "\n")
			}
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, text.String())
			return
		}
		everyFormEcho(w, r, b, s)
	}, secrets)
	body := `"body": {"t": "{{ .secrets.TOKEN }}", "s": "{{ .secrets.SPECIAL }}", "m": "{{ .secrets.MULTI }}", "u": "{{ .secrets.URLISH }}"}`
	def := strings.ReplaceAll(chain("every-form-cli",
		hook("json", `"url": "@RCV@/json", `+body, ""),
		hook("text", `"url": "@RCV@/text", `+body, ""),
		hook("fail", `"url": "@RCV@/fail", `+body, "")), phReceiver, rcv.srv.URL)
	defFile := filepath.Join(dir, "wf.json")
	if err := os.WriteFile(defFile, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	sluice := func(stdin string, args ...string) (stdout, stderr []byte, code int) {
		t.Helper()
		in, err := os.CreateTemp(dir, "stdin")
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if _, err := in.WriteString(stdin); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		var o, e bytes.Buffer
		env := func(k string) string {
			if k == "SLUICE_MASTER_KEY" {
				return ""
			}
			return os.Getenv(k)
		}
		code = cli.Main(context.Background(), append(args, "--data-dir", filepath.Join(dir, "data")), cli.IO{Stdin: in, Stdout: &o, Stderr: &e, Getenv: env})
		return o.Bytes(), e.Bytes(), code
	}
	for name, v := range secrets {
		if _, e, code := sluice(v, "secrets", "set", name); code != 0 {
			t.Fatalf("secrets set %s: exit %d: %s", name, code, e)
		}
	}
	var hay []haystack
	for _, output := range []string{"text", "json"} {
		o, e, code := sluice("", "run", "-f", defFile, "-o", output, "--log-level", "debug")
		if code != 1 {
			t.Fatalf("sluice run -o %s: exit %d, want 1 (the node fail fails)\nstdout: %s\nstderr: %s", output, code, o, e)
		}
		if !bytes.Contains(o, []byte("***")) {
			t.Errorf("sluice run -o %s shows no mask: the echo is not shown, the check proves nothing\n%s", output, o)
		}
		if output == "json" {
			var v view.Run
			if err := json.Unmarshal(o, &v); err != nil {
				t.Fatalf("sluice run -o json: %v", err)
			}
			if n := bytes.Count(v.Variables.Outputs["json"], []byte("***")); n < 100 {
				t.Errorf("sluice run -o json shows %d masked echoes of the json node, want every form", n)
			}
		}
		hay = append(hay, haystack{"stdout of sluice run -o " + output, o}, haystack{"stderr of sluice run -o " + output, e})
	}
	hay = append(hay, dbFiles(t, filepath.Join(dir, "data", "sluice.db"), "after sluice run")...)
	checkHay(t, secretFinder(secrets), hay)
	r := &runOut{reqs: rcv.requests()}
	for name, v := range secrets {
		if !sawValue(r, v) {
			t.Errorf("the receiver never received %s: the case proves nothing", name)
		}
	}
}

// cliSubsumed are the families of forms that TestLeakCLIRun cannot tell
// apart from another one, with the reason: `sluice run` shows run data only
// as JSON (the outputs in the text summary, the whole run with -o json), so
// a value's raw form shows there only inside its JSON-escaped form, which
// the json family masks; the raw family is proven by the other cases.
var cliSubsumed = map[string]string{"raw": "the CLI shows run data as JSON only"}

// TestProcessChecksSeeEveryForm proves that the process-level checks look
// for every form, not only the raw value: in the probe build (see
// TestDisablingAnyFormFails), with any one family of forms switched off in
// the redactor of every process (the served processes inherit the
// setting), TestLeakAcrossRestart and TestLeakCLIRun each fail with a LEAK;
// the families SubsumedFormFamilies names, and cliSubsumed for the CLI,
// must pass.
func TestProcessChecksSeeEveryForm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the suite and runs sluice serve twice per family of forms; not with -short")
	}
	bin := probeSuite(t)
	run := func(test, family string) (string, bool) {
		cmd := exec.Command(bin, "-test.run", "^"+test+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), redact.ProbeEnvName+"="+family)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err == nil
	}
	subsumed := redact.SubsumedFormFamilies()
	for _, test := range []string{"TestLeakAcrossRestart", "TestLeakCLIRun"} {
		if out, ok := run(test, ""); !ok {
			t.Fatalf("%s fails in the probe build with every family on:\n%s", test, out)
		}
		for _, fam := range redact.FormFamilies() {
			t.Run(test+"/"+fam, func(t *testing.T) {
				// A probe process of its own (its data dirs in its own
				// temp dirs, loopback ports chosen by the kernel): the
				// families run side by side (up to -test.parallel).
				t.Parallel()
				out, ok := run(test, fam)
				quiet := slices.Contains(subsumed, fam) || (test == "TestLeakCLIRun" && cliSubsumed[fam] != "")
				switch {
				case quiet && !ok:
					t.Errorf("family %s is said to be subsumed here, yet switching it off fails %s:\n%s", fam, test, out)
				case !quiet && ok:
					t.Errorf("with family %s switched off %s passes: it does not check that family", fam, test)
				case !quiet && !strings.Contains(out, "LEAK"):
					t.Errorf("with family %s switched off %s fails, but not with a LEAK:\n%s", fam, test, out)
				}
			})
		}
	}
}
