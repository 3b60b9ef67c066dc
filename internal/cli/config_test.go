package cli

import (
	"regexp"
	"strings"
	"testing"
)

// TestConfigPrecedence checks flag > SLUICE_* > config file > default for
// serve's settings, in YAML and TOML, and that every bad value is named
// with its source.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	yamlFile := writeFile(t, "sluice.yaml", "addr: 0.0.0.0:8080\nmax-running: 50\ntoken-ttl: 30m\nkafka:\n  brokers: [a:9092, b:9092]\ndatabase-url: postgres://u:pw@h/db\n")
	tomlFile := writeFile(t, "sluice.toml", "addr = \"0.0.0.0:9090\"\nmax-running = 40\n")
	row := func(out, name, value, source string) bool {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(value) + ` +` + regexp.QuoteMeta(source) + `$`).MatchString(out)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want [][3]string // setting, value, source
	}{
		{"defaults", nil, nil, [][3]string{{"addr", "127.0.0.1:7070", "default"}, {"max-running", "256", "default"}, {"database-url", "(unset)", "default"}}},
		{"file", nil, []string{"--config", yamlFile}, [][3]string{
			{"addr", "0.0.0.0:8080", yamlFile + ": addr"}, {"max-running", "50", yamlFile + ": max-running"},
			{"token-ttl", "30m0s", yamlFile + ": token-ttl"}, {"kafka-brokers", "[a:9092,b:9092]", yamlFile + ": kafka-brokers"},
			{"database-url", "(set)", yamlFile + ": database-url"}}},
		{"toml from SLUICE_CONFIG", map[string]string{"SLUICE_CONFIG": tomlFile}, nil, [][3]string{{"addr", "0.0.0.0:9090", tomlFile + ": addr"}}},
		{"environment over file", map[string]string{"SLUICE_MAX_RUNNING": "7"}, []string{"--config", yamlFile}, [][3]string{{"max-running", "7", "SLUICE_MAX_RUNNING"}, {"addr", "0.0.0.0:8080", yamlFile + ": addr"}}},
		{"flag over environment", map[string]string{"SLUICE_MAX_RUNNING": "7", "SLUICE_ADDR": ":1"}, []string{"--config", yamlFile, "--max-running", "3"}, [][3]string{{"max-running", "3", "flag --max-running"}, {"addr", ":1", "SLUICE_ADDR"}}},
		{"a global flag", map[string]string{"SLUICE_DATA_DIR": "/srv/sluice"}, nil, [][3]string{{"data-dir", "/srv/sluice", "SLUICE_DATA_DIR"}}},
		{"secrets only as set", map[string]string{"SLUICE_MASTER_KEY": "c2VjcmV0", "SLUICE_DATABASE_URL": "postgres://u:hunter2@h/db"}, nil, [][3]string{{"SLUICE_MASTER_KEY", "(set)", "environment only"}, {"database-url", "(set)", "SLUICE_DATABASE_URL"}}},
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
			if strings.Contains(r.stdout, "hunter2") || strings.Contains(r.stdout, ":pw@") || strings.Contains(r.stdout, "c2VjcmV0") {
				t.Errorf("a secret is shown:\n%s", r.stdout)
			}
		})
	}

	bad := []struct {
		name   string
		env    map[string]string
		file   string
		stderr string
	}{
		{"bad variable", map[string]string{"SLUICE_MAX_RUNNING": "many"}, "", `SLUICE_MAX_RUNNING: "many" is not a valid int`},
		{"bad file value", nil, "max-running: many\n", `: max-running: "many" is not a valid int`},
		{"unknown key", nil, "max-runing: 3\n", "unknown setting(s) max-runing"},
		{"not YAML", nil, "addr: [\n", "--config"},
		{"bad value checked by serve", map[string]string{"SLUICE_LITERAL_CREDENTIALS": "maybe"}, "", "--literal-credentials"},
		{"session lifetime too short", map[string]string{"SLUICE_UI_SESSION_TTL": "30s"}, "", "--ui-session-ttl: must be at least 1m"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, "bad.yaml", tc.file))
			}
			r := sluiceEnv(t, tc.env, "", args...)
			if r.code != ExitInvalid || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, ExitInvalid, tc.stderr)
			}
		})
	}
}
