package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// `sluice run` with invalid inputs exits 2 and must keep the store as it was.
func TestRejectedRunStoresNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	def := `{"identifier": "inv", "nodes": [{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER",
		"userInputs": {"properties": {"count": {"type": "number"}}}}}], "connections": []}`
	f := filepath.Join(dir, "wf.json")
	os.WriteFile(f, []byte(def), 0o600)
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"run", "-f", f, "--input", "count=three", "--data-dir", filepath.Join(dir, "data")},
		IO{Stdin: os.Stdin, Stdout: &out, Stderr: &errb})
	if code != ExitInvalid {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); os.IsNotExist(err) {
		return // nothing at all was written
	}
	st, err := sqlitetest.Open(context.Background(), filepath.Join(dir, "data", "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if wfs, _ := st.ListWorkflows(context.Background()); len(wfs) != 0 {
		t.Errorf("a rejected run stored workflow %s version %d (stderr: %s)", wfs[0].Identifier, wfs[0].Version, strings.TrimSpace(errb.String()))
	}
}
