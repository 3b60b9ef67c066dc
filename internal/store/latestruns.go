package store

import "context"

// LatestRunsReader is implemented by stores that read the newest run of
// many workflows at once. The web UI's workflow list shows each workflow's
// last run with it: one read for the page, where a run list per workflow
// (ListRuns with Limit 1, which also counts the workflow's runs) costs a
// read and a count for every workflow listed.
type LatestRunsReader interface {
	// LatestRuns returns, for each identifier in workflowIDs that has a
	// run viewer may view, that workflow's newest such run: the first run
	// ListRuns returns for RunFilter{WorkflowIDs: {id}, Viewer: viewer}
	// (newest by CreatedAt, then the greatest Identifier). The map is keyed
	// by workflow identifier; a workflow without such a run is absent. A
	// nil viewer sees every run, as for RunFilter.Viewer. Identifiers are
	// matched as ListRuns matches them, whether the workflow is deleted or
	// not; repeated identifiers count once.
	LatestRuns(ctx context.Context, workflowIDs []string, viewer *RunViewer) (map[string]Run, error)
}
