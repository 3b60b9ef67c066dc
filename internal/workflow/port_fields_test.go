package workflow

import (
	"strings"
	"testing"
)

// TestPortFieldsReject checks that Port's fields are validated to Port's
// rules, and that a typo in one still gets a "did you mean".
func TestPortFieldsReject(t *testing.T) {
	ai := func(members string) string {
		return withA(`{"type":"AI","userPrompt":"hi"` + members + `}`)
	}
	tests := []struct{ name, def, path, msg string }{
		{"typo of a Port field", selfServe(`"actionCardButonText":"Go"`), "nodes[0].config.actionCardButonText", "did you mean actionCardButtonText?"},
		{"typo in an input", selfServe(`"userInputs":{"properties":{"x":{"type":"string","enumColor":{}}}}`), "nodes[0].config.userInputs.properties.x.enumColor", "did you mean enumColors?"},
		{"button text too long", selfServe(`"executeActionButtonText":"` + strings.Repeat("x", 16) + `"`), "nodes[0].config.executeActionButtonText", "at most 15 characters"},
		{"variant", selfServe(`"variant":"RED"`), "nodes[0].config.variant", "must be one of DEFAULT, ALERT"},
		{"null not allowed", selfServe(`"variant":null`), "nodes[0].config.variant", "must be a string, not null"},
		{"entity context without input", selfServe(`"contexts":[{"on":"ENTITY"}]`), "nodes[0].config.contexts[0].userInput", "required when on is ENTITY"},
		{"entity context on a text input", selfServe(`"userInputs":{"properties":{"s":{"type":"string"}}},"contexts":[{"on":"ENTITY","userInput":"s"}]`), "nodes[0].config.contexts[0].userInput", "format entity"},
		{"create context with input", selfServe(`"contexts":[{"on":"CREATE_ENTITY","blueprintIdentifier":"b","userInput":"s"}]`), "nodes[0].config.contexts[0].userInput", "applies only when on is ENTITY"},
		{"policy combinator", selfServe(`"permissions":{"policy":{"combinator":"xor","rules":[]}}`), "nodes[0].config.permissions.policy.combinator", "must be one of and, or"},
		{"jq default reads secrets", selfServe(`"userInputs":{"properties":{"x":{"type":"string","default":{"jqQuery":".secrets.TOKEN"}}}}`), "nodes[0].config.userInputs.properties.x.default.jqQuery", "a trigger's configuration is stored"},
		{"jq visible reads the whole context", selfServe(`"userInputs":{"properties":{"x":{"type":"string","visible":{"jqQuery":"keys | length > 0"}}}}`), "nodes[0].config.userInputs.properties.x.visible.jqQuery", "cannot be proven not to read .secrets"},
		{"jq default syntax", selfServe(`"userInputs":{"properties":{"x":{"type":"string","default":{"jqQuery":".form.x +"}}}}`), "nodes[0].config.userInputs.properties.x.default.jqQuery", "invalid jq expression"},
		{"validation reads secrets", selfServe(`"userInputs":{"properties":{},"validations":[{"constraint":".secrets.X == \"a\"","message":"no"}]}`), "nodes[0].config.userInputs.validations[0].constraint", "secrets may only be used"},
		{"validation message too long", selfServe(`"userInputs":{"properties":{},"validations":[{"constraint":"true","message":"` + strings.Repeat("m", 101) + `"}]}`), "nodes[0].config.userInputs.validations[0].message", "at most 100 characters"},
		{"steps and order", selfServe(`"userInputs":{"properties":{"x":{"type":"string"}},"order":["x"],"steps":[{"title":"One","order":["x"]}]}`), "nodes[0].config.userInputs.order", "cannot be used together with steps"},
		{"step names no input", selfServe(`"userInputs":{"properties":{},"steps":[{"title":"One","order":["y"]}]}`), "nodes[0].config.userInputs.steps[0].order[0]", "names no input"},
		{"dependsOn names no input", selfServe(`"userInputs":{"properties":{"x":{"type":"string","dependsOn":["y"]}}}`), "nodes[0].config.userInputs.properties.x.dependsOn[0]", "names no input"},
		{"required jq reads secrets", selfServe(`"userInputs":{"properties":{},"required":{"jqQuery":".secrets.X"}}`), "nodes[0].config.userInputs.required.jqQuery", "secrets may only be used"},
		{"minItems on a string", selfServe(`"userInputs":{"properties":{"x":{"type":"string","minItems":1}}}`), "nodes[0].config.userInputs.properties.x.minItems", "applies only to array inputs"},
		{"entity input without blueprint", selfServe(`"userInputs":{"properties":{"x":{"type":"string","format":"entity"}}}`), "nodes[0].config.userInputs.properties.x.blueprint", "required for an input of format entity"},
		{"sort order", selfServe(`"userInputs":{"properties":{"x":{"type":"string","format":"entity","blueprint":"b","sort":{"property":"p","order":"UP"}}}}`), "nodes[0].config.userInputs.properties.x.sort.order", "must be one of ASC, DESC"},
		{"timer property on another event", def(`{"identifier":"t","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"e","propertyIdentifier":"ttl"}}}`, ""), "nodes[0].config.event.propertyIdentifier", "applies only to TIMER_EXPIRED"},
		{"status label variant", withA(`{"type":"CONDITION","outlets":[{"identifier":"y","expression":"true","statusLabel":{"text":"ok","variant":"green"}}]}`), "nodes[1].config.outlets[0].statusLabel.variant", "must be one of success, alert"},
		{"outlet identifier templated", withA(`{"type":"CONDITION","outlets":[{"identifier":"y","title":"{{ .outputs.trigger.x }}","expression":"true"}]}`), "nodes[1].config.outlets[0].title", "must be literal"},
		{"notification target", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok"}],"notifications":[{"target":"sms"}]}}`, ""), "nodes[1].config.notifications[0].target", "must be one of email, webhook"},
		{"usersQuery envelope", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok"}],"responders":{"usersQuery":{"rules":[]}}}}`, ""), "nodes[1].config.responders.usersQuery.combinator", "required field is missing"},
		{"webhook agent", withA(`{"type":"WEBHOOK","url":"https://x.io","agent":"yes"}`), "nodes[1].config.agent", "must be a boolean"},
		{"AI without prompt", withA(`{"type":"AI"}`), "nodes[1].config.userPrompt", "required field is missing"},
		{"AI provider without model", ai(`,"provider":"openai"`), "nodes[1].config.model", "set together"},
		{"AI output schema", ai(`,"outputSchema":{"type":"string"}`), "nodes[1].config.outputSchema.type", `must be "object"`},
		{"AI too many MCP servers", ai(`,"mcpServers":[{"identifier":"a"},{"identifier":"b"},{"identifier":"c"},{"identifier":"d"},{"identifier":"e"},{"identifier":"f"}]`), "nodes[1].config.mcpServers", "at most 5"},
		{"AI model reads a secret", ai(`,"provider":"p","model":"{{ .secrets.X }}"`), "nodes[1].config.model", "only userPrompt and systemPrompt are sent"},
		{"AI agent reads a secret", withA(`{"type":"AI_AGENT","agentIdentifier":"a","userPrompt":"{{ .secrets.X }}"}`), "nodes[1].config.userPrompt", "transformed beyond what masking recognises"},
		{"AI agent without agent", withA(`{"type":"AI_AGENT","userPrompt":"hi"}`), "nodes[1].config.agentIdentifier", "required field is missing"},
		{"AI typo type", withA(`{"type":"AI_AGNT","userPrompt":"hi"}`), "nodes[1].config.type", `did you mean "AI_AGENT"?`},
		{"cursor without source", withA(`{"type":"CURSOR_AGENT","apiKey":"{{ .secrets.K }}","prompt":{"text":"x"},"source":{"ref":"main"}}`), "nodes[1].config.source", "needs repository or prUrl"},
		{"cursor secret in prompt", withA(`{"type":"CURSOR_AGENT","apiKey":"{{ .secrets.K }}","prompt":{"text":"{{ .secrets.K }}"},"source":{"prUrl":"https://github.com/o/r/pull/1"}}`), "nodes[1].config.prompt.text", "only apiKey is sent"},
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

// TestPortExportLoads checks a workflow as Port's GET returns it: orgId and
// the other server fields are ignored, nulls are accepted where Port's
// schema allows them and kept in Source, every node may carry variables.
func TestPortExportLoads(t *testing.T) {
	export := `{"id":"wf_1","orgId":"org_1","identifier":"w","title":null,"icon":null,"description":null,"category":null,` +
		`"allowAnyoneToViewRuns":true,"version":3,"createdBy":"u","updatedBy":"u","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z",` +
		`"nodes":[{"identifier":"trigger","title":null,"icon":null,"description":null,"config":{"type":"SELF_SERVE_TRIGGER","userInputs":{"properties":{},"required":[]}},"variables":{}},` +
		`{"identifier":"a","title":null,"config":{"type":"WEBHOOK","url":"https://x.io"},"variables":{},"links":[]}],` +
		`"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"a","description":null}]}`
	wf, probs := Parse([]byte(export))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	src := string(wf.Source)
	for _, gone := range []string{`"orgId"`, `"version"`, `"id"`, `"createdAt"`} {
		if strings.Contains(src, gone) {
			t.Errorf("Source keeps the server field %s: %s", gone, src)
		}
	}
	if !strings.Contains(src, `"title":null`) {
		t.Errorf("Source lost the nulls: %s", src)
	}
	if wf.Title != "" || wf.Node("a").Variables != nil || wf.Node("trigger").Variables != nil {
		t.Errorf("null or empty fields read as values: %+v", wf)
	}
}
