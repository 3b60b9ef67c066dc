package workflow

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const examplesDir = "../../examples/port"

// def builds a workflow definition from node and connection fragments.
func def(nodes, conns string) string {
	return `{"identifier":"w","nodes":[` + nodes + `],"connections":[` + conns + `]}`
}

// Node fragments used by the tables.
const (
	trig  = `{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER"}}`
	toA   = `{"sourceIdentifier":"trigger","targetIdentifier":"a"}`
	cond  = `{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"yes","expression":".outputs.trigger.x == 1"}]}}`
	input = `{"identifier":"i","config":{"type":"INPUT","userInputs":{"properties":{},"buttons":[{"identifier":"approve","label":"Approve","variant":"PRIMARY"}]},"outlets":[{"identifier":"approve","numOfResponders":2}]}}`
)

// hook returns a WEBHOOK node fragment.
func hook(id string) string {
	return `{"identifier":"` + id + `","config":{"type":"WEBHOOK","url":"https://example.com/x"}}`
}

// withA builds a workflow of the trigger and one node "a" with the given
// config, connected.
func withA(config string) string {
	return def(trig+`,{"identifier":"a","config":`+config+`}`, toA)
}

// selfServe builds a workflow whose trigger has the given config members.
func selfServe(members string) string {
	return def(`{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER",`+members+`}},`+hook("a"), toA)
}

// find returns the problem with the path whose message contains msg.
func find(ps []Problem, path, msg string) bool {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

func TestParseRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	var many strings.Builder
	for i := 0; i < 101; i++ {
		many.WriteString(`,` + hook("n"+strings.Repeat("x", i)))
	}
	secretTitle := `{{ .secrets.TOKEN }}`
	tests := []struct {
		name, def, path, msg string
	}{
		// The document.
		{"malformed", `{"identifier": "w",`, "", "malformed JSON at line 1"},
		{"malformed line and column", "{\n  \"identifier\": }", "identifier", "line 2, column 17"},
		{"malformed in a node", `{"identifier": "w", "nodes": [{"identifier": "a"}, {"config": {"type": "WEBHOOK",}}]}`, "nodes[1].config", "line 1, column 82"},
		{"trailing data", def(trig, "") + ` {}`, "", "unexpected data after the top-level value"},
		{"not an object", `[1]`, "", "must be an object, not an array"},
		{"too deep", strings.Repeat("[", 200) + strings.Repeat("]", 200), "", "nested deeper than"},
		{"duplicate key", `{"identifier":"w","title":"a","title":"b","nodes":[` + trig + `]}`, "title", "duplicate key"},
		{"invalid UTF-8", "{\"identifier\":\"w\",\"title\":\"ab\xff\xfe\",\"nodes\":[" + trig + "]}", "title", "is not valid UTF-8"},
		{"invalid UTF-8 in a header", withA("{\"type\":\"WEBHOOK\",\"url\":\"https://x.io\",\"headers\":{\"X\":\"\xc3\"}}"), "nodes[1].config.headers.X", "is not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"identifier\":\"w\",\"k\xff\":1,\"nodes\":[" + trig + "]}", "", "holds a key that is not valid UTF-8"},
		{"lone surrogate", `{"identifier":"w","title":"\ud800","nodes":[` + trig + `]}`, "title", "lone UTF-16 surrogate"},

		// The workflow.
		{"unknown field", `{"identifier":"w","titel":"x","nodes":[` + trig + `]}`, "titel", "unknown field (did you mean title?)"},
		{"wrong type", `{"identifier":"w","title":5,"nodes":[` + trig + `]}`, "title", "must be a string, not a number"},
		{"identifier missing", `{"nodes":[` + trig + `]}`, "identifier", "required field is missing"},
		{"identifier too long", `{"identifier":"` + strings.Repeat("a", 61) + `","nodes":[` + trig + `]}`, "identifier", "at most 60 characters"},
		{"identifier pattern", `{"identifier":"a b","nodes":[` + trig + `]}`, "identifier", "may contain only letters, digits and @ _ : -"},
		{"title too long", `{"identifier":"w","title":"` + long(101) + `","nodes":[` + trig + `]}`, "title", "at most 100 characters"},
		{"description too long", `{"identifier":"w","description":"` + long(1101) + `","nodes":[` + trig + `]}`, "description", "at most 1100"},
		{"category too long", `{"identifier":"w","category":"` + long(41) + `","nodes":[` + trig + `]}`, "category", "at most 40"},
		{"allowAnyoneToViewRuns type", `{"identifier":"w","allowAnyoneToViewRuns":"yes","nodes":[` + trig + `]}`, "allowAnyoneToViewRuns", "must be a boolean"},
		{"nodes missing", `{"identifier":"w"}`, "nodes", "required field is missing"},
		{"too many nodes", def(trig+many.String(), ""), "nodes", "at most 100 nodes"},
		{"no trigger", def(hook("a"), ""), "nodes", "at least one trigger node"},

		// Nodes.
		{"node unknown field", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"varibles":{}}`, toA), "nodes[1].varibles", "did you mean variables?"},
		{"node identifier pattern", def(trig+`,{"identifier":"a/b","config":{"type":"WEBHOOK","url":"https://x.io"}}`, ""), "nodes[1].identifier", "may contain only"},
		{"duplicate node", def(trig+","+hook("a")+","+hook("a"), toA), "nodes[2].identifier", `duplicate node identifier "a" (also nodes[1])`},
		{"unknown type", withA(`{"type":"EMAIL"}`), "nodes[1].config.type", `node "a" has an unknown type "EMAIL"`},
		{"type missing", withA(`{"url":"https://x.io"}`), "nodes[1].config.type", `node "a" needs a type`},
		{"config missing", def(trig+`,{"identifier":"a"}`, toA), "nodes[1].config", "required field is missing"},
		{"variables on trigger read secrets", def(`{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER"},"variables":{"x":"{{ .secrets.X }}"}}`, ""), "nodes[0].variables.x", "variables are stored"},
		{"button without variant", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK"}]},"outlets":[{"identifier":"ok"}]}}`, ""), "nodes[1].config.userInputs.buttons[0].variant", "required field is missing"},
		{"too many links", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"links":["a","b","c","d"]}`, toA), "nodes[1].links", "at most 3 links"},
		{"verbose type", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"verbose":1}`, toA), "nodes[1].verbose", "must be a boolean"},

		// WEBHOOK.
		{"url missing", withA(`{"type":"WEBHOOK"}`), "nodes[1].config.url", "required field is missing"},
		{"unknown config field", withA(`{"type":"WEBHOOK","urll":"https://x.io","url":"https://x.io"}`), "nodes[1].config.urll", "unknown field (did you mean url?)"},
		{"url not http", withA(`{"type":"WEBHOOK","url":"ftp://x.io/a"}`), "nodes[1].config.url", "absolute http or https URL"},
		{"method", withA(`{"type":"WEBHOOK","url":"https://x.io","method":"FETCH"}`), "nodes[1].config.method", "must be one of GET, POST, PUT, PATCH, DELETE"},
		{"header value", withA(`{"type":"WEBHOOK","url":"https://x.io","headers":{"X-Count":1}}`), `nodes[1].config.headers["X-Count"]`, "must be a string"},
		{"body type", withA(`{"type":"WEBHOOK","url":"https://x.io","body":"text"}`), "nodes[1].config.body", "must be an object or an array"},
		{"synchronized templated", withA(`{"type":"WEBHOOK","url":"https://x.io","synchronized":"{{ .outputs.trigger.s }}"}`), "nodes[1].config.synchronized", "not templated"},
		{"onTimeout", withA(`{"type":"WEBHOOK","url":"https://x.io","onTimeout":"retry"}`), "nodes[1].config.onTimeout", "must be one of fail, continue"},
		{"timeout zero", withA(`{"type":"WEBHOOK","url":"https://x.io","timeoutSeconds":0}`), "nodes[1].config.timeoutSeconds", "greater than 0 and at most 86400"},
		{"timeout too long", withA(`{"type":"WEBHOOK","url":"https://x.io","timeoutSeconds":86401}`), "nodes[1].config.timeoutSeconds", "at most 86400"},
		{"onFailure", withA(`{"type":"WEBHOOK","url":"https://x.io","onFailure":"retry"}`), "nodes[1].config.onFailure", "must be one of terminate, continue"},
		{"onFailure templated", withA(`{"type":"WEBHOOK","url":"https://x.io","onFailure":"{{ .outputs.trigger.f }}"}`), "nodes[1].config.onFailure", "must be one of"},
		{"expression error", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","expression":"((("}]}}`, ""), "nodes[1].config.outlets[0].expression", "invalid expression at position"},
		{"sandboxed template", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"home":"{{ env.HOME }}"}}`), "nodes[1].config.body.home", "invalid template at position"},
		{"link template error", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"links":["{{ .result"]}`, toA), "nodes[1].links[0]", "invalid template"},
		{"variables template error", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"variables":{"v":"{{ ) }}"}}`, toA), "nodes[1].variables.v", "invalid template at position"},
		{"template error", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"x":"{{ ) }}"}}`), "nodes[1].config.body.x", "invalid template at position"},

		// Other actions.
		{"kafka payload missing", withA(`{"type":"KAFKA"}`), "nodes[1].config.payload", "required field is missing"},
		{"kafka payload type", withA(`{"type":"KAFKA","payload":1}`), "nodes[1].config.payload", "object or an array"},
		{"upsert mapping field", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"svc","mapping":{"identifier":"x","propertiez":{}}}`), "nodes[1].config.mapping.propertiez", "did you mean properties?"},
		{"upsert blueprint missing", withA(`{"type":"UPSERT_ENTITY","mapping":{}}`), "nodes[1].config.blueprintIdentifier", "required"},
		{"integration provider templated", withA(`{"type":"INTEGRATION_ACTION","installationId":"1","integrationProvider":"{{ .outputs.trigger.p }}","integrationInvocationType":"dispatch_workflow","integrationActionExecutionProperties":{}}`), "nodes[1].config.integrationProvider", "must be literal"},
		{"timer without property", def(`{"identifier":"t","config":{"type":"EVENT_TRIGGER","event":{"type":"TIMER_EXPIRED","blueprintIdentifier":"env"}}}`, ""), "nodes[0].config.event.propertyIdentifier", "required when the event type is TIMER_EXPIRED"},
		{"github input not a string", withA(`{"type":"INTEGRATION_ACTION","installationId":"1","integrationProvider":"github-ocean","integrationInvocationType":"dispatch_workflow","integrationActionExecutionProperties":{"workflowInputs":{"count":3}}}`), "nodes[1].config.integrationActionExecutionProperties.workflowInputs.count", "| tostring"},
		{"github input a boolean", withA(`{"type":"INTEGRATION_ACTION","installationId":"1","integrationProvider":"GITHUB","integrationInvocationType":"CREATE","integrationActionExecutionProperties":{"inputs":{"dry":true}}}`), "nodes[1].config.integrationActionExecutionProperties.inputs.dry", "must be strings, got a boolean"},
		{"integration report type", withA(`{"type":"INTEGRATION_ACTION","installationId":"1","integrationProvider":"gitlab","integrationInvocationType":"trigger_pipeline","integrationActionExecutionProperties":{},"reportWorkflowStatus":"yes"}`), "nodes[1].config.reportWorkflowStatus", "must be a boolean"},

		// Triggers.
		{"permissions field", selfServe(`"permissions":{"groups":["x"]}`), "nodes[0].config.permissions.groups", "unknown field"},
		{"input type", selfServe(`"userInputs":{"properties":{"x":{"type":"date"}}}`), "nodes[0].config.userInputs.properties.x.type", "must be one of string, number, boolean, object, array"},
		{"input type missing", selfServe(`"userInputs":{"properties":{"x":{"title":"X"}}}`), "nodes[0].config.userInputs.properties.x.type", "required"},
		{"input unknown field", selfServe(`"userInputs":{"properties":{"x":{"type":"string","minLenght":1}}}`), "nodes[0].config.userInputs.properties.x.minLenght", "did you mean minLength?"},
		{"required names", selfServe(`"userInputs":{"properties":{"x":{"type":"string"}},"required":["y"]}`), "nodes[0].config.userInputs.required[0]", `no property "y"`},
		{"order names", selfServe(`"userInputs":{"properties":{"x":{"type":"string"}},"order":["x","z"]}`), "nodes[0].config.userInputs.order[1]", `no property "z"`},
		{"pattern", selfServe(`"userInputs":{"properties":{"x":{"type":"string","pattern":"a(b"}}}`), "nodes[0].config.userInputs.properties.x.pattern", "not a valid regular expression"},
		{"default enum", selfServe(`"userInputs":{"properties":{"x":{"type":"string","enum":["a","b"],"default":"c"}}}`), "nodes[0].config.userInputs.properties.x.default", "must be one of a, b"},
		{"default type", selfServe(`"userInputs":{"properties":{"x":{"type":"number","default":"1"}}}`), "nodes[0].config.userInputs.properties.x.default", "must be a number"},
		{"default maximum", selfServe(`"userInputs":{"properties":{"x":{"type":"number","maximum":3,"default":4}}}`), "nodes[0].config.userInputs.properties.x.default", "at most 3"},
		{"enum type", selfServe(`"userInputs":{"properties":{"x":{"type":"string","enum":["a",2]}}}`), "nodes[0].config.userInputs.properties.x.enum[1]", "must be a string"},
		{"minLength on number", selfServe(`"userInputs":{"properties":{"x":{"type":"number","minLength":1}}}`), "nodes[0].config.userInputs.properties.x.minLength", "applies only to string inputs"},
		{"min over max", selfServe(`"userInputs":{"properties":{"x":{"type":"string","minLength":3,"maxLength":2}}}`), "nodes[0].config.userInputs.properties.x.maxLength", "must not be less than minLength"},
		{"buttons on trigger", selfServe(`"userInputs":{"properties":{},"buttons":[]}`), "nodes[0].config.userInputs.buttons", "unknown field"},
		{"published type", selfServe(`"published":"no"`), "nodes[0].config.published", "must be a boolean"},
		{"event type", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_MOVED","blueprintIdentifier":"svc"}}},`+hook("a"), toA), "nodes[0].config.event.type", "must be one of ENTITY_CREATED"},
		{"event missing", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER"}},`+hook("a"), toA), "nodes[0].config.event", "required"},
		{"event condition type", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"svc"},"condition":{"type":"JS","expressions":["true"]}}},`+hook("a"), toA), "nodes[0].config.condition.type", "must be one of JQ"},
		{"event combinator", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"svc"},"condition":{"type":"JQ","expressions":["true"],"combinator":"xor"}}},`+hook("a"), toA), "nodes[0].config.condition.combinator", "must be one of and, or"},
		{"cron fields", def(`{"identifier":"trigger","config":{"type":"SCHEDULE_TRIGGER","cron":"* * * *"}},`+hook("a"), toA), "nodes[0].config.cron", "has 5 fields"},
		{"cron range", def(`{"identifier":"trigger","config":{"type":"SCHEDULE_TRIGGER","cron":"0 24 * * *"}},`+hook("a"), toA), "nodes[0].config.cron", "field 2 (hour): 24 is out of range 0-23"},
		{"cron step", def(`{"identifier":"trigger","config":{"type":"SCHEDULE_TRIGGER","cron":"*/0 * * * *"}},`+hook("a"), toA), "nodes[0].config.cron", "step"},
		{"cron backwards", def(`{"identifier":"trigger","config":{"type":"SCHEDULE_TRIGGER","cron":"0 0 * * FRI-MON"}},`+hook("a"), toA), "nodes[0].config.cron", "backwards"},

		// Flow nodes.
		{"outlets missing", def(trig+`,{"identifier":"c","config":{"type":"CONDITION"}}`, ""), "nodes[1].config.outlets", "required"},
		{"outlets empty", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[]}}`, ""), "nodes[1].config.outlets", "at least one outlet"},
		{"outlet expression missing", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y"}]}}`, ""), "nodes[1].config.outlets[0].expression", "required"},
		{"outlet duplicate", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","expression":"true"},{"identifier":"y","expression":"false"}]}}`, ""), "nodes[1].config.outlets[1].identifier", `duplicate outlet identifier "y"`},
		{"outlet templated", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","title":"{{ .outputs.trigger.t }}","expression":"true"}]}}`, ""), "nodes[1].config.outlets[0].title", "must be literal"},
		{"options and outlets", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","expression":"true"}],"options":[{"identifier":"y","expression":"true"}]}}`, ""), "nodes[1].config.options", "cannot be used together with outlets"},
		{"input outlet not a button", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"approve"}]}}`, ""), "nodes[1].config.outlets[0].identifier", "must name a button"},
		{"input buttons missing", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"properties":{}},"outlets":[{"identifier":"approve"}]}}`, ""), "nodes[1].config.userInputs.buttons", "required"},
		{"input responders", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok","numOfResponders":0}]}}`, ""), "nodes[1].config.outlets[0].numOfResponders", "at least 1"},

		// Secrets placement.
		{"secret in variables", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"variables":{"token":"{{ .secrets.TOKEN }}"}}`, toA), "nodes[1].variables.token", "variables are stored in the run"},
		{"secret in links", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"links":["https://x.io/{{ .secrets.TOKEN }}"]}`, toA), "nodes[1].links[0]", "links are stored"},
		{"secret in webhook method-adjacent field", withA(`{"type":"WEBHOOK","url":"https://x.io","onFailure":"continue","body":{},"headers":{}, "synchronized":true}` + `,"description":"` + secretTitle + `"`), "nodes[1].description", "secrets may only be used in fields that are sent out"},
		{"secret in kafka topic", withA(`{"type":"KAFKA","payload":{},"topic":"t-{{ .secrets.T }}"}`), "nodes[1].config.topic", "secrets may only be used"},
		{"secret in upsert mapping", withA(`{"type":"UPSERT_ENTITY","blueprintIdentifier":"svc","mapping":{"properties":{"k":"{{ .secrets.K }}"}}}`), "nodes[1].config.mapping.properties.k", "stored in the catalog"},
		{"secret in integration id", withA(`{"type":"INTEGRATION_ACTION","installationId":"{{ .secrets.I }}","integrationProvider":"gitlab","integrationInvocationType":"trigger_pipeline","integrationActionExecutionProperties":{}}`), "nodes[1].config.installationId", "secrets may only be used"},
		{"secret in condition", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","expression":".secrets.X == \"a\""}]}}`, ""), "nodes[1].config.outlets[0].expression", "bit by bit"},
		{"secret in event condition", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"svc"},"condition":{"type":"JQ","expressions":["true",".secrets.X != null"]}}},`+hook("a"), toA), "nodes[0].config.condition.expressions[1]", "secrets may only be used"},
		{"secret in default", selfServe(`"userInputs":{"properties":{"x":{"type":"string","default":"{{ .secrets.X }}"}}}`), "nodes[0].config.userInputs.properties.x.default", "inputs and defaults"},
		{"secret in input title", selfServe(`"userInputs":{"properties":{"x":{"type":"string","title":"{{ .secrets.X }}"}}}`), "nodes[0].config.userInputs.properties.x.title", "not even templated"},
		{"secret in workflow title", `{"identifier":"w","title":"` + secretTitle + `","nodes":[` + trig + `]}`, "title", "stored with the definition"},
		{"dynamic secret in workflow title", `{"identifier":"w","title":"{{ .secrets | keys }}","nodes":[` + trig + `]}`, "title", "secrets may only be used"},
		{"broken secret template in description", `{"identifier":"w","description":"see {{ .secrets.X","nodes":[` + trig + `]}`, "description", "not even templated"},
		{"secret in node title", def(trig+`,{"identifier":"a","title":"`+secretTitle+`","config":{"type":"WEBHOOK","url":"https://x.io"}}`, toA), "nodes[1].title", "secrets may only be used"},
		{"secret in connection description", def(trig+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"a","description":"{{ .secrets.X }}"}`), "connections[0].description", "secrets may only be used"},
		{"secret in input node", def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"properties":{"x":{"type":"string","default":"{{ .secrets.X }}"}},"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok"}]}}`, ""), "nodes[1].config.userInputs.properties.x.default", "shown to its responders"},

		// Connections.
		{"connection unknown field", def(trig+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"a","label":"x"}`), "connections[0].label", "unknown field"},
		{"unknown source", def(trig+","+hook("a"), `{"sourceIdentifier":"nope","targetIdentifier":"a"}`), "connections[0].sourceIdentifier", `no node "nope"`},
		{"unknown target", def(trig+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"nope"}`), "connections[0].targetIdentifier", `no node "nope"`},
		{"target missing", def(trig+","+hook("a"), `{"sourceIdentifier":"trigger"}`), "connections[0].targetIdentifier", "required"},
		{"trigger as target", def(trig+","+hook("a"), toA+`,{"sourceIdentifier":"a","targetIdentifier":"trigger"}`), "connections[1].targetIdentifier", "a trigger cannot be the target"},
		{"self connection", def(trig+","+hook("a"), toA+`,{"sourceIdentifier":"a","targetIdentifier":"a"}`), "connections[1]", "cannot connect to itself"},
		{"cycle", def(trig+","+hook("a")+","+hook("b")+","+hook("d"), toA+`,{"sourceIdentifier":"a","targetIdentifier":"b"},{"sourceIdentifier":"b","targetIdentifier":"d"},{"sourceIdentifier":"d","targetIdentifier":"a"}`), "connections[3]", "closes a cycle: a → b → d → a"},
		{"fan-out", def(trig+","+hook("a")+","+hook("b"), toA+`,{"sourceIdentifier":"trigger","targetIdentifier":"b"}`), "connections[1]", `node "trigger" already leads elsewhere (connections[0])`},
		{"outlet fan-out", def(trig+","+cond+","+hook("a")+","+hook("b"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"yes","targetIdentifier":"a"},{"sourceIdentifier":"c","sourceOutletIdentifier":"yes","targetIdentifier":"b"}`), "connections[2]", `outlet "yes" of node "c" already leads elsewhere`},
		{"two fallbacks", def(trig+","+cond+","+hook("a")+","+hook("b"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","fallback":true,"targetIdentifier":"a"},{"sourceIdentifier":"c","fallback":true,"targetIdentifier":"b"}`), "connections[2]", `the fallback of node "c" already leads elsewhere`},
		{"duplicate connection", def(trig+","+hook("a"), toA+","+toA), "connections[1]", "duplicate connection: same as connections[0]"},
		{"outlet required", def(trig+","+cond+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","targetIdentifier":"a"}`), "connections[1].sourceOutletIdentifier", "required on a connection leaving CONDITION node"},
		{"outlet required on input", def(trig+","+input+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"i"},{"sourceIdentifier":"i","targetIdentifier":"a"}`), "connections[1].sourceOutletIdentifier", "required on a connection leaving INPUT node"},
		{"outlet forbidden", def(trig+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"a","sourceOutletIdentifier":"x"}`), "connections[0].sourceOutletIdentifier", "only connections leaving CONDITION and INPUT nodes name an outlet"},
		{"outlet unknown", def(trig+","+cond+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"no","targetIdentifier":"a"}`), "connections[1].sourceOutletIdentifier", `node "c" has no outlet "no" (its outlets: yes)`},
		{"fallback on webhook", def(trig+","+hook("a")+","+hook("b"), toA+`,{"sourceIdentifier":"a","targetIdentifier":"b","fallback":true}`), "connections[1].fallback", "only a connection leaving a CONDITION node can be a fallback"},
		{"fallback on input", def(trig+","+input+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"i"},{"sourceIdentifier":"i","targetIdentifier":"a","fallback":true}`), "connections[1].fallback", "only a connection leaving a CONDITION node"},
		{"fallback with outlet", def(trig+","+cond+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"yes","fallback":true,"targetIdentifier":"a"}`), "connections[1].sourceOutletIdentifier", "a fallback connection cannot name an outlet"},
		{"alias and outlet", def(trig+","+cond+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"yes","sourceOptionIdentifier":"yes","targetIdentifier":"a"}`), "connections[1].sourceOptionIdentifier", "cannot be used together with sourceOutletIdentifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, probs := Parse([]byte(tt.def))
			if wf != nil {
				t.Errorf("Parse returned a workflow despite errors")
			}
			if probs.Err() == nil {
				t.Fatalf("no error; warnings: %v", probs.Warnings)
			}
			if !find(probs.Errors, tt.path, tt.msg) {
				t.Errorf("no error at %q containing %q; errors:\n%s", tt.path, tt.msg, list(probs.Errors))
			}
		})
	}
}

// list formats problems one per line.
func list(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\t" + p.String() + "\n")
	}
	return b.String()
}

func TestParseWarns(t *testing.T) {
	tests := []struct {
		name, def, path, msg string
	}{
		{"options alias", def(trig+`,{"identifier":"c","config":{"type":"CONDITION","options":[{"identifier":"y","expression":"true"}]}},`+hook("a"),
			`{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"y","targetIdentifier":"a"}`),
			"nodes[1].config.options", "deprecated"},
		{"sourceOptionIdentifier alias", def(trig+","+cond+","+hook("a"),
			`{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOptionIdentifier":"yes","targetIdentifier":"a"}`),
			"connections[1].sourceOptionIdentifier", "deprecated"},
		{"unreachable", def(trig+","+hook("a")+","+hook("b"), toA), "nodes[2]", `node "b" is not reachable from any trigger`},
		{"unknown output", withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"x":"{{ .outputs.nope.id }}"}}`), "nodes[1].config.body.x", `no node "nope"`},
		{"unknown output in variables", def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"variables":{"v":"{{ .outputs.ghost }}"}}`, toA), "nodes[1].variables.v", `no node "ghost"`},
		{"credentials in url", withA(`{"type":"WEBHOOK","url":"https://u:p@x.io/"}`), "nodes[1].config.url", "credentials in the URL"},
		{"literal authorization", withA(`{"type":"WEBHOOK","url":"https://x.io/","headers":{"Authorization":"Bearer abc"}}`), "nodes[1].config.headers.Authorization", "literal credential"},
		{"unknown format", selfServe(`"userInputs":{"properties":{"x":{"type":"string","format":"colour"}}}`), "nodes[0].config.userInputs.properties.x.format", "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, probs := Parse([]byte(tt.def))
			if err := probs.Err(); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if wf == nil {
				t.Fatal("no workflow")
			}
			if !find(probs.Warnings, tt.path, tt.msg) {
				t.Errorf("no warning at %q containing %q; warnings:\n%s", tt.path, tt.msg, list(probs.Warnings))
			}
			for _, w := range probs.Warnings {
				if !w.Warning {
					t.Errorf("warning %v has Warning unset", w)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, def string
		check     func(t *testing.T, w *Workflow)
	}{
		{"defaults", def(trig+","+hook("a"), toA), func(t *testing.T, w *Workflow) {
			if !w.AllowAnyoneToViewRuns {
				t.Error("AllowAnyoneToViewRuns should default to true")
			}
			if !w.Node("trigger").Published {
				t.Error("Published should default to true")
			}
			a := w.Node("a")
			if a.OnFailure != OnFailureTerminate || a.ConfigTemplate == nil || a.Type != TypeWebhook {
				t.Errorf("node a = %+v", a)
			}
			if w.Node("trigger").ConfigTemplate != nil {
				t.Error("trigger config must not be templated")
			}
		}},
		{"unicode identifiers", `{"identifier":"déploiement_東京@x:y-1","nodes":[{"identifier":"触发","config":{"type":"SELF_SERVE_TRIGGER"}}]}`, func(t *testing.T, w *Workflow) {
			if w.Node("触发") == nil {
				t.Error("node not found")
			}
		}},
		{"title of 100 characters", `{"identifier":"w","title":"` + strings.Repeat("é", 100) + `","nodes":[` + trig + `]}`, nil},
		{"server fields ignored", `{"identifier":"w","version":3,"createdBy":"u","updatedBy":"u","createdAt":"2026-01-01T00:00:00Z","updatedAt":"x","id":"wf_1","nodes":[` + trig + `]}`, func(t *testing.T, w *Workflow) {
			if bytes.Contains(w.Source, []byte("version")) || bytes.Contains(w.Source, []byte("createdAt")) {
				t.Errorf("Source keeps server fields: %s", w.Source)
			}
		}},
		{"literal braces in a title", `{"identifier":"w","title":"use {{ braces }} freely","nodes":[` + trig + `]}`, nil},
		{"schedule", def(`{"identifier":"trigger","config":{"type":"SCHEDULE_TRIGGER","cron":"*/15 9-17 * JAN-MAR,DEC mon-fri,7","published":false}},`+hook("a"), toA), func(t *testing.T, w *Workflow) {
			if n := w.Node("trigger"); n.Cron == "" || n.Published {
				t.Errorf("trigger = %+v", n)
			}
		}},
		{"event", def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_UPDATED","blueprintIdentifier":"svc"},"condition":{"type":"JQ","expressions":[".diff.after != null"],"combinator":"or"}}},`+hook("a"), toA), func(t *testing.T, w *Workflow) {
			ev := w.Node("trigger").Event
			if ev == nil || ev.Type != "ENTITY_UPDATED" || ev.Condition == nil || ev.Condition.Combinator != "or" || len(ev.Condition.Expressions) != 1 {
				t.Errorf("event = %+v", ev)
			}
		}},
		{"input node", def(trig+","+input+","+hook("a"), `{"sourceIdentifier":"trigger","targetIdentifier":"i"},{"sourceIdentifier":"i","sourceOutletIdentifier":"approve","targetIdentifier":"a"}`), func(t *testing.T, w *Workflow) {
			i := w.Node("i")
			if len(i.Outlets) != 1 || i.Outlets[0].NumOfResponders != 2 || len(i.UserInputs.Buttons) != 1 {
				t.Errorf("input = %+v", i)
			}
			if got, ok := w.Next("i", "approve"); !ok || got != "a" {
				t.Errorf("Next(i, approve) = %q, %v", got, ok)
			}
		}},
		{"all action types", def(trig+
			`,{"identifier":"k","config":{"type":"KAFKA","payload":{"t":"{{ .secrets.T }}"},"topic":"runs","onFailure":"continue"}}`+
			`,{"identifier":"u","config":{"type":"UPSERT_ENTITY","blueprintIdentifier":"svc","mapping":{"identifier":"{{ .outputs.trigger.n }}","title":"x","team":["a"],"properties":{},"relations":{}}}}`+
			`,{"identifier":"g","config":{"type":"INTEGRATION_ACTION","installationId":"1","integrationProvider":"github-ocean","integrationInvocationType":"dispatch_workflow","integrationActionExecutionProperties":{"token":"{{ .secrets.GH }}"},"reportWorkflowStatus":true}}`+
			`,{"identifier":"h","config":{"type":"WEBHOOK","url":"https://x.io","method":"GET","headers":{"A":"{{ .secrets.A }}"},"body":[1],"synchronized":false,"onTimeout":"continue","timeoutSeconds":12.5},"links":["https://ci/{{ .result.id }}"],"verbose":true}`,
			`{"sourceIdentifier":"trigger","targetIdentifier":"k"},{"sourceIdentifier":"k","targetIdentifier":"u"},{"sourceIdentifier":"u","targetIdentifier":"g"},{"sourceIdentifier":"g","targetIdentifier":"h"}`),
			func(t *testing.T, w *Workflow) {
				if n := w.Node("h"); len(n.Links) != 1 || !n.Verbose {
					t.Errorf("h = %+v", n)
				}
				if w.Node("k").OnFailure != OnFailureContinue {
					t.Error("onFailure not read")
				}
			}},
		{"fan-in", def(trig+","+cond+","+hook("a")+","+hook("b")+","+hook("d"),
			`{"sourceIdentifier":"trigger","targetIdentifier":"c"},{"sourceIdentifier":"c","sourceOutletIdentifier":"yes","targetIdentifier":"a"},{"sourceIdentifier":"c","fallback":true,"targetIdentifier":"b"},{"sourceIdentifier":"a","targetIdentifier":"d"},{"sourceIdentifier":"b","targetIdentifier":"d"}`), nil},
		{"inputs", selfServe(`"userInputs":{"properties":{"env":{"type":"string","enum":["a","b"],"default":"a","title":"Env"},"n":{"type":"number","minimum":1,"maximum":5,"default":2},"tags":{"type":"array","items":{"type":"string"}},"when":{"type":"string","format":"date-time"}},"required":["env"],"order":["n","env"]},"permissions":{"roles":["Member"],"users":["a@b.c"],"teams":[]}`), func(t *testing.T, w *Workflow) {
			n := w.Node("trigger")
			if n.Permissions == nil || n.Permissions.Roles[0] != "Member" || len(n.UserInputs.Properties) != 4 || n.UserInputs.Order[0] != "n" {
				t.Errorf("trigger = %+v", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf, probs := Parse([]byte(tt.def))
			if err := probs.Err(); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.check != nil {
				tt.check(t, wf)
			}
		})
	}
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", examplesDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wf, probs := Parse(data)
			if strings.HasPrefix(filepath.Base(f), "invalid-") {
				if wf != nil || !find(probs.Errors, "nodes[1].variables.token", "secrets may only be used in fields that are sent out and not stored") {
					t.Fatalf("not rejected at nodes[1].variables.token; errors:\n%s", list(probs.Errors))
				}
				if find(probs.Errors, "nodes[1].config.headers.Authorization", "") {
					t.Error("the secret in headers is allowed, yet rejected")
				}
				return
			}
			if err := probs.Err(); err != nil {
				t.Fatal(err)
			}
			if len(probs.Warnings) > 0 {
				t.Errorf("unexpected warnings:\n%s", list(probs.Warnings))
			}
			// Round trip: Source parses to the same workflow.
			again, probs2 := Parse(wf.Source)
			if err := probs2.Err(); err != nil {
				t.Fatalf("Parse(Source): %v", err)
			}
			if !bytes.Equal(again.Source, wf.Source) {
				t.Errorf("Source changed:\n%s\n%s", wf.Source, again.Source)
			}
			if !slices.Equal(again.Connections, wf.Connections) || len(again.Nodes) != len(wf.Nodes) || again.Identifier != wf.Identifier || again.AllowAnyoneToViewRuns != wf.AllowAnyoneToViewRuns {
				t.Errorf("round trip differs")
			}
			for i, n := range wf.Nodes {
				m := again.Nodes[i]
				if n.Identifier != m.Identifier || n.Type != m.Type || len(n.Outlets) != len(m.Outlets) {
					t.Errorf("node %d differs", i)
				}
			}
		})
	}
}

func TestGraphNavigation(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "condition-branches.json"))
	if err != nil {
		t.Fatal(err)
	}
	wf, probs := Parse(data)
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source, outlet, want string
		ok                   bool
	}{
		{"trigger", "", "route", true},
		{"route", "prod", "deploy_prod", true},
		{"route", "", "", false},
		{"route", "staging", "", false},
		{"deploy_prod", "", "report", true},
		{"deploy_staging", "", "report", true},
		{"report", "", "", false},
		{"missing", "", "", false},
	}
	for _, tt := range tests {
		got, ok := wf.Next(tt.source, tt.outlet)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Next(%q, %q) = %q, %v; want %q, %v", tt.source, tt.outlet, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := wf.Fallback("route"); got != "deploy_staging" || !ok {
		t.Errorf("Fallback(route) = %q, %v", got, ok)
	}
	if _, ok := wf.Fallback("trigger"); ok {
		t.Error("Fallback(trigger) found one")
	}
	trs := wf.Triggers()
	if len(trs) != 1 || trs[0].Identifier != "trigger" || trs[0].UserInputs == nil {
		t.Errorf("Triggers() = %v", trs)
	}
	route := wf.Node("route")
	if len(route.Outlets) != 1 || route.Outlets[0].Expression == nil || route.ConfigTemplate == nil {
		t.Errorf("route = %+v", route)
	}
	if wf.Node("deploy_prod").OnFailure != OnFailureContinue {
		t.Error("onFailure not read")
	}
}

func TestProblemsOrderAndErrors(t *testing.T) {
	// Errors at nodes[0], nodes[2] and a top-level field after the nodes:
	// they come out in document order, whatever order they were found in.
	src := `{"identifier":"w","nodes":[` +
		`{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER","bogus":1}},` + hook("a") + `,` +
		`{"identifier":"b","config":{"type":"WEBHOOK"}}],` +
		`"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"zz"}],"zzz":1}`
	wf, probs := Parse([]byte(src))
	if wf != nil {
		t.Fatal("accepted")
	}
	var paths []string
	for _, p := range probs.Errors {
		paths = append(paths, p.Path)
	}
	want := []string{"nodes[0].config.bogus", "nodes[2].config.url", "connections[0].targetIdentifier", "zzz"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	err := probs.Err()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != len(want) {
		t.Fatalf("Err() = %#v", err)
	}
	if !strings.Contains(err.Error(), "4 problems") || !strings.Contains(err.Error(), "nodes[2].config.url: required field is missing") {
		t.Errorf("Error() = %q", err.Error())
	}
	// Same input, same output.
	_, again := Parse([]byte(src))
	if !slices.Equal(again.Errors, probs.Errors) {
		t.Error("problems are not deterministic")
	}
	if (&Problems{Warnings: []Problem{{Path: "x", Message: "m", Warning: true}}}).Err() != nil {
		t.Error("warnings alone must not be an error")
	}
	if got := (Problem{Path: "a.b", Message: "bad"}).String(); got != "a.b: bad" {
		t.Errorf("String() = %q", got)
	}
	if got := (Problem{Message: "bad"}).String(); got != "bad" {
		t.Errorf("String() = %q", got)
	}
}

func TestMessagesDoNotQuoteValues(t *testing.T) {
	// A credential pasted as a literal must never appear in a problem.
	const secret = "hunter2-very-secret"
	src := withA(`{"type":"WEBHOOK","url":"ftp://user:` + secret + `@x.io","headers":{"Authorization":"Bearer ` + secret + `","X":5},"method":"` + secret + `","body":"` + secret + `"}`)
	_, probs := Parse([]byte(src))
	if probs.Err() == nil {
		t.Fatal("accepted")
	}
	for _, p := range append(probs.Errors, probs.Warnings...) {
		if strings.Contains(p.String(), secret) {
			t.Errorf("problem quotes a value: %s", p)
		}
	}
}
