package workflow

// This file holds the tables of the fields each object of a definition
// accepts: the workflow, nodes, connections, and the config of each node
// type. Parsing is driven by these tables; a node type is added by adding a
// row to nodeTypes.

// whyInput is why .secrets is refused in an INPUT node's config.
const whyInput = "an INPUT node's form is shown to its responders and their answers are stored in the run"

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
	// secretsWarn, when set, is a warning for a member of secrets whose
	// template reads .secrets.
	secretsWarn string
	// finish extracts the typed parts of the config into the node and
	// checks rules that span members. cfg has been shape-checked against
	// config already; finish must tolerate members of the wrong type.
	finish func(p *parser, n *Node, path string, cfg *jv)
}

// serverFields are the read-only members a server adds to a workflow (and
// Port returns from its API). They are accepted on input, ignored, and left
// out of Source. "id" and "orgId" are included because Port's API answers
// carry them (a workflow exported from Port has both).
var serverFields = map[string]bool{
	"version": true, "createdBy": true, "updatedBy": true,
	"createdAt": true, "updatedAt": true, "id": true, "orgId": true,
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

	// Port's bounds on self-serve forms (terraform-provider-port-labs,
	// docs/resources/workflow.md).
	maxButtonTextLen        = 15
	maxStepTitleLen         = 25
	maxValidationMessageLen = 100
	maxValidations          = 10
	maxMCPServers           = 5

	// maxKafkaTimeoutSeconds bounds a KAFKA node's wait: a week, as kafka.MaxTimeout.
	maxKafkaTimeoutSeconds = 7 * 86400
)

var workflowFields = func() fields {
	fs := fields{
		"identifier":            {required: true, check: identifier(maxIdentifierLen)},
		"title":                 {check: strMax(maxTitleLen), nullable: true},
		"icon":                  {check: str, nullable: true},
		"description":           {check: strMax(maxDescriptionLen), nullable: true},
		"category":              {check: strMax(maxCategoryLen), nullable: true},
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
	"title":       {check: str, nullable: true},
	"icon":        {check: str, nullable: true},
	"description": {check: str, nullable: true},
	"config":      {required: true, check: anyObject},
	"variables":   {check: anyObject},
	"links":       {check: stringList},
	"verbose":     {check: boolean},
}

var connectionFields = fields{
	"sourceIdentifier":       {required: true, check: nonEmpty},
	"targetIdentifier":       {required: true, check: nonEmpty},
	"description":            {check: str, nullable: true},
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

// triggerPermissionsFields adds Port's dynamic RBAC policy to a trigger's
// permissions (terraform-provider-port-labs port/workflow, "policy").
var triggerPermissionsFields = permissionsFields.with(fields{"policy": {check: policyShape}})

// respondersFields adds the _user entity search that resolves more
// responders of an INPUT node ("usersQuery").
var respondersFields = permissionsFields.with(fields{"usersQuery": {check: ruleQuery}})

// jqQueryFields is the object Port writes where a value is computed by jq
// when the form is shown or submitted: {"jqQuery": "<bare jq>"}.
var jqQueryFields = fields{"jqQuery": {required: true, check: nonEmpty}}

// sortFields orders the entities an entity input offers.
var sortFields = fields{
	"property": {required: true, check: nonEmpty},
	"order":    {check: enum("ASC", "DESC")},
}

// datasetFields filter the entities an entity input offers; the rules are
// Port's search rules and only shape Port's UI, so they are kept as written.
var datasetFields = fields{
	"combinator": {required: true, check: enum("and", "or")},
	"rules":      {required: true, check: anyArray},
}

var itemsFields = fields{
	"type":       {check: enum(inputTypes...)},
	"format":     {check: str},
	"enum":       {check: jqOr(anyArray)},
	"enumColors": {check: mapOf(str)},
	"blueprint":  {check: str},
	"dataset":    {check: objectOf(datasetFields)},
	"default":    {},
	"properties": {check: anyObject},
	"required":   {check: stringList},
}

var inputPropertyFields = fields{
	"type":             {required: true, check: enum(inputTypes...)},
	"format":           {check: str},
	"title":            {check: str, nullable: true},
	"description":      {check: str, nullable: true},
	"icon":             {check: str, nullable: true},
	"blueprint":        {check: str},
	"enum":             {check: jqOr(anyArray)},
	"enumColors":       {check: mapOf(str)},
	"default":          {},
	"minLength":        {check: intMin(0)},
	"maxLength":        {check: intMin(0)},
	"minimum":          {check: number},
	"maximum":          {check: number},
	"exclusiveMinimum": {check: number},
	"exclusiveMaximum": {check: number},
	"minItems":         {check: jqOr(intMin(0))},
	"maxItems":         {check: jqOr(intMin(0))},
	"uniqueItems":      {check: boolean},
	"pattern":          {check: jqOr(str)},
	"items":            {check: objectOf(itemsFields)},
	"properties":       {check: anyObject}, // an object input's own schema, shown by Port's UI
	"dependsOn":        {check: stringList},
	"dataset":          {check: objectOf(datasetFields)},
	"sort":             {check: objectOf(sortFields)},
	"visible":          {check: jqOr(boolean)},
	"disabled":         {check: jqOr(boolean)},
	"readOnly":         {check: jqOr(boolean)},
}

// validationFields is one rule of a form's validations: a jq constraint
// that must be true, and the message given when it is not.
var validationFields = fields{
	"constraint": {required: true, check: nonEmpty},
	"message":    {required: true, check: strMax(maxValidationMessageLen)},
}

var stepFields = fields{
	"title":       {required: true, check: strMax(maxStepTitleLen)},
	"order":       {required: true, check: stringList},
	"visible":     {check: jqOr(boolean)},
	"validations": {check: arrayOf(objectOf(validationFields))},
}

var titleFields = fields{
	"title":       {required: true, check: str},
	"description": {check: str, nullable: true},
	"visible":     {check: jqOr(boolean)},
}

var userInputsFields = fields{
	"properties":  {check: mapOf(objectOf(inputPropertyFields))},
	"required":    {check: jqOr(stringList)},
	"order":       {check: stringList},
	"steps":       {check: arrayOf(objectOf(stepFields))},
	"titles":      {check: mapOf(objectOf(titleFields))},
	"validations": {check: arrayOf(objectOf(validationFields))},
}

var buttonFields = fields{
	"identifier": {required: true, check: identifier(0)},
	"label":      {required: true, check: str},
	"variant":    {required: true, check: enum("PRIMARY", "SECONDARY", "DANGER")},
	"icon":       {check: str},
}

// statusLabelFields tag a node run or a run when a branch is taken; text
// may be a template.
var statusLabelFields = fields{
	"text":    {required: true, check: nonEmpty},
	"variant": {check: enum("success", "alert")},
}

var conditionOutletFields = fields{
	"identifier":          {required: true, check: identifier(0)},
	"title":               {check: str},
	"expression":          {required: true, check: nonEmpty},
	"statusLabel":         {check: objectOf(statusLabelFields)},
	"workflowStatusLabel": {check: objectOf(statusLabelFields)},
}

var inputOutletFields = fields{
	"identifier":          {required: true, check: identifier(0)},
	"title":               {check: str},
	"numOfResponders":     {check: intMin(1)},
	"evaluationMethod":    {check: enum("button")},
	"statusLabel":         {check: objectOf(statusLabelFields)},
	"workflowStatusLabel": {check: objectOf(statusLabelFields)},
}

// notificationFields is one target an INPUT node notifies besides its
// responders: an email with fields, or a webhook.
var notificationFields = fields{
	// target is Port's name (port-skills node-types.md, the terraform
	// provider's node.input.notifications); type is accepted as its alias,
	// as sluice's own spec writes it. One of them is required.
	"target": {check: enum("email", "webhook")},
	"type":   {check: enum("email", "webhook")},
	"fields": {check: arrayOf(objectOf(fields{
		"label": {required: true, check: str},
		"value": {required: true, check: str},
	}))},
	"url":     {check: nonEmpty},
	"method":  {check: enum("GET", "POST", "PUT", "PATCH", "DELETE")},
	"headers": {check: mapOf(str)},
	"body":    {check: objectOrArray},
	"agent":   {check: boolean},
}

// contextFields is where Port's UI offers a self-serve trigger besides the
// self-service page.
var contextFields = fields{
	"on":                  {required: true, check: enum("CREATE_ENTITY", "ENTITY", "SELF_SERVICE_HUB")},
	"blueprintIdentifier": {check: nonEmpty},
	"userInput":           {check: nonEmpty},
	"visible":             {check: boolean},
}

// mcpServerFields names an MCP server (an _mcp_server entity) an AI node
// may use.
var mcpServerFields = fields{"identifier": {required: true, check: nonEmpty}}

// aiFields are shared by the AI and AI_AGENT nodes.
var aiFields = fields{
	"userPrompt":   {required: true, check: nonEmpty},
	"provider":     {check: nonEmpty},
	"model":        {check: nonEmpty},
	"mcpServers":   {check: arrayOf(objectOf(mcpServerFields))},
	"outputSchema": {check: outputSchema},
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
			"userInputs":              {check: objectOf(userInputsFields)},
			"permissions":             {check: objectOf(triggerPermissionsFields)},
			"actionCardButtonText":    {check: strMax(maxButtonTextLen)},
			"executeActionButtonText": {check: strMax(maxButtonTextLen)},
			"variant":                 {check: enum("DEFAULT", "ALERT")},
			"contexts":                {check: arrayOf(objectOf(contextFields))},
		}),
		finish: finishSelfServe,
	},
	TypeEventTrigger: {
		kind: kindTrigger,
		config: triggerBase.with(fields{
			"event": {required: true, check: objectOf(fields{
				"type":                {required: true, check: enum("ENTITY_CREATED", "ENTITY_UPDATED", "ENTITY_DELETED", "ANY_ENTITY_CHANGE", "TIMER_EXPIRED")},
				"blueprintIdentifier": {required: true, check: nonEmpty},
				"propertyIdentifier":  {check: nonEmpty},
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
			"agent":          {check: boolean},
			// verbose in the config is where docs.port.io's webhook page
			// puts it; sluice's node-level verbose is the same switch.
			"verbose": {check: boolean},
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
			"integrationProvider":                  {required: true, literal: true, check: nonEmpty},
			"integrationInvocationType":            {required: true, literal: true, check: nonEmpty},
			"integrationActionExecutionProperties": {required: true, check: anyObject},
			"reportWorkflowStatus":                 {check: boolean},
			"deferIntegrationInstallation":         {check: boolean},
		}),
		secrets:    []string{"integrationActionExecutionProperties"},
		secretsWhy: "this field is not sent to the integration's workflow; it is shown on the node run",
		finish:     finishIntegration,
	},
	TypeCondition: {
		kind: kindFlow,
		config: flowBase.with(fields{
			"outlets": {check: arrayOf(objectOf(conditionOutletFields))},
			"options": {check: arrayOf(objectOf(conditionOutletFields))},
		}),
		secretsWhy: "a CONDITION node sends nothing out; its config is stored and shown",
		finish:     finishCondition,
	},
	TypeInput: {
		kind: kindFlow,
		config: flowBase.with(fields{
			"userInputs":    {required: true, check: objectOf(userInputsFields.with(fields{"buttons": {required: true, check: arrayOf(objectOf(buttonFields))}}))},
			"description":   {check: str},
			"outlets":       {check: arrayOf(objectOf(inputOutletFields))},
			"options":       {check: arrayOf(objectOf(inputOutletFields))},
			"responders":    {check: objectOf(respondersFields)},
			"notifications": {check: arrayOf(objectOf(notificationFields))},
		}),
		secretsWhy: whyInput,
		finish:     finishInput,
	},
}

// whyAI is why .secrets is refused in an AI_AGENT node's config: the agent
// is hosted by Port and the node never runs in sluice.
const whyAI = "a language model may echo a prompt transformed beyond what masking recognises into its answer, which is stored and shown; the provider's API key is its own secret (sluice ai providers add --api-key-secret)"

// whyAIFields is why .secrets is refused in an AI node's members other
// than its prompts: they are not sent to the model as text but stored and
// shown on the node run (decision 013, revised).
const whyAIFields = "only userPrompt and systemPrompt are sent to the model; this field is stored and shown on the node run"

// warnAIPrompt is the save-time warning for a prompt that reads .secrets
// (spec/secrets.md, "Known limits").
const warnAIPrompt = "reads .secrets: the value is sent to the model, and its answer, tool calls, logs and errors are masked like any response, but a model may transform a value (spell it out, reverse it, translate it) beyond what masking recognises, the known limit of any outbound field; the provider's API key needs no prompt (sluice ai providers add --api-key-secret)"

// TypeAI, TypeAIAgent and TypeCursorAgent are Port's AI nodes
// (port-labs/port-skills skills/port-workflows/references/node-types.md;
// terraform-provider-port-labs port/workflow). internal/node/ai runs AI
// nodes; AI_AGENT and CURSOR_AGENT name agents Port hosts, and fail.
func init() {
	nodeTypes[TypeAI] = &nodeType{
		kind: kindAction,
		config: actionBase.with(aiFields).with(fields{
			"systemPrompt": {check: str},
			"tools":        {check: stringList},
			// sluice's own: the node's time limit and its bound of tool
			// rounds (docs/ai.md).
			"timeoutSeconds": {check: positiveUpTo(3600)},
			"maxToolRounds":  {check: intMin(1)},
		}),
		secrets:     []string{"userPrompt", "systemPrompt"},
		secretsWhy:  whyAIFields,
		secretsWarn: warnAIPrompt,
		finish:      finishAI,
	}
	nodeTypes[TypeAIAgent] = &nodeType{
		kind:       kindAction,
		config:     actionBase.with(aiFields).with(fields{"agentIdentifier": {required: true, check: nonEmpty}}),
		secretsWhy: whyAI,
		finish:     finishAI,
	}
	nodeTypes[TypeCursorAgent] = &nodeType{
		kind: kindAction,
		config: actionBase.with(fields{
			"apiKey": {required: true, check: nonEmpty},
			"prompt": {required: true, check: objectOf(fields{"text": {required: true, check: nonEmpty}})},
			"source": {required: true, check: objectOf(fields{
				"repository": {check: nonEmpty},
				"prUrl":      {check: nonEmpty},
				"ref":        {check: nonEmpty},
			})},
			"model":  {check: nonEmpty},
			"target": {check: objectOf(fields{"autoCreatePr": {check: boolean}, "branchName": {check: nonEmpty}})},
		}),
		secrets:    []string{"apiKey"},
		secretsWhy: "only apiKey is sent to Cursor and not stored; the prompt and the agent's summary are shown on the node run",
		finish:     finishCursor,
	}
}

// jqOr accepts {"jqQuery": "..."} or a value that passes check.
func jqOr(c check) check {
	return func(r *report, path string, v *jv) {
		if r.describe != nil {
			describeObject(r, path, jqQueryFields)
		}
		if v.kind == jObject && v.get("jqQuery") != nil {
			object(r, path, v, jqQueryFields)
			return
		}
		c(r, path, v)
	}
}

// ruleQuery accepts Port's {combinator, rules} query objects (a trigger's
// permissions policy, an INPUT node's usersQuery); the rules are a large
// union left to Port's meaning, so only the envelope is checked.
func ruleQuery(r *report, path string, v *jv) {
	object(r, path, v, fields{
		"combinator": {required: true, check: enum("and", "or")},
		"rules":      {required: true, check: anyArray},
	})
}

// outputSchema accepts a JSON Schema object whose type is "object", the only
// shape Port accepts for an AI node's structured output.
func outputSchema(r *report, path string, v *jv) {
	if !isKind(r, path, v, jObject) {
		return
	}
	if t := v.get("type"); t == nil || t.kind != jString || t.s != "object" {
		r.errorf(path+".type", `must be "object": an output schema describes a JSON object`)
	}
}

// anyArray accepts any array.
func anyArray(r *report, path string, v *jv) { isKind(r, path, v, jArray) }
