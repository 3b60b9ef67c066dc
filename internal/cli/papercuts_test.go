package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// A data dir that cannot be written is named, with the reason, before
// SQLite says "unable to open database file (14)"; no command prints
// anything else first.
func TestUnusableDataDir(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "regular-file", "x")
	readOnly := filepath.Join(t.TempDir(), "read-only")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dir    string
		reason string
		root   bool // whether the case holds for root too
	}{
		// Root may write anywhere, but not under a regular file.
		{"under a regular file", filepath.Join(file, "data"), "not a directory", true},
		{"a regular file", file, "not a directory", true},
		{"a directory without write permission", readOnly, "permission denied", false},
		{"under a directory without write permission", filepath.Join(readOnly, "data"), "permission denied", false},
	}
	commands := [][]string{
		{"secrets", "list"},
		{"clients", "list"},
		{"demo"},
		{"serve", "--addr", "127.0.0.1:0"},
		{"run", "-f", filepath.Join(examples, "condition-branches.json"), "--input", "environment=staging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.root && os.Geteuid() == 0 {
				t.Skip("root writes into a directory whatever its permissions, so this case cannot fail as root (CI runs tests as root)")
			}
			for _, args := range commands {
				r := sluice(t, "", append(args, "--data-dir", tc.dir)...)
				want := fmt.Sprintf("sluice: data dir %s: %s\n", tc.dir, tc.reason)
				if r.code == 0 || r.stderr != want || r.stdout != "" {
					t.Errorf("%v: exit %d\nstdout: %q\nstderr: %q, want %q", args, r.code, r.stdout, r.stderr, want)
				}
			}
		})
	}
}

func TestNewcomerErrors(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	stringInput := writeFile(t, "version.json", `{"identifier": "release", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"version": {"type": "string"}, "count": {"type": "number"}}}}}],
		"connections": []}`)
	someSecrets := writeFile(t, "some.env", "STAGING_DEPLOY_URL="+rcv.URL+"/staging\n")
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr []string // lines that stderr must hold
		not    []string // texts it must not
	}{
		{
			name:   "a number-looking string input",
			args:   []string{"run", "-f", stringInput, "--input", "version=1.10"},
			code:   2,
			stderr: []string{`inputs.version: must be a string; to pass a string that looks like a number, quote it as JSON: --input 'version="1.10"'`},
		},
		{
			name:   "a true-looking string input",
			args:   []string{"run", "-f", stringInput, "--input", "version=true"},
			code:   2,
			stderr: []string{`inputs.version: must be a string; to pass a string that looks like JSON, quote it as JSON: --input 'version="true"'`},
		},
		{
			name:   "a bad number input gets no quoting hint",
			args:   []string{"run", "-f", stringInput, "--input", "version=1.10", "--input", "count=many"},
			code:   2,
			stderr: []string{"inputs.count: must be a number"},
			not:    []string{"--input 'count"},
		},
		{
			name: "a quoted number-looking string runs",
			args: []string{"run", "-f", stringInput, "--input", `version="1.10"`},
			code: 0,
			not:  []string{"must be a string"},
		},
		{
			name:   "a secret value as an argument",
			args:   []string{"secrets", "set", "FOO", "bar"},
			code:   2,
			stderr: []string{`sluice: the value is read from standard input, not from arguments: printf '%s' "$VALUE" | sluice secrets set FOO`},
			not:    []string{"bar"},
		},
		{
			name: "every undefined secret before the run starts",
			args: []string{"run", "-f", filepath.Join(examples, "condition-branches.json"), "--input", "environment=staging", "--secret-file", someSecrets},
			code: 2,
			stderr: []string{
				"nodes[2].config.url: secret PROD_DEPLOY_URL is not defined (neither stored nor in --secret-file)",
				"nodes[4].config.url: secret REPORT_URL is not defined (neither stored nor in --secret-file)",
			},
			not: []string{"STAGING_DEPLOY_URL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := sluice(t, tc.stdin, append(tc.args, "--data-dir", dir)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			lines := strings.Split(r.stderr, "\n")
			for _, want := range tc.stderr {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("stderr lacks the line %q:\n%s", want, r.stderr)
				}
			}
			for _, not := range tc.not {
				if strings.Contains(r.stderr, not) {
					t.Errorf("stderr holds %q:\n%s", not, r.stderr)
				}
			}
		})
	}
	// The run with undefined secrets did not start: nothing was sent.
	if got := rcv.byPath("/staging"); len(got) != 0 {
		t.Errorf("the receiver got %d request(s) from a run that should not have started", len(got))
	}
}

// A run with undefined secrets stores no run.
func TestUndefinedSecretsStoreNoRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := sluice(t, "", "run", "-f", filepath.Join(examples, "condition-branches.json"), "--input", "environment=staging", "--data-dir", dir)
	if r.code != ExitInvalid {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st, err := sqlitetest.Open(t.Context(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if runs, n, err := st.ListRuns(t.Context(), store.RunFilter{}); err != nil || n != 0 {
		t.Errorf("runs stored: %d (%v) %+v", n, err, runs)
	}
}

func TestDemoBannerOnlyAfterSetup(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(writeFile(t, "file", "x"), "data")
	r := sluice(t, "", "demo", "--data-dir", dir)
	if r.code == 0 || r.stdout != "" {
		t.Errorf("demo on a bad data dir: exit %d, stdout %q; want a failure and no banner", r.code, r.stdout)
	}
}

// Process logs: --log-format text|json (JSON when stderr is not a
// terminal), --log-level, and durations in milliseconds.
func TestProcessLogs(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	def := writeFile(t, "wf.json", `{"identifier": "logs", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "call", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/logs"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"}]}`)
	tests := []struct {
		name  string
		args  []string
		code  int
		check func(t *testing.T, stderr string)
	}{
		{"json by default off a terminal", []string{"--log-level", "debug"}, 0, func(t *testing.T, stderr string) {
			checkDurationsInMS(t, stderr, "node finished")
		}},
		{"json", []string{"--log-level", "debug", "--log-format", "json"}, 0, func(t *testing.T, stderr string) {
			checkDurationsInMS(t, stderr, "node finished")
		}},
		{"text", []string{"--log-level", "debug", "--log-format", "text"}, 0, func(t *testing.T, stderr string) {
			if !strings.Contains(stderr, `level=DEBUG msg="node finished"`) || !strings.Contains(stderr, " duration_ms=") {
				t.Errorf("text log:\n%s", stderr)
			}
			if json.Valid([]byte(strings.Split(stderr, "\n")[0])) {
				t.Errorf("text log is JSON:\n%s", stderr)
			}
		}},
		{"quiet at the default level", nil, 0, func(t *testing.T, stderr string) {
			if stderr != "" {
				t.Errorf("stderr at the default level:\n%s", stderr)
			}
		}},
		{"bad format", []string{"--log-format", "xml"}, 2, func(t *testing.T, stderr string) {
			if !strings.Contains(stderr, "--log-format: must be text or json") {
				t.Errorf("stderr: %s", stderr)
			}
		}},
		{"bad level", []string{"--log-level", "loud"}, 2, func(t *testing.T, stderr string) {
			if !strings.Contains(stderr, "--log-level") {
				t.Errorf("stderr: %s", stderr)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append([]string{"run", "-f", def, "--output", "json", "--data-dir", dataDir(t)}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.stderr)
			}
			tc.check(t, r.stderr)
		})
	}
}
