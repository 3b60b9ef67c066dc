package view

import (
	"context"
	"fmt"

	"github.com/sluice-run/sluice/internal/store"
)

// runLogsReader is store.RunLogsReader, the part of a store that reads
// every log line of a run at once.
type runLogsReader interface {
	RunLogs(ctx context.Context, runID string) (map[string][]store.Log, error)
}

// readRunLogs reads the log lines of the node runs nrs of run runID in one
// read when st has RunLogs, keyed by node run identifier; a node run
// without lines has none. It returns nil when st reads logs only node run
// by node run (Build then calls Logs for each), and an empty map, read
// nothing, when there is no node run. Either way Build shows the same
// lines (TestBuildLogsBothPaths).
func readRunLogs(ctx context.Context, st Reader, runID string, nrs []store.NodeRun) (map[string][]store.Log, error) {
	if len(nrs) == 0 {
		return map[string][]store.Log{}, nil
	}
	rl, ok := st.(runLogsReader)
	if !ok {
		return nil, nil
	}
	logs, err := rl.RunLogs(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", runID, err)
	}
	if logs == nil {
		logs = map[string][]store.Log{}
	}
	return logs, nil
}
