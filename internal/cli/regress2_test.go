package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// With the master key lost for good, the secrets sealed under it can never be
// read again; deleting them needs no key, yet the refusal blocks even that,
// and `sluice serve` with them: the store cannot be recovered from the CLI.
func TestLostKeyStillLetsSecretsBeDeleted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := sluice(t, "a-secret-value\n", "secrets", "set", "TOKEN", "--data-dir", dir); r.code != 0 {
		t.Fatalf("set: exit %d: %s", r.code, r.stderr)
	}
	if err := os.Remove(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	r := sluice(t, "", "secrets", "delete", "TOKEN", "--data-dir", dir)
	if r.code != 0 {
		t.Errorf("delete of an unrecoverable secret refused: exit %d: %s", r.code, r.stderr)
	}
}
