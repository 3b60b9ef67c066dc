package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.LatestRunsReader = (*Store)(nil)

// latestRunsFrom is the FROM clause of LatestRuns: each distinct workflow
// identifier of the JSON array (parameter 1) joined to its newest run. The
// correlated subquery walks the workflow's runs newest first through
// runs_workflow and stops at the first; its ORDER BY breaks ties in time on
// the identifier, as run lists do (TestLatestRunsPlan).
const latestRunsFrom = ` FROM (SELECT DISTINCT value AS wid FROM json_each(?1)) AS w
	CROSS JOIN runs ON runs.seq = (SELECT r.seq FROM runs r WHERE r.workflow_id = w.wid%s
		ORDER BY r.created_at DESC, r.identifier DESC LIMIT 1)`

// latestRunsVisible keeps, for a viewer (parameter 2), the runs it may
// view: its own, and those of public workflow versions, as RunFilter.Viewer
// does. The walk then stops at the newest visible run of the workflow.
const latestRunsVisible = `
		AND (r.created_by = ?2 OR EXISTS (SELECT 1 FROM workflows v
			WHERE v.identifier = r.workflow_id AND v.version = r.workflow_version AND v.allow_anyone_to_view_runs = 1))`

// latestRunsQuery returns LatestRuns' query, for a viewer or not.
func latestRunsQuery(viewer bool) string {
	cond := ""
	if viewer {
		cond = latestRunsVisible
	}
	return `SELECT ` + runSelectCols + fmt.Sprintf(latestRunsFrom, cond)
}

// LatestRuns returns the newest run of each workflow that viewer may view
// (store.LatestRunsReader), in one read: an index seek per workflow.
func (s *Store) LatestRuns(ctx context.Context, workflowIDs []string, viewer *store.RunViewer) (map[string]store.Run, error) {
	out := map[string]store.Run{}
	if len(workflowIDs) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(workflowIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest runs: %w", err)
	}
	args := []any{string(ids)}
	if viewer != nil {
		args = append(args, viewer.ActorID)
	}
	runs, err := queryAll(ctx, s.r, scanRun, latestRunsQuery(viewer != nil), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest runs: %w", err)
	}
	for _, r := range runs {
		out[r.WorkflowID] = r
	}
	return out, nil
}
