package workflow

// Hints for shapes that Port's public material shows but that are not the
// workflow format sluice (and Port's API, per its terraform provider and
// port-skills) reads: they stay errors, with what to write instead.

// typeHints are said when config.type is one of them. port-docs
// docs/workflows/nodes.md lists GITHUB, GITLAB and AZURE_DEVOPS as action
// invocation types; Port's workflow definitions (port-skills
// references/node-types.md, terraform-provider-port-labs) write them as an
// INTEGRATION_ACTION.
var typeHints = map[string]string{
	"GITHUB":       `write an INTEGRATION_ACTION with "integrationProvider": "github-ocean" and "integrationInvocationType": "dispatch_workflow"`,
	"GITLAB":       `write an INTEGRATION_ACTION with "integrationProvider": "gitlab" and "integrationInvocationType": "trigger_pipeline"`,
	"AZURE_DEVOPS": `write an INTEGRATION_ACTION with the installed Azure DevOps integration's provider and invocation type`,
}

// fieldHints are said when an unknown field has one of these names.
// port-docs docs/workflows/nodes.md shows a CONDITION with "conditions"
// (each with "connectionIdentifier") and "defaultConnectionIdentifier";
// Port's workflow format routes by outlets instead.
var fieldHints = map[string]string{
	"conditions":                  `a CONDITION lists its branches as "outlets": [{"identifier", "title", "expression"}], and each connection leaving it names one with "sourceOutletIdentifier"`,
	"defaultConnectionIdentifier": `the default branch of a CONDITION is the connection leaving it with "fallback": true`,
	"connectionIdentifier":        `a connection names the outlet it leaves with "sourceOutletIdentifier"`,
}
