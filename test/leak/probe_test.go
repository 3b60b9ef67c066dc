package leak_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// probe is the suite built with the leakprobe tag (families of forms can be
// switched off), built once per test binary for the tests that run it
// (TestDisablingAnyFormFails, TestProcessChecksSeeEveryForm) instead of
// once by each. TestMain removes its directory.
var probe struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// probeSuite returns the path of the leakprobe build of this package's
// tests, building it on first use; it fails the test when the build fails.
func probeSuite(t *testing.T) string {
	t.Helper()
	probe.once.Do(func() {
		probe.dir, probe.err = os.MkdirTemp("", "sluice-leakprobe")
		if probe.err != nil {
			return
		}
		probe.bin = filepath.Join(probe.dir, "leak.test")
		if out, err := exec.Command("go", "test", "-c", "-tags", "leakprobe", "-o", probe.bin, ".").CombinedOutput(); err != nil {
			probe.err = fmt.Errorf("build the probe suite: %v\n%s", err, out)
		}
	})
	if probe.err != nil {
		t.Fatal(probe.err)
	}
	return probe.bin
}
