package postgres

import (
	"context"
	"fmt"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.LatestRunsReader = (*Store)(nil)

// latestRunsQuery is LatestRuns' query: each distinct workflow identifier
// of the array $1 joined, LATERAL, to its newest run, read through
// runs_workflow (workflow_id, created_at DESC, identifier DESC) and stopped
// at the first. For a viewer ($2), the walk skips the runs it may not view
// (neither its own nor of a public version, as RunFilter.Viewer) and stops
// at the first it may (TestLatestRunsPlan).
func latestRunsQuery(viewer bool) string {
	cond := ""
	if viewer {
		cond = ` AND (r.created_by = $2 OR EXISTS (SELECT 1 FROM workflows v
			WHERE v.identifier = r.workflow_id AND v.version = r.workflow_version AND v.allow_anyone_to_view_runs))`
	}
	return `SELECT ` + runSelectCols + ` FROM (SELECT DISTINCT unnest($1::text[]) AS wid) AS w
	CROSS JOIN LATERAL (SELECT * FROM runs r WHERE r.workflow_id = w.wid` + cond + `
		ORDER BY r.created_at DESC, r.identifier DESC LIMIT 1) AS runs`
}

// LatestRuns returns the newest run of each workflow that viewer may view
// (store.LatestRunsReader), in one query: an index walk per workflow that
// stops at its first row.
func (s *Store) LatestRuns(ctx context.Context, workflowIDs []string, viewer *store.RunViewer) (map[string]store.Run, error) {
	out := map[string]store.Run{}
	if len(workflowIDs) == 0 {
		return out, nil
	}
	args := []any{workflowIDs}
	if viewer != nil {
		args = append(args, viewer.ActorID)
	}
	runs, err := collect(ctx, s.pool, scanRun, latestRunsQuery(viewer != nil), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: latest runs: %w", err)
	}
	for _, r := range runs {
		out[r.WorkflowID] = r
	}
	return out, nil
}
