// Package workflow is the definition model of Port-format workflows: strict
// parsing of the JSON, validation of every field and graph rule with JSON
// paths, and the compiled templates each node renders at run time.
package workflow

import (
	"regexp"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/tmpl"
)

// Node types, as config.type spells them.
const (
	TypeSelfServeTrigger  = "SELF_SERVE_TRIGGER"
	TypeEventTrigger      = "EVENT_TRIGGER"
	TypeScheduleTrigger   = "SCHEDULE_TRIGGER"
	TypeWebhook           = "WEBHOOK"
	TypeKafka             = "KAFKA"
	TypeUpsertEntity      = "UPSERT_ENTITY"
	TypeIntegrationAction = "INTEGRATION_ACTION"
	TypeCondition         = "CONDITION"
	TypeInput             = "INPUT"
	TypeAI                = "AI"
	TypeAIAgent           = "AI_AGENT"
	TypeCursorAgent       = "CURSOR_AGENT"
)

// OnFailure values.
const (
	OnFailureTerminate = "terminate"
	OnFailureContinue  = "continue"
)

// Workflow is a parsed, validated and compiled definition. It is immutable
// after Parse and safe to share between goroutines.
type Workflow struct {
	Identifier            string
	Title                 string
	Icon                  string
	Description           string
	Category              string
	AllowAnyoneToViewRuns bool // defaults to true
	Nodes                 []*Node
	Connections           []Connection

	// Source is the definition as the user sent it, compacted, with the
	// server-added fields removed: what the store keeps.
	Source []byte

	byID map[string]*Node
	// next maps a source node and outlet ("" for a plain connection) to the
	// target; fallback maps a CONDITION node to its fallback target.
	next     map[exit]string
	fallback map[string]string
	triggers []*Node
}

// exit is a way out of a node: its identifier and the outlet taken.
type exit struct{ node, outlet string }

// Node is one node of a workflow.
type Node struct {
	Identifier  string
	Title       string
	Icon        string
	Description string
	Type        string // config.type
	Verbose     bool
	// OnFailure is "terminate" or "continue" for action nodes, "" otherwise.
	OnFailure string

	// Config is the node's config object as parsed (numbers as json.Number).
	Config map[string]any
	// ConfigTemplate renders the whole config at run time. It is nil for
	// trigger nodes, whose config is not templated.
	ConfigTemplate *tmpl.Value
	// Variables renders the node's output after it ran (nil when absent);
	// when present its result replaces the output.
	Variables *tmpl.Value
	// Links render after the node ran (at most 3).
	Links []*tmpl.Template

	// Outlets of CONDITION and INPUT nodes, in order.
	Outlets []Outlet
	// UserInputs of SELF_SERVE_TRIGGER and INPUT nodes.
	UserInputs *UserInputs
	// Permissions of a SELF_SERVE_TRIGGER (nil when omitted: Admin only).
	Permissions *Permissions
	// Published for triggers (default true).
	Published bool

	// Cron is a SCHEDULE_TRIGGER's schedule: 5 fields, UTC.
	Cron string
	// Event is an EVENT_TRIGGER's event and condition.
	Event *EventTrigger
	// Responders of an INPUT node (nil when omitted).
	Responders *Permissions
}

// EventTrigger is what an EVENT_TRIGGER listens to.
type EventTrigger struct {
	// Type is ENTITY_CREATED, ENTITY_UPDATED, ENTITY_DELETED,
	// ANY_ENTITY_CHANGE or TIMER_EXPIRED.
	Type                string
	BlueprintIdentifier string
	// PropertyIdentifier is the timer property of a TIMER_EXPIRED event.
	PropertyIdentifier string
	// Condition filters events; nil when omitted (every event starts a run).
	Condition *EventCondition
}

// EventCondition is an EVENT_TRIGGER's jq condition.
type EventCondition struct {
	Expressions []*tmpl.Expr
	// Combinator is "and" (the default) or "or".
	Combinator string
}

// IsTrigger reports whether n is a trigger node.
func (n *Node) IsTrigger() bool {
	switch n.Type {
	case TypeSelfServeTrigger, TypeEventTrigger, TypeScheduleTrigger:
		return true
	}
	return false
}

// Outlet is a named exit of a CONDITION or INPUT node.
type Outlet struct {
	Identifier      string
	Title           string
	Expression      *tmpl.Expr // CONDITION only
	NumOfResponders int        // INPUT only
}

// Connection links two nodes.
type Connection struct {
	Source      string
	Target      string
	Description string
	Outlet      string // sourceOutletIdentifier, "" when none
	Fallback    bool
}

// Permissions says who may execute a workflow through its trigger.
type Permissions struct {
	Roles []string
	Users []string
	Teams []string
	// Policy is a trigger's dynamic permission (nil when none): one more
	// way to be allowed, evaluated when a run is created (policy.go).
	Policy *Policy
	// UsersQuery is an INPUT node's search over the _user blueprint that
	// names more responders (nil when none).
	UsersQuery *catalog.Query
}

// UserInputs is a trigger's (or an INPUT node's) input schema.
type UserInputs struct {
	Properties map[string]*InputProperty
	Required   []string
	Order      []string
	// Buttons of an INPUT node's form.
	Buttons []Button
	// RequiredJQ, when set, is Port's "required": {"jqQuery": ...}: a jq
	// expression over the form that gives the names of the required inputs.
	RequiredJQ *tmpl.Expr
	// Validations are the form's rules, its own and those of its steps,
	// checked before a run is created.
	Validations []Validation

	// names are the property names in document order: defaults computed by
	// jq are evaluated in this order.
	names []string
}

// Validation is one rule of a self-serve form: a jq constraint over the
// form that must be true, with the message given when it is not.
type Validation struct {
	Constraint *tmpl.Expr
	Message    string
	// Path is where the rule sits in the definition.
	Path string
	// When, if set, is the visibility of the step the rule belongs to: a
	// hidden step's rules are not checked.
	When *Cond
}

// Cond is a boolean a form field holds either literally or as
// {"jqQuery": ...} evaluated over the form (visible, disabled, readOnly).
type Cond struct {
	Value bool
	Expr  *tmpl.Expr // nil when literal
}

// Button is a submit button of an INPUT node's form; an outlet names one.
type Button struct {
	Identifier string
	Label      string
	Variant    string
}

// InputProperty is one input's JSON-schema-like description.
type InputProperty struct {
	Type        string // string | number | boolean | object | array
	Format      string
	Title       string
	Description string
	Enum        []any
	Default     any
	HasDefault  bool
	MinLength   *int
	MaxLength   *int
	Minimum     *float64
	Maximum     *float64
	Pattern     string
	Icon        string
	// Blueprint is the blueprint of "entity" formatted inputs.
	Blueprint string
	// Items describes the elements of an array input (nil when omitted).
	Items *InputProperty
	// DefaultJQ is a default written as {"jqQuery": ...}, evaluated over
	// the form when the run starts; Default is then unset.
	DefaultJQ *tmpl.Expr
	// Visible and Disabled (nil when omitted) hide an input: a hidden or
	// disabled input takes its default and is never required.
	Visible  *Cond
	Disabled *Cond
	// ExclusiveMinimum and ExclusiveMaximum bound number inputs strictly.
	ExclusiveMinimum *float64
	ExclusiveMaximum *float64
	// MinItems, MaxItems and UniqueItems constrain array inputs.
	MinItems    *int
	MaxItems    *int
	UniqueItems bool
	// Computed holds the constraints written as {"jqQuery": ...} (enum,
	// pattern, minItems, maxItems): evaluated over the form when a run is
	// created, then enforced like literal ones (computed.go).
	Computed *ComputedConstraints

	re *regexp.Regexp // Pattern, compiled
}

// Node returns the node with the identifier, or nil.
func (w *Workflow) Node(id string) *Node { return w.byID[id] }
