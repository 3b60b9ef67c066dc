package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupFileRefusals: BackupFile copies only a database file that is
// there, and writes nothing otherwise.
func TestBackupFileRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"empty path", "", "empty path"},
		{"missing", filepath.Join(dir, "missing.db"), "no such file"},
		{"directory", dir, "not a file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := filepath.Join(t.TempDir(), "copy.db")
			err := BackupFile(context.Background(), tc.path, to)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("BackupFile(%q) = %v, want an error with %q", tc.path, err, tc.want)
			}
			if _, err := os.Stat(to); !os.IsNotExist(err) {
				t.Errorf("a refused backup wrote %s", to)
			}
		})
	}
}
