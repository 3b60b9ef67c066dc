package cli

import (
	"strings"
	"testing"
)

// TestWorkerFlags checks that worker refuses bad values naming the flag,
// before it opens any store.
func TestWorkerFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no database", []string{"worker"}, "--database-url"},
		{"bad trace endpoint", []string{"worker", "--database-url", "postgres://u@127.0.0.1:1/db", "--otlp-endpoint", "ftp://collector"}, "--otlp-endpoint"},
		{"short lease", []string{"worker", "--database-url", "postgres://u@127.0.0.1:1/db", "--lease-ttl", "1s"}, "--lease-ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, map[string]string{"SLUICE_DATABASE_URL": ""}, "", append(tc.args, "--data-dir", t.TempDir())...)
			if r.code != ExitInvalid || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d naming %s", r.code, r.stderr, ExitInvalid, tc.stderr)
			}
		})
	}
}
