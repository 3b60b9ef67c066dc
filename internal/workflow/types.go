package workflow

// This file holds the tables of the fields each object of a definition
// accepts: the workflow, nodes, connections, and the config of each node
// type. Parsing is driven by these tables; a node type is added by adding a
// row to nodeTypes.

// nodeKind groups node types by how the engine treats them.
type nodeKind int

const (
	kindTrigger nodeKind = iota // starts runs; config is not templated
	kindAction                  // does something; config, variables and links are templated
	kindFlow                    // routes the run (CONDITION, INPUT); config is templated
)

// nodeType describes one config.type.
type nodeType struct {
	kind nodeKind
	// config is every member the config accepts, "type" included.
	config fields
	// secrets are the config members whose templates may read .secrets:
	// the fields that are sent out and not stored.
	secrets []string
	// secretsWhy says why .secrets is refused in the other members.
	secretsWhy string
	// finish extracts the typed parts of the config into the node and
	// checks rules that span members. cfg has been shape-checked against
	// config already; finish must tolerate members of the wrong type.
	finish func(p *parser, n *Node, path string, cfg *jv)
}

// serverFields are the read-only members a server adds to a workflow (and
// Port returns from its API). They are accepted on input, ignored, and left
// out of Source. "id" is included because Port's API answers carry one.
var serverFields = map[string]bool{
	"version": true, "createdBy": true, "updatedBy": true,
	"createdAt": true, "updatedAt": true, "id": true,
}

// Limits of a workflow definition.
const (
	maxIdentifierLen  = 60
	maxTitleLen       = 100
	maxDescriptionLen = 1100
	maxCategoryLen    = 40
	maxNodes          = 100
	maxLinks          = 3
	maxTimeoutSeconds = 86400 // one day: the same bound as webhook.MaxTimeout
	// maxKafkaTimeoutSeconds bounds a KAFKA node's wait: a week, as kafka.MaxTimeout.
	maxKafkaTimeoutSeconds = 7 * 86400
)

var workflowFields = func() fields {
	fs := fields{
		"identifier":            {required: true, check: identifier(maxIdentifierLen)},
		"title":                 {check: strMax(maxTitleLen)},
		"icon":                  {check: str},
		"description":           {check: strMax(maxDescriptionLen)},
		"category":              {check: strMax(maxCategoryLen)},
		"allowAnyoneToViewRuns": {check: boolean},
		"nodes":                 {required: true, check: func(r *report, path string, v *jv) { isKind(r, path, v, jArray) }},
		"connections":           {check: func(r *report, path string, v *jv) { isKind(r, path, v, jArray) }},
	}
	for k := range serverFields {
		fs[k] = field{ignored: true}
	}
	return fs
}()

var nodeFields = fields{
	"identifier":  {required: true, check: identifier(0)},
	"title":       {check: str},
	"icon":        {check: str},
	"description": {check: str},
	"config":      {required: true, check: anyObject},
	"variables":   {check: anyObject},
	"links":       {check: stringList},
	"verbose":     {check: boolean},
}

var connectionFields = fields{
	"sourceIdentifier":       {required: true, check: nonEmpty},
	"targetIdentifier":       {required: true, check: nonEmpty},
	"description":            {check: str},
	"sourceOutletIdentifier": {check: nonEmpty},
	"sourceOptionIdentifier": {check: nonEmpty}, // deprecated alias
	"fallback":               {check: boolean},
}

// Input property types.
var inputTypes = []string{"string", "number", "boolean", "object", "array"}

var permissionsFields = fields{
	"roles": {check: stringList},
	"users": {check: stringList},
	"teams": {check: stringList},
}

var itemsFields = fields{
	"type":      {check: enum(inputTypes...)},
	"format":    {check: str},
	"enum":      {check: anyArray},
	"blueprint": {check: str},
}

var inputPropertyFields = fields{
	"type":        {required: true, check: enum(inputTypes...)},
	"format":      {check: str},
	"title":       {check: str},
	"description": {check: str},
	"icon":        {check: str},
	"blueprint":   {check: str},
	"enum":        {check: anyArray},
	"default":     {},
	"minLength":   {check: intMin(0)},
	"maxLength":   {check: intMin(0)},
	"minimum":     {check: number},
	"maximum":     {check: number},
	"pattern":     {check: str},
	"items":       {check: objectOf(itemsFields)},
}

var userInputsFields = fields{
	"properties": {check: mapOf(objectOf(inputPropertyFields))},
	"required":   {check: stringList},
	"order":      {check: stringList},
}

var buttonFields = fields{
	"identifier": {required: true, check: identifier(0)},
	"label":      {check: str},
	"variant":    {check: str},
}

var conditionOutletFields = fields{
	"identifier": {required: true, check: identifier(0)},
	"title":      {check: str},
	"expression": {required: true, check: nonEmpty},
}

var inputOutletFields = fields{
	"identifier":       {required: true, check: identifier(0)},
	"title":            {check: str},
	"numOfResponders":  {check: intMin(1)},
	"evaluationMethod": {check: enum("button")},
}

var (
	triggerBase = fields{"type": {required: true, check: str}, "published": {check: boolean}}
	actionBase  = fields{"type": {required: true, check: str}, "onFailure": {check: enum(OnFailureTerminate, OnFailureContinue)}}
	flowBase    = fields{"type": {required: true, check: str}}
)

// nodeTypes is the table of node types by config.type. It is read-only.
var nodeTypes = map[string]*nodeType{
	TypeSelfServeTrigger: {
		kind: kindTrigger,
		config: triggerBase.with(fields{
			"userInputs":  {check: objectOf(userInputsFields)},
			"permissions": {check: objectOf(permissionsFields)},
		}),
		finish: finishSelfServe,
	},
	TypeEventTrigger: {
		kind: kindTrigger,
		config: triggerBase.with(fields{
			"event": {required: true, check: objectOf(fields{
				"type":                {required: true, check: enum("ENTITY_CREATED", "ENTITY_UPDATED", "ENTITY_DELETED", "ANY_ENTITY_CHANGE")},
				"blueprintIdentifier": {required: true, check: nonEmpty},
			})},
			"condition": {check: objectOf(fields{
				"type":        {required: true, check: enum("JQ")},
				"expressions": {required: true, check: arrayOf(nonEmpty)},
				"combinator":  {check: enum("and", "or")},
			})},
		}),
		finish: finishEvent,
	},
	TypeScheduleTrigger: {
		kind:   kindTrigger,
		config: triggerBase.with(fields{"cron": {required: true, check: str}}),
		finish: finishSchedule,
	},
	TypeWebhook: {
		kind: kindAction,
		config: actionBase.with(fields{
			"url":            {required: true, check: nonEmpty},
			"method":         {check: enum("GET", "POST", "PUT", "PATCH", "DELETE")},
			"headers":        {check: mapOf(str)},
			"body":           {check: objectOrArray},
			"synchronized":   {check: boolean},
			"onTimeout":      {check: enum("fail", "continue")},
			"timeoutSeconds": {check: positiveUpTo(maxTimeoutSeconds)},
		}),
		secrets:    []string{"url", "headers", "body"},
		secretsWhy: "this field is not sent with the request; it is shown on the node run",
		finish:     finishWebhook,
	},
	TypeKafka: {
		kind: kindAction,
		config: actionBase.with(fields{
			"payload":        {required: true, check: objectOrArray},
			"topic":          {check: nonEmpty},
			"onTimeout":      {check: enum("fail", "continue")},
			"timeoutSeconds": {check: positiveUpTo(maxKafkaTimeoutSeconds)},
		}),
		secrets:    []string{"payload"},
		secretsWhy: "the topic is not part of the message; it is logged and shown on the node run",
		finish:     func(*parser, *Node, string, *jv) {},
	},
	TypeUpsertEntity: {
		kind: kindAction,
		config: actionBase.with(fields{
			"blueprintIdentifier": {required: true, check: nonEmpty},
			"mapping": {required: true, check: objectOf(fields{
				"identifier": {check: str},
				"title":      {check: str},
				"icon":       {check: str},
				"team":       {},
				"properties": {check: anyObject},
				"relations":  {check: anyObject},
			})},
		}),
		secretsWhy: "the entity is stored in the catalog and returned as the node's output",
		finish:     func(*parser, *Node, string, *jv) {},
	},
	TypeIntegrationAction: {
		kind: kindAction,
		config: actionBase.with(fields{
			"installationId":                       {required: true, check: nonEmpty},
			"integrationProvider":                  {required: true, check: enum("github-ocean", "gitlab")},
			"integrationInvocationType":            {required: true, check: enum("dispatch_workflow", "trigger_pipeline")},
			"integrationActionExecutionProperties": {required: true, check: anyObject},
			"reportWorkflowStatus":                 {check: boolean},
		}),
		secrets:    []string{"integrationActionExecutionProperties"},
		secretsWhy: "this field is not sent to the integration's workflow; it is shown on the node run",
		finish:     finishIntegration,
	},
	TypeCondition: {
		kind: kindFlow,
		config: flowBase.with(fields{
			"outlets": {literal: true, check: arrayOf(objectOf(conditionOutletFields))},
			"options": {literal: true, check: arrayOf(objectOf(conditionOutletFields))},
		}),
		secretsWhy: "a CONDITION node sends nothing out; its config is stored and shown",
		finish:     finishCondition,
	},
	TypeInput: {
		kind: kindFlow,
		config: flowBase.with(fields{
			"userInputs":    {required: true, check: objectOf(userInputsFields.with(fields{"buttons": {required: true, check: arrayOf(objectOf(buttonFields))}}))},
			"outlets":       {literal: true, check: arrayOf(objectOf(inputOutletFields))},
			"options":       {literal: true, check: arrayOf(objectOf(inputOutletFields))},
			"responders":    {check: objectOf(permissionsFields)},
			"notifications": {check: anyObject},
		}),
		secretsWhy: "an INPUT node's form is shown to its responders and their answers are stored in the run",
		finish:     finishInput,
	},
}

// anyArray accepts any array.
func anyArray(r *report, path string, v *jv) { isKind(r, path, v, jArray) }
