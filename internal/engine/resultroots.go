package engine

// resultRoots gives the members of a node's raw result as more roots of its
// variables and links. Port publishes two forms for them: port-skills
// (skills/port-workflows/references/data-flow.md) reads the raw output under
// .result ("{{ .result.response.data.id }}"), docs.port.io
// (docs/workflows/data-flow.md, build-workflows/data-flow.md) evaluates them
// "against the node's raw execution output" ("{{ .response.data.id }}").
// Both read the same value in sluice. The context's own roots (.result,
// .outputs, .workflow, .workflowRun, .secrets) win over a member of the same
// name; a result that is not an object adds none.
func resultRoots(result any) map[string]any {
	m, _ := result.(map[string]any)
	return m
}
