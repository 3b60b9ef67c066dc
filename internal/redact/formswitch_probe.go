//go:build leakprobe

package redact

import (
	"os"
	"sync"
)

// disabledFamily is the family of forms that ProbeEnvName switches off.
// The leak suite builds itself with the leakprobe tag and runs once per
// family with the variable set, to prove that each family it claims to
// check is checked: with the family off, one of its cases must fail.
// Release builds do not have the tag, so they have no such switch.
var disabledFamily = sync.OnceValue(func() string { return os.Getenv(ProbeEnvName) })

// formEnabled reports whether forms registers the family named name: all
// but the one named by ProbeEnvName.
func formEnabled(name string) bool { return name != disabledFamily() }
