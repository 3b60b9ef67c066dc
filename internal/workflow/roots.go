package workflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-run/sluice/internal/tmpl"
)

// The top-level keys each kind of expression is evaluated over. A read of
// any other key is always null: Parse refuses it (checkRoots) rather than
// let a definition written for another context, such as a Port self-service
// action's .inputs or docs.port.io's .entity, run with nulls in its place.
var (
	// configRoots is the context of an action or flow node's config
	// (engine: the render before the node runs).
	configRoots = []string{"outputs", "secrets", "workflow", "workflowRun", "workflowNodeRun"}
	// conditionRoots is the context of a CONDITION outlet's expression.
	conditionRoots = []string{"outputs", "workflow", "workflowRun"}
	// eventRoots is the context of an EVENT_TRIGGER condition: the trigger's
	// output (autostart.Output).
	eventRoots = []string{"action", "diff", "context"}
)

// rootHints say what to write instead of a root that is not in a node's
// context, for the roots that Port's other contexts (self-service actions,
// automations, docs.port.io examples) offer.
var rootHints = map[string]string{
	"inputs":   "a workflow reads its self-serve inputs from the trigger's output: .outputs.trigger.NAME",
	"entity":   "a workflow run has no entity of its own: an EVENT_TRIGGER's entity is .outputs.trigger.diff.after (or .diff.before)",
	"trigger":  "the trigger's output is .outputs.trigger; who started the run is .workflowRun.trigger.by",
	"run":      "the run is .workflowRun (.workflowRun.identifier)",
	"response": `a node's response is read from its output: .outputs["NODE"].response`,
	"result":   `.result exists only in variables and links; elsewhere read a node's output as .outputs["NODE"]`,
	"diff":     "an EVENT_TRIGGER's output is .outputs.trigger (.outputs.trigger.diff.after)",
	"action":   "an EVENT_TRIGGER's output is .outputs.trigger (.outputs.trigger.action)",
	"context":  "an EVENT_TRIGGER's output is .outputs.trigger (.outputs.trigger.context.entityIdentifier)",
	"secrets":  "secrets cannot be read here",
	"user":     "who started the run is .workflowRun.trigger.by",
}

// eventHints replace rootHints for an EVENT_TRIGGER condition, which is
// evaluated over the trigger's output itself.
var eventHints = map[string]string{
	"entity":  "the entity is .diff.after (null when deleted) or .diff.before",
	"outputs": "an EVENT_TRIGGER condition sees the event itself: .action, .diff.before, .diff.after, .context",
	"trigger": "an EVENT_TRIGGER condition sees the event itself: .action, .diff.before, .diff.after, .context",
}

// checkRoots refuses, at path, every top-level key rd reads that is not in
// allowed: the expression would always see null there. A secrets read is
// left to reads, which says why secrets are refused. hints, when not nil,
// is tried before rootHints.
func (p *parser) checkRoots(path string, rd tmpl.Reads, allowed []string, hints map[string]string) {
	for _, root := range rd.Roots {
		if root == "secrets" || slices.Contains(allowed, root) {
			continue
		}
		hint, ok := hints[root]
		if !ok {
			hint, ok = rootHints[root]
		}
		if !ok {
			hint = "read from " + dotted(allowed)
		}
		report := p.r.errorf
		if p.stored {
			report = p.r.warnf
		}
		report(path, "reads %s, which this expression's context does not have, so it would always be null: %s", rootPath(root), hint)
	}
}

// dotted lists roots as jq paths: ".a, .b or .c".
func dotted(roots []string) string {
	var b strings.Builder
	for i, r := range roots {
		switch {
		case i == 0:
		case i == len(roots)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, ".%s", r)
	}
	return b.String()
}

// rootPath writes a top-level key as jq reads it: .name, or .["my-key"].
func rootPath(root string) string {
	if isIdent(root) {
		return "." + root
	}
	return ".[" + quote(root) + "]"
}
