package workflow

import (
	"encoding/json"
	"strings"
	"testing"
)

// computedWorkflow has inputs whose enum, pattern, minItems and maxItems
// are computed with jq over the form and the user, as Port writes them.
const computedWorkflow = `{"identifier":"w","nodes":[{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER","userInputs":{
  "properties":{
    "tier":{"type":"string","enum":["gold","free"],"default":"free"},
    "region":{"type":"string","enum":{"jqQuery":"if .form.tier == \"gold\" then [\"eu\",\"us\",\"ap\"] else [\"eu\"] end"}},
    "size":{"type":"number","enum":{"jqQuery":"[1,2,4]"}},
    "name":{"type":"string","pattern":{"jqQuery":"\"^\" + (.user.email | split(\"@\")[0]) + \"-[a-z]+$\""}},
    "zones":{"type":"array","items":{"type":"string"},"minItems":{"jqQuery":"if .form.tier == \"gold\" then 2 else 1 end"},"maxItems":{"jqQuery":".form.tier | if . == \"gold\" then 3 else 1 end"}},
    "any":{"type":"string","enum":{"jqQuery":"null"}},
    "badEnum":{"type":"string","enum":{"jqQuery":"\"eu\""}},
    "badEnumType":{"type":"string","enum":{"jqQuery":"[1]"}},
    "emptyEnum":{"type":"string","enum":{"jqQuery":"[]"}},
    "badPattern":{"type":"string","pattern":{"jqQuery":"\"(\""}},
    "badPatternKind":{"type":"string","pattern":{"jqQuery":"3"}},
    "badBound":{"type":"array","minItems":{"jqQuery":"-1"}},
    "fracBound":{"type":"array","maxItems":{"jqQuery":"1.5"}},
    "failing":{"type":"array","maxItems":{"jqQuery":"error(\"no\")"}}
  }}}}]}`

func TestComputedConstraints(t *testing.T) {
	wf, probs := Parse([]byte(computedWorkflow))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ui := wf.Triggers()[0].UserInputs
	env := FormEnv{User: map[string]any{"email": "ann@example.com"}}
	tests := []struct {
		name, inputs string
		path, msg    string // "" when the inputs are valid
	}{
		{"computed enum allows", `{"region":"eu"}`, "", ""},
		{"computed enum refuses", `{"region":"us"}`, "inputs.region", "must be one of eu"},
		{"computed enum sees the form", `{"tier":"gold","region":"us"}`, "", ""},
		{"computed enum sees the form's default", `{"region":"ap"}`, "inputs.region", "must be one of eu"},
		{"numeric computed enum", `{"size":3}`, "inputs.size", "must be one of 1, 2, 4"},
		{"numeric computed enum by value", `{"size":4.0}`, "", ""},
		{"computed pattern allows", `{"name":"ann-web"}`, "", ""},
		{"computed pattern sees the user", `{"name":"bob-web"}`, "inputs.name", "must match the pattern ^ann-[a-z]+$"},
		{"computed minItems", `{"tier":"gold","zones":["a"]}`, "inputs.zones", "must hold at least 2 items"},
		{"computed maxItems", `{"zones":["a","b"]}`, "inputs.zones", "must hold at most 1 items"},
		{"computed bounds allow", `{"tier":"gold","zones":["a","b","c"]}`, "", ""},
		{"null sets no constraint", `{"any":"whatever"}`, "", ""},
		{"enum not an array", `{"badEnum":"eu"}`, "inputs.badEnum", "enum (jqQuery) must give a non-empty array of the allowed values, it gave a string"},
		{"enum of the wrong type", `{"badEnumType":"x"}`, "inputs.badEnumType", "enum (jqQuery) gave an array whose element 0 must be a string"},
		{"empty enum", `{"emptyEnum":"x"}`, "inputs.emptyEnum", "it gave an empty array"},
		{"invalid pattern", `{"badPattern":"x"}`, "inputs.badPattern", "pattern (jqQuery) gave an invalid regular expression"},
		{"pattern not a string", `{"badPatternKind":"x"}`, "inputs.badPatternKind", "pattern (jqQuery) must give a string, it gave a number"},
		{"negative bound", `{"badBound":[]}`, "inputs.badBound", "minItems (jqQuery) must give a non-negative integer"},
		{"fractional bound", `{"fracBound":[]}`, "inputs.fracBound", "maxItems (jqQuery) must give a non-negative integer"},
		{"failing jq", `{"failing":[]}`, "inputs.failing", "maxItems (jqQuery) failed"},
		{"not evaluated without a value", `{}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.inputs))
			dec.UseNumber()
			var in map[string]any
			if err := dec.Decode(&in); err != nil {
				t.Fatal(err)
			}
			_, probs := ui.ValidateFor(in, env)
			if tt.path == "" {
				if len(probs) > 0 {
					t.Fatalf("problems: %v", probs)
				}
				return
			}
			if !find(probs, tt.path, tt.msg) {
				t.Errorf("no problem at %q containing %q: %v", tt.path, tt.msg, probs)
			}
		})
	}
	// The shared definition keeps its constraints as written.
	if p := ui.Properties["region"]; len(p.Enum) != 0 || p.Computed == nil || p.Computed.Enum == nil {
		t.Errorf("the definition's property changed: %+v", p)
	}
}

// TestComputedConstraintsRules checks what a definition may write: jq that
// compiles, never reading .secrets, on an input of the right type.
func TestComputedConstraintsRules(t *testing.T) {
	tests := []struct{ name, prop, path, msg string }{
		{"secret in enum", `{"type":"string","enum":{"jqQuery":"[.secrets.X]"}}`, ".enum.jqQuery", "secret"},
		{"bad jq in pattern", `{"type":"string","pattern":{"jqQuery":"[["}}`, ".pattern.jqQuery", "jq"},
		{"minItems on a string", `{"type":"string","minItems":{"jqQuery":"1"}}`, ".minItems", "applies only to array inputs"},
		{"pattern on a number", `{"type":"number","pattern":{"jqQuery":"\"x\""}}`, ".pattern", "applies only to string inputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse([]byte(selfServe(`"userInputs":{"properties":{"x":` + tt.prop + `}}`)))
			path := "nodes[0].config.userInputs.properties.x" + tt.path
			found := false
			for _, p := range probs.Errors {
				found = found || p.Path == path && strings.Contains(strings.ToLower(p.Message), tt.msg)
			}
			if !found {
				t.Errorf("no error at %q containing %q:\n%s", path, tt.msg, list(probs.Errors))
			}
		})
	}
}
