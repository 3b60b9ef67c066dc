package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const examples = "../../examples/port"

// receiver records what workflows send it. /fail answers 500.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

type received struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		r.mu.Lock()
		r.reqs = append(r.reqs, received{Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if req.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"error":"upstream down"}`)
			return
		}
		// Echo the auth header back: the stored run must mask it.
		json.NewEncoder(w).Encode(map[string]any{"request_id": "req-7", "auth": req.Header.Get("Authorization"), "key": req.Header.Get("X-Api-Key")})
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) byPath(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, q := range r.reqs {
		if q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
}

// sluice runs the command line in-process.
func sluice(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, stdin)
	in.Seek(0, io.SeekStart)
	defer in.Close()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, IO{Stdin: in, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	return v
}

// outputs returns variables.outputs of a run object.
func outputs(v map[string]any) map[string]any {
	vars, _ := v["variables"].(map[string]any)
	outs, _ := vars["outputs"].(map[string]any)
	return outs
}

func TestExamplesRun(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	host := strings.TrimPrefix(rcv.URL, "http://")
	const token = "tok-9f8e7d6c5b4a"
	const apiKey = "key-aa11bb22cc33"

	tests := []struct {
		name    string
		file    string
		secrets string
		args    []string
		code    int
		check   func(t *testing.T, v map[string]any)
	}{
		{
			name:    "condition-branches production fails and continues to the report",
			file:    "condition-branches.json",
			secrets: fmt.Sprintf("PROD_DEPLOY_URL=%s/fail\nSTAGING_DEPLOY_URL=%s/staging\nREPORT_URL=%s/report-prod\n", rcv.URL, rcv.URL, rcv.URL),
			args:    []string{"--input", "environment=production"},
			code:    0,
			check: func(t *testing.T, v map[string]any) {
				reports := rcv.byPath("/report-prod")
				if len(reports) != 1 {
					t.Fatalf("report calls = %d", len(reports))
				}
				if msg, _ := reports[0].Body["prodError"].(string); !strings.Contains(msg, "502") {
					t.Errorf("report prodError = %v", reports[0].Body["prodError"])
				}
				if reports[0].Body["stagingStatus"] != nil {
					t.Errorf("stagingStatus = %v, want null", reports[0].Body["stagingStatus"])
				}
				if _, ok := outputs(v)["deploy_staging"]; ok {
					t.Error("the staging branch ran")
				}
			},
		},
		{
			name:    "condition-branches staging takes the fallback",
			file:    "condition-branches.json",
			secrets: fmt.Sprintf("PROD_DEPLOY_URL=%s/prod\nSTAGING_DEPLOY_URL=%s/staging\nREPORT_URL=%s/report-staging\n", rcv.URL, rcv.URL, rcv.URL),
			args:    []string{"--input", "environment=staging"},
			code:    0,
			check: func(t *testing.T, v map[string]any) {
				reports := rcv.byPath("/report-staging")
				if len(reports) != 1 || reports[0].Body["stagingStatus"] != float64(200) || reports[0].Body["prodError"] != nil {
					t.Fatalf("report = %+v", reports)
				}
				if len(rcv.byPath("/prod")) != 0 {
					t.Error("the production branch ran")
				}
			},
		},
		{
			name:    "webhook-bearer-secret sends the secrets and masks the echo",
			file:    "webhook-bearer-secret.json",
			secrets: fmt.Sprintf("HOOK_HOST=%s\nhook-id=hook-1234\nMY_API_TOKEN=%s\n", host, token),
			args:    []string{"--input", "message=deployed v2"},
			code:    0,
			check: func(t *testing.T, v map[string]any) {
				got := rcv.byPath("/hooks/hook-1234")
				if len(got) != 1 {
					t.Fatalf("hook calls = %d", len(got))
				}
				if got[0].Header.Get("Authorization") != "Bearer "+token {
					t.Errorf("Authorization = %q", got[0].Header.Get("Authorization"))
				}
				if got[0].Body["message"] != "deployed v2" || got[0].Body["service"] != "unknown" || got[0].Body["run"] != v["identifier"] {
					t.Errorf("body = %v", got[0].Body)
				}
			},
		},
		{
			name:    "webhook-then-kafka replaces the output with variables, then fails on KAFKA",
			file:    "webhook-then-kafka.json",
			secrets: fmt.Sprintf("REGISTRY_URL=%s\nREGISTRY_KEY=%s\nSERVICE_TOKEN=svc-token-value\n", rcv.URL, apiKey),
			args:    []string{"--input", "service=checkout"},
			code:    1,
			check: func(t *testing.T, v map[string]any) {
				got := rcv.byPath("/services")
				if len(got) != 1 || got[0].Body["name"] != "checkout" || got[0].Body["replicas"] != float64(1) {
					t.Fatalf("register calls = %+v", got)
				}
				reg, _ := outputs(v)["register"].(map[string]any)
				if reg["request_id"] != "req-7" || reg["status"] != float64(200) || len(reg) != 2 {
					t.Errorf("register output = %v", reg)
				}
				pub, _ := outputs(v)["publish"].(map[string]any)
				msg, _ := pub["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, "KAFKA") {
					t.Errorf("publish output = %v", pub)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secrets := writeFile(t, "secrets.env", tc.secrets)
			args := append([]string{"run", "-f", filepath.Join(examples, tc.file), "--secret-file", secrets, "--data-dir", dataDir(t), "--output", "json"}, tc.args...)
			r := sluice(t, "", args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s\nstdout: %s", r.code, tc.code, r.stderr, r.stdout)
			}
			v := runJSON(t, r)
			for _, leak := range []string{token, apiKey, "svc-token-value", "hook-1234"} {
				if strings.Contains(r.stdout, leak) || strings.Contains(r.stderr, leak) {
					t.Errorf("output holds secret %q", leak)
				}
			}
			tc.check(t, v)
		})
	}
}

func TestRunTextOutput(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	secrets := writeFile(t, "s.env", fmt.Sprintf("PROD_DEPLOY_URL=%s/p\nSTAGING_DEPLOY_URL=%s/s\nREPORT_URL=%s/r\n", rcv.URL, rcv.URL, rcv.URL))
	r := sluice(t, "", "run", "-f", filepath.Join(examples, "condition-branches.json"), "--secret-file", secrets, "--data-dir", dataDir(t), "--input", "environment=staging")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"▶ route", "✓ route", "✓ deploy_staging", "COMPLETED SUCCESS", "outputs:", "report: {"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	good := filepath.Join(examples, "condition-branches.json")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"validate a good file", []string{"validate", "-f", good}, 0, ""},
		{"validate the invalid example", []string{"validate", "-f", filepath.Join(examples, "invalid-secret-in-variables.json")}, 2, "nodes[1].variables.token: "},
		{"validate a missing file", []string{"validate", "-f", "nope.json"}, 2, "-f"},
		{"validate without -f", []string{"validate"}, 2, "file"},
		{"unknown flag", []string{"run", "--bogus"}, 2, "bogus"},
		{"bad enum input", []string{"run", "-f", good, "--input", "environment=qa"}, 2, "environment"},
		{"missing required input", []string{"run", "-f", good}, 2, "environment"},
		{"bad --input syntax", []string{"run", "-f", good, "--input", "novalue"}, 2, "KEY=VALUE"},
		{"bad --output", []string{"run", "-f", good, "--output", "yaml"}, 2, "--output"},
		{"bad definition", []string{"run", "-f", writeFile(t, "bad.json", `{"identifier": "x", "nodes": [], "connections": [], "extra": 1}`)}, 2, "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--data-dir", t.TempDir())
			r := sluice(t, "", args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
		})
	}
}

func TestInputsFileAndFlags(t *testing.T) {
	t.Parallel()
	inputs, err := parseInputs(writeFile(t, "in.json", `{"a": 1, "b": "x"}`), []string{"b=2", "c=true", "d=hello world", "e={\"k\":[1]}", "f=1 2"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(inputs)
	want := `{"a":1,"b":2,"c":true,"d":"hello world","e":{"k":[1]},"f":"1 2"}`
	if string(b) != want {
		t.Errorf("inputs = %s, want %s", b, want)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"production", "staging"} {
		r := sluice(t, "", "demo", "--data-dir", t.TempDir(), "--environment", env)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", env, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, demoToken) {
			t.Errorf("demo output shows the secret")
		}
		if !strings.Contains(r.stdout, "COMPLETED SUCCESS") {
			t.Errorf("demo output:\n%s", r.stdout)
		}
	}
}

func TestSecretsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const value = "very-secret-value-123"
	r := sluice(t, value+"\n", "secrets", "set", "API_TOKEN", "--description", "for the API", "--data-dir", dir)
	if r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	if r = sluice(t, "short\n", "secrets", "set", "bad name", "--data-dir", dir); r.code != 2 {
		t.Errorf("bad name: exit %d: %s", r.code, r.stderr)
	}
	if r = sluice(t, "abc", "secrets", "set", "TINY", "--data-dir", dir); r.code != 2 {
		t.Errorf("3-byte value: exit %d: %s", r.code, r.stderr)
	}
	r = sluice(t, "", "secrets", "list", "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "API_TOKEN") || !strings.Contains(r.stdout, "for the API") || strings.Contains(r.stdout, value) {
		t.Errorf("list: exit %d\n%s", r.code, r.stdout)
	}
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v %v", fi, err)
	}
	// A workflow run resolves the stored secret.
	rcv := newReceiver(t)
	def := writeFile(t, "wf.json", `{"identifier": "uses-stored", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/stored", "headers": {"Authorization": "{{ .secrets.API_TOKEN }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`)
	r = sluice(t, "", "run", "-f", def, "--data-dir", dir, "--output", "json")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if got := rcv.byPath("/stored"); len(got) != 1 || got[0].Header.Get("Authorization") != value {
		t.Errorf("receiver got %+v", got)
	}
	if strings.Contains(r.stdout, value) {
		t.Error("run JSON holds the stored secret")
	}
	if r = sluice(t, "", "keys", "rotate", "--data-dir", dir); r.code != 0 {
		t.Fatalf("rotate: exit %d: %s", r.code, r.stderr)
	}
	if r = sluice(t, "", "run", "-f", def, "--data-dir", dir, "--output", "json"); r.code != 0 {
		t.Fatalf("run after rotate: exit %d: %s", r.code, r.stderr)
	}
	if r = sluice(t, "", "secrets", "delete", "API_TOKEN", "--data-dir", dir); r.code != 0 {
		t.Fatalf("delete: exit %d: %s", r.code, r.stderr)
	}
	// A deleted secret stops the run before it starts, naming the field.
	r = sluice(t, "", "run", "-f", def, "--data-dir", dir, "--output", "json")
	if r.code != 2 || !strings.Contains(r.stderr, "nodes[1].config.headers.Authorization: secret API_TOKEN is not defined") || r.stdout != "" {
		t.Errorf("run after delete: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func TestRunWaitsOnAsyncNode(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	def := writeFile(t, "async.json", `{"identifier": "async", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "build", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/build", "synchronized": false}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "build"}]}`)
	r := sluice(t, "", "run", "-f", def, "--data-dir", dataDir(t))
	if r.code != ExitWaiting {
		t.Fatalf("exit %d, want %d\n%s\n%s", r.code, ExitWaiting, r.stdout, r.stderr)
	}
	got := rcv.byPath("/build")
	if len(got) != 1 {
		t.Fatalf("receiver calls = %d", len(got))
	}
	nodeRun := got[0].Header.Get("X-Sluice-Node-Run")
	if !strings.Contains(r.stderr, "PATCH /v1/workflows/nodes/runs/"+nodeRun) {
		t.Errorf("stderr does not say how to complete %s:\n%s", nodeRun, r.stderr)
	}
}

func TestLostMasterKeyIsNotReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := sluice(t, "a-secret-value\n", "secrets", "set", "TOKEN", "--data-dir", dir); r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	if err := os.Rename(filepath.Join(dir, "master.key"), filepath.Join(dir, "moved.key")); err != nil {
		t.Fatal(err)
	}
	r := sluice(t, "another-value\n", "secrets", "set", "OTHER", "--data-dir", dir)
	if r.code == 0 || !strings.Contains(r.stderr, "no master key") {
		t.Errorf("set without the key: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); !os.IsNotExist(err) {
		t.Errorf("a new master key was generated over a store that holds secrets (%v)", err)
	}
}
