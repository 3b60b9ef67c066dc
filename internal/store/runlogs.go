package store

import "context"

// RunLogsReader is implemented by stores that read every log line of a run
// at once. A run's view with its logs (GET /v1/workflows/runs/{id}
// ?include=logs, the web UI's run page, which refreshes it while the run
// goes on) reads them in one query instead of one Logs per node run.
type RunLogsReader interface {
	// RunLogs returns the log lines of every node run of the run, keyed by
	// node run identifier, each node run's lines in the order Logs returns
	// them (the order they were written) and with NodeRunID set. A node run
	// without log lines is absent from the map, and so is every node run of
	// a run that does not exist: that is an empty map, not ErrNotFound, as
	// Logs of a missing node run is an empty list (the caller has read the
	// run already; retention may delete it in between).
	RunLogs(ctx context.Context, runID string) (map[string][]Log, error)
}
