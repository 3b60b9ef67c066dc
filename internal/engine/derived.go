package engine

import (
	"crypto/sha256"
	"time"
)

// DerivedRunID returns the run identifier of a run that must start at most
// once: wfr_ + 7 characters of the time at (as NewRunID) + 9 derived from
// key. Two processes that start the run for the same key (a catalog event
// and a workflow, a schedule tick) compute the same identifier, and the
// store's unique key on it lets only one of them create the run.
func DerivedRunID(key string, at time.Time) string {
	out := []byte(newID("wfr_", at))
	sum := sha256.Sum256([]byte(key))
	for i := range 9 {
		out[len("wfr_")+7+i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return string(out)
}
