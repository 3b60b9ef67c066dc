package workflow

import (
	"testing"
)

// eventTrig builds a workflow of an EVENT_TRIGGER with the given condition
// expression (a JSON string) and a WEBHOOK "a" after it.
func eventTrig(expr string) string {
	return def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_UPDATED","blueprintIdentifier":"service"},`+
		`"condition":{"type":"JQ","expressions":[`+expr+`],"combinator":"and"}}},`+hook("a"), toA)
}

// TestPortDocumentedShapesAccepted runs shapes taken from Port's published
// examples (cited per case) through Parse: each must validate.
func TestPortDocumentedShapesAccepted(t *testing.T) {
	tests := []struct{ name, source, def string }{
		{"event trigger output context", "port-docs docs/workflows/build-workflows/event-trigger.md, Outputs",
			def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_UPDATED","blueprintIdentifier":"service"}}},`+
				`{"identifier":"a","config":{"type":"WEBHOOK","url":"https://api.example.com/notify","body":{"id":"{{ .outputs.trigger.context.entityIdentifier }}","bp":"{{ .outputs.trigger.context.blueprintIdentifier }}"}}}`, toA)},
		{"event condition on the diff", "port-docs event-trigger.md, Common condition patterns",
			eventTrig(`".diff.before.properties.status != .diff.after.properties.status"`)},
		{"event condition on the context", "port-docs event-trigger.md, Outputs",
			eventTrig(`".context.entityIdentifier == \"api\""`)},
		{"variables over the raw output", "port-docs docs/workflows/data-flow.md (variables evaluated against the raw output)",
			withVars(`{"request_id":"{{ .response.data.requestId }}","response":"{{ null }}"}`)},
		{"variables under .result", "port-skills skills/port-workflows/references/data-flow.md",
			withVars(`{"entity":"{{ .result.response.data.entities[0] }}","triggerInput":"{{ .outputs.trigger.serviceId }}"}`)},
		{"run context in a body", "port-skills references/data-flow.md, Workflow run context",
			withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"run":"{{ .workflowRun.identifier }}","by":"{{ .workflowRun.trigger.by.email }}","node":"{{ .workflowNodeRun.identifier }}","wf":"{{ .workflow.identifier }}"}}`)},
		{"upsert team list and fromjson relation", "port-docs build-workflows/action-nodes/upsert-entity.md",
			withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"{{ .outputs.trigger.bp }}","mapping":{"identifier":"my-service","team":["team-a","team-b"],"relations":{"dependencies":"{{ .outputs.trigger.dependencies | fromjson }}"}}}`)},
		{"JQ helpers port-skills lists", "port-skills references/data-flow.md, JQ helpers",
			withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"a":"{{ .outputs.trigger.name | ascii_downcase | gsub(\" \"; \"-\") }}","b":"{{ if .outputs.trigger.x then \"yes\" else \"no\" end }}","c":"{{ .outputs.trigger.s // \"default\" }}","d":"{{ .outputs.trigger.v | tostring }}","e":"{{ now | todateiso8601 }}"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, probs := Parse([]byte(tt.def)); len(probs.Errors) > 0 {
				t.Errorf("%s: Port documents this, sluice rejects it: %v", tt.source, probs.Errors)
			}
		})
	}
}

// TestPortShapesRefused checks that what Port's material shows but sluice
// would run differently, or not at all, is refused when saved, at its path,
// with what to write instead. The worst case is a definition that validates
// and then runs with nulls: these are the reads of a top-level key the
// expression's context does not have.
func TestPortShapesRefused(t *testing.T) {
	tests := []struct{ name, def, path, msg string }{
		// A self-service action's .inputs, read in a workflow (Port's
		// workflows read the trigger's output: port-docs data-flow.md).
		{"inputs in a body", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .inputs.name }}"}}`),
			"nodes[1].config.body.n", ".outputs.trigger.NAME"},
		{"entity in a body", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .entity.identifier }}"}}`),
			"nodes[1].config.body.n", ".outputs.trigger.diff.after"},
		{"trigger in a url", withA(`{"type":"WEBHOOK","url":"https://x.io/{{ .trigger.by.user.email }}"}`),
			"nodes[1].config.url", ".workflowRun.trigger.by"},
		{"response in a config", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .response.data.id }}"}}`),
			"nodes[1].config.body.n", `.outputs["NODE"].response`},
		{"result in a config", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"b","mapping":{"identifier":"{{ .result.id }}"}}`),
			"nodes[1].config.mapping.identifier", "only in variables and links"},
		{"unknown root, quoted", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .[\"my-key\"] }}"}}`),
			"nodes[1].config.body.n", `reads .["my-key"]`},
		{"unknown root lists the context", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"n":"{{ .foo }}"}}`),
			"nodes[1].config.body.n", "read from .outputs, .secrets, .workflow, .workflowRun or .workflowNodeRun"},
		{"condition reads the node run", withA(`{"type":"CONDITION","outlets":[{"identifier":"y","expression":".workflowNodeRun.identifier == \"x\""}]}`),
			"nodes[1].config.outlets[0].expression", "read from .outputs, .workflow or .workflowRun"},
		{"event condition reads the entity", eventTrig(`".entity.properties.tier == \"critical\""`),
			"nodes[0].config.condition.expressions[0]", "the entity is .diff.after"},
		{"event condition reads outputs", eventTrig(`".outputs.trigger.diff.after.properties.tier == \"critical\""`),
			"nodes[0].config.condition.expressions[0]", "sees the event itself"},
		// port-docs docs/workflows/nodes.md: CONDITION with conditions and
		// defaultConnectionIdentifier, and GITHUB/GITLAB/AZURE_DEVOPS types.
		{"condition as conditions", withA(`{"type":"CONDITION","conditions":[{"title":"Tier 1","expression":".outputs.trigger.tier == \"tier_1\"","connectionIdentifier":"p"}],"defaultConnectionIdentifier":"d"}`),
			"nodes[1].config.conditions", `"outlets"`},
		{"condition default connection", withA(`{"type":"CONDITION","conditions":[],"defaultConnectionIdentifier":"d"}`),
			"nodes[1].config.defaultConnectionIdentifier", `"fallback": true`},
		{"GITHUB type", withA(`{"type":"GITHUB"}`), "nodes[1].config.type", `"integrationProvider": "github-ocean"`},
		{"GITLAB type", withA(`{"type":"GITLAB"}`), "nodes[1].config.type", `"integrationProvider": "gitlab"`},
		{"AZURE_DEVOPS type", withA(`{"type":"AZURE_DEVOPS"}`), "nodes[1].config.type", "INTEGRATION_ACTION"},
		// Go-template/sprig in Port's docs (upsert-entity.md, kafka.md,
		// examples.md): refused, naming the jq to write.
		{"sprig date", withA(`{"type":"KAFKA","payload":{"timestamp":"{{ now | date \"2006-01-02T15:04:05Z\" }}"}}`),
			"nodes[1].config.payload.timestamp", "now | todateiso8601"},
		{"sprig lower and replace", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"environment","mapping":{"identifier":"{{ .outputs.trigger.name | lower | replace \" \" \"-\" }}"}}`),
			"nodes[1].config.mapping.identifier", "ascii_downcase"},
		{"sprig lower alone", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"environment","mapping":{"identifier":"{{ .outputs.trigger.name | lower }}"}}`),
			"nodes[1].config.mapping.identifier", "function not defined: lower/0 (lower is Go-template/sprig syntax; templates are jq: write ascii_downcase)"},
		{"sprig add_duration", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"e","mapping":{"properties":{"expiresAt":"{{ now | add_duration (printf \"%dh\" (mul .outputs.trigger.ttlDays 24)) | date \"2006-01-02T15:04:05Z\" }}"}}}`),
			"nodes[1].config.mapping.properties.expiresAt", "now + SECONDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, probs := Parse([]byte(tt.def))
			if wf != nil {
				t.Fatalf("Parse accepted it; warnings: %v", probs.Warnings)
			}
			if !find(probs.Errors, tt.path, tt.msg) {
				t.Fatalf("no error %q at %s; errors: %v", tt.msg, tt.path, probs.Errors)
			}
		})
	}
}

// TestWebhookAgentWarns checks that Port's agent mode, which sluice cannot
// honour (it has no Port Execution Agent: docs.port.io/workflows/nodes,
// "Webhook (agent mode)"), is said when saved rather than ignored.
func TestWebhookAgentWarns(t *testing.T) {
	tests := []struct {
		name  string
		agent string
		warn  bool
	}{
		{"agent true", `true`, true},
		{"agent false", `false`, false},
		{"no agent", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := ""
			if tt.agent != "" {
				member = `,"agent":` + tt.agent
			}
			wf, probs := Parse([]byte(withA(`{"type":"WEBHOOK","url":"https://x.io"` + member + `}`)))
			if wf == nil {
				t.Fatalf("rejected: %v", probs.Errors)
			}
			if got := find(probs.Warnings, "nodes[1].config.agent", "no Port Execution Agent"); got != tt.warn {
				t.Errorf("warned = %v, want %v: %v", got, tt.warn, probs.Warnings)
			}
		})
	}
}

// TestWebhookVerboseInConfig checks verbose where docs.port.io's webhook
// page puts it (in the config) and where sluice did (on the node): either
// turns it on.
func TestWebhookVerboseInConfig(t *testing.T) {
	tests := []struct {
		name, node, config string
		want               bool
	}{
		{"in the config", ``, `,"verbose":true`, true},
		{"on the node", `,"verbose":true`, ``, true},
		{"config false", ``, `,"verbose":false`, false},
		{"neither", ``, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := def(trig+`,{"identifier":"a"`+tt.node+`,"config":{"type":"WEBHOOK","url":"https://x.io"`+tt.config+`}}`, toA)
			wf, probs := Parse([]byte(src))
			if wf == nil {
				t.Fatalf("rejected: %v", probs.Errors)
			}
			if got := wf.Node("a").Verbose; got != tt.want {
				t.Errorf("Verbose = %v, want %v", got, tt.want)
			}
		})
	}
	if _, probs := Parse([]byte(withA(`{"type":"WEBHOOK","url":"https://x.io","verbose":"yes"}`))); !find(probs.Errors, "nodes[1].config.verbose", "must be a boolean") {
		t.Errorf("a string verbose: %v", probs.Errors)
	}
}
