package workflow

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// sharedExamplesDir is the project's shared examples, beside the
// repository's checkout (../shared/examples from its root), where they are
// maintained; examples/port holds copies, so that a clone tests on its own.
const sharedExamplesDir = "../../../shared/examples"

// TestPortExamplesMatchShared keeps the copies in examples/port equal to
// the shared examples they come from, when those are checked out beside the
// repository (as in the project's CI): a copy that drifted would test
// something else than the examples the contract names.
func TestPortExamplesMatchShared(t *testing.T) {
	entries, err := os.ReadDir(sharedExamplesDir)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is not checked out beside this repository: nothing to compare examples/port with", sharedExamplesDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		want, err := os.ReadFile(filepath.Join(sharedExamplesDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(examplesDir, e.Name()))
		if err != nil {
			t.Errorf("shared example %s has no copy in examples/port: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/port/%s differs from %s/%s: copy it again", e.Name(), sharedExamplesDir, e.Name())
		}
		compared++
	}
	if compared == 0 {
		t.Errorf("no shared example compared in %s", sharedExamplesDir)
	}
}
