package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestRunsRespond runs `sluice runs respond` against a loopback fake of the
// API's responses endpoint (written from docs/api.md and the OpenAPI
// document; the real endpoint is tested in internal/api).
func TestRunsRespond(t *testing.T) {
	t.Parallel()
	var got map[string]any
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path != "/v1/workflows/nodes/runs/wfnr_1/responses" || r.Method != http.MethodPost:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"ok":false,"error":"not_found","message":"no such route"}`)
		case got["button"] == "maybe":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_inputs","message":"bad","details":[{"path":"button","message":"must be one of the node's buttons"}]}`)
		case got["button"] == "again":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"ok":false,"error":"conflict","message":"you have already responded"}`)
		default:
			_, _ = io.WriteString(w, `{"ok":true,"workflowNodeRun":{"identifier":"wfnr_1","status":"COMPLETED","result":"SUCCESS"}}`)
		}
	}))
	defer srv.Close()
	env := map[string]string{"SLUICE_SERVER": srv.URL, "SLUICE_TOKEN": "tok"}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, IO{Stdin: os.Stdin, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
		return code, out.String(), errb.String()
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		out     string
		stderr  string
		inputs  string
		noCheck bool
	}{
		{"approve with inputs", []string{"runs", "respond", "wfnr_1", "--button", "approve", "--input", "reason=ship it", "--input", "count=2"}, 0, "COMPLETED", "", `{"count":2,"reason":"ship it"}`, false},
		{"invalid", []string{"runs", "respond", "wfnr_1", "--button", "maybe"}, ExitInvalid, "", "button: must be one of", "", true},
		{"conflict", []string{"runs", "respond", "wfnr_1", "--button", "again"}, ExitFailed, "", "already responded", "", true},
		{"no button", []string{"runs", "respond", "wfnr_1"}, ExitInvalid, "", "--button", "", true},
		{"bad input flag", []string{"runs", "respond", "wfnr_1", "--button", "x", "--input", "novalue"}, ExitInvalid, "", "KEY=VALUE", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errb, tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errb, tc.code, tc.out, tc.stderr)
			}
			if tc.noCheck {
				return
			}
			if b, _ := json.Marshal(got["inputs"]); string(b) != tc.inputs || auth != "Bearer tok" {
				t.Errorf("sent inputs %s with %q", b, auth)
			}
		})
	}
	env = map[string]string{}
	if code, _, errb := run("runs", "respond", "wfnr_1", "--button", "approve"); code != ExitInvalid || !strings.Contains(errb, "SLUICE_SERVER") {
		t.Errorf("without a server: exit %d, %q", code, errb)
	}
}
