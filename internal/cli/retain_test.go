package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// TestRetentionSettings checks --retain-runs and --retain-audit as flags,
// SLUICE_* variables and config file keys (30d as well as Go durations),
// as config show lists them, and that a bad value is named with where it
// came from.
func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	yamlFile := writeFile(t, "sluice.yaml", "retain-runs: 30d\nretain-audit: 2160h\n")
	tomlFile := writeFile(t, "sluice.toml", "retain-runs = \"7d\"\n")
	row := func(out, name, value, source string) bool {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(value) + ` +` + regexp.QuoteMeta(source) + `$`).MatchString(out)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want [][3]string
	}{
		{"defaults keep forever", nil, nil, [][3]string{{"retain-runs", "0", "default"}, {"retain-audit", "0", "default"}}},
		{"yaml", nil, []string{"--config", yamlFile}, [][3]string{{"retain-runs", "30d", yamlFile + ": retain-runs"}, {"retain-audit", "90d", yamlFile + ": retain-audit"}}},
		{"toml", nil, []string{"--config", tomlFile}, [][3]string{{"retain-runs", "7d", tomlFile + ": retain-runs"}}},
		{"environment", map[string]string{"SLUICE_RETAIN_RUNS": "36h", "SLUICE_RETAIN_AUDIT": "1d"}, []string{"--config", yamlFile},
			[][3]string{{"retain-runs", "36h0m0s", "SLUICE_RETAIN_RUNS"}, {"retain-audit", "1d", "SLUICE_RETAIN_AUDIT"}}},
		{"flag", map[string]string{"SLUICE_RETAIN_RUNS": "36h"}, []string{"--retain-runs", "14d"}, [][3]string{{"retain-runs", "14d", "flag --retain-runs"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", append([]string{"config", "show"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !row(r.stdout, w[0], w[1], w[2]) {
					t.Errorf("no row %q in\n%s", w, r.stdout)
				}
			}
		})
	}

	bad := []struct {
		name   string
		env    map[string]string
		args   []string
		stderr string
	}{
		{"bad flag", nil, []string{"--retain-runs", "30x"}, `"--retain-runs"`},
		{"too short", nil, []string{"--retain-audit", "10s"}, "shorter than 1m0s"},
		{"negative", nil, []string{"--retain-runs", "-1d"}, "must not be negative"},
		{"bad variable", map[string]string{"SLUICE_RETAIN_RUNS": "a month"}, nil, `SLUICE_RETAIN_RUNS: "a month" is not a valid period`},
		{"bad file value", nil, []string{"--config", writeFile(t, "bad.yaml", "retain-audit: forever\n")}, `: retain-audit: "forever" is not a valid period`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", append([]string{"config", "show"}, tc.args...)...)
			if r.code != ExitInvalid || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, ExitInvalid, tc.stderr)
			}
		})
	}
}

// FuzzReadConfigFile feeds arbitrary bytes to the config file loader, as
// YAML and as TOML: it returns settings or an error naming the file, and
// never panics.
func FuzzReadConfigFile(f *testing.F) {
	for _, s := range []string{
		"addr: 0.0.0.0:8080\nmax-running: 50\nkafka:\n  brokers: [a:9092, b:9092]\n",
		"retain-runs: 30d\nretain-audit: 2160h\n",
		"addr = \"0.0.0.0:9090\"\n[kafka]\nbrokers = [\"a:9092\"]\n",
		"a: &x [*x]\n", "- 1\n- 2\n", "{", "[x]\ny = 1979-05-27T07:32:00Z\n", "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string, asTOML bool) {
		name := filepath.Join(dir, "c.yaml")
		if asTOML {
			name = filepath.Join(dir, "c.toml")
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readConfigFile(name)
		if err != nil {
			if !strings.Contains(err.Error(), "--config") {
				t.Fatalf("error does not name --config: %v", err)
			}
			return
		}
		if strings.TrimSpace(content) == "" && len(got) != 0 {
			t.Fatalf("an empty file gave settings %v", got)
		}
	})
}

// TestServeDeletesOldRuns seeds a data dir with a run completed two hours
// ago, a recent one and an old one left waiting (which serve resumes; the
// store's conformance suite checks that a run in progress is never
// deleted), starts a real serve with --retain-runs 1h, and waits for the
// old completed run to be gone from the API while the others stay;
// /metrics counts the deletion.
func TestServeDeletesOldRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlitetest.Open(t.Context(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, r := range []struct {
		id       string
		at       time.Time
		complete bool
	}{{"wfr_old", old, true}, {"wfr_recent", time.Now().Add(-time.Minute), true}, {"wfr_waiting", old.Add(-time.Hour), false}} {
		run := store.Run{Identifier: r.id, WorkflowID: "wf", WorkflowVersion: 1, Status: store.StatusInProgress, CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: r.at, UpdatedAt: r.at}
		nr := store.NodeRun{Identifier: r.id + "_0", RunID: r.id, NodeID: "trigger", Status: store.StatusInProgress, Waiting: true, CreatedAt: r.at, UpdatedAt: r.at}
		if err := st.CreateRun(t.Context(), run, nr, nil); err != nil {
			t.Fatal(err)
		}
		tr := store.Transition{RunID: r.id, Wait: nr.Identifier}
		if r.complete {
			tr = store.Transition{RunID: r.id, Complete: &store.NodeRunCompletion{NodeRunID: nr.Identifier, Result: store.ResultSuccess, CompletedAt: r.at},
				Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: r.at}}
		}
		if err := st.Apply(t.Context(), tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, "--data-dir", dir, "--retain-runs", "1h")
	id, secret := credentials(t, srv.banner)
	tok, _ := srv.token(t, id, secret)
	deadline := time.Now().Add(60 * time.Second)
	for srv.status(t, "/v1/workflows/runs/wfr_old", tok) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatalf("wfr_old (completed 2h ago) is still there after 60s\n%s", srv.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, keep := range []string{"wfr_recent", "wfr_waiting"} {
		if code := srv.status(t, "/v1/workflows/runs/"+keep, tok); code != http.StatusOK {
			t.Errorf("%s: %d, want it kept", keep, code)
		}
	}
	_, body := srv.send(t, http.MethodGet, "/metrics", "", nil)
	if !strings.Contains(string(body), `sluice_retention_deleted_total{kind="runs"} 1`) {
		t.Errorf("/metrics does not count the deleted run:\n%s", grepLines(string(body), "sluice_retention"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
