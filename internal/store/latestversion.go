package store

import "context"

// LatestVersionReader is implemented by stores that tell a workflow's newest
// version without reading its definition. The API starts a run with it:
// definitions are cached by version (engine.Definition), so a run's start
// needs the number, not the definition's bytes read and copied again.
type LatestVersionReader interface {
	// LatestWorkflowVersion returns the version GetWorkflow would return:
	// the newest of a workflow that is not deleted; ErrNotFound when the
	// workflow is missing or deleted.
	LatestWorkflowVersion(ctx context.Context, identifier string) (int, error)
}
