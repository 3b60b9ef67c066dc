package workflow

import (
	"encoding/json"
	"strings"
	"testing"
)

// placements put a jq expression in each kind of field where .secrets is
// refused, and in an outbound field (WEBHOOK body) where secrets must be
// named literally; each returns the definition and the field's JSON path.
var placements = []struct {
	name string
	put  func(expr string) (def, path string)
}{
	{"variables", func(e string) (string, string) {
		return withVars(`{"v":` + jsonQuote("{{ "+e+" }}") + `}`), "nodes[1].variables.v"
	}},
	{"links", func(e string) (string, string) {
		return def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"links":[`+jsonQuote("{{ "+e+" }}")+`]}`, toA), "nodes[1].links[0]"
	}},
	{"condition", func(e string) (string, string) {
		return def(trig+`,{"identifier":"a","config":{"type":"CONDITION","outlets":[{"identifier":"yes","expression":`+jsonQuote(e)+`}]}}`, toA), "nodes[1].config.outlets[0].expression"
	}},
	{"event trigger", func(e string) (string, string) {
		return def(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"svc"},"condition":{"type":"JQ","expressions":[`+jsonQuote(e)+`]}}},`+hook("a"), toA), "nodes[0].config.condition.expressions[0]"
	}},
	{"webhook body", func(e string) (string, string) {
		return withA(`{"type":"WEBHOOK","url":"https://x.io","body":{"b":` + jsonQuote("{{ "+e+" }}") + `}}`), "nodes[1].config.body.b"
	}},
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func withVars(vars string) string {
	return def(trig+`,{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io"},"variables":`+vars+`}`, toA)
}

// TestSecretsRuleIsConservative checks that an expression whose reads of the
// root the analysis cannot narrow is refused in every field, with the field's
// path: where .secrets is not allowed, since it cannot be proven not to read
// it, and where it is, since it would silently see no secret. Every case was
// accepted before the rule became conservative.
func TestSecretsRuleIsConservative(t *testing.T) {
	bypasses := []string{
		`getpath(["secrets","X"])`,
		`. as $d | $d.secrets.X`,
		`"secrets" as $k | .[$k].X`,
		`.["sec" + "rets"].X`,
		`.[.result.k]`,
		`to_entries[] | select(.key == "secrets") | .value.X`,
		`with_entries(select(.key == "secrets"))`,
		`[paths] | length`,
		`[paths(type == "string")] | length`,
		`[.. | strings] | join(",")`,
		`[tostream] | length`,
		`walk(.)`,
		`del(.outputs)`,
		`keys`,
		`.[] | .X?`,
		`tojson`,
		`@base64`,
		`"\(.)"`,
		`{a: .} | .a.secrets.X`,
		`[.] | .[0].secrets.X`,
		`reduce . as $r (null; $r) | .secrets.X`,
		`try error(.) catch .secrets.X`,
		`. as {secrets: {X: $s}} | $s`,
		`. as {$secrets} | $secrets.X`,
		`. as [$a] ?// {$secrets} | $secrets.X`,
		`def f: getpath(["secrets","X"]); f`,
		`def f(g): g; f(.) | keys`,
		`.result.k as $x | .[$x]`,
		`label $l | . as $x | $x.secrets.X`,
		`getpath(paths) | strings`,
		`ltrimstr("x")`,
		`if .result.ok then "y" end`,
	}
	for _, pl := range placements {
		for _, e := range bypasses {
			t.Run(pl.name+"/"+e, func(t *testing.T) {
				src, path := pl.put(e)
				wf, probs := Parse([]byte(src))
				if wf != nil {
					t.Fatalf("accepted %s in %s", e, pl.name)
				}
				want := "cannot be proven not to read .secrets"
				if pl.name == "webhook body" {
					want = "a secret read this way would silently be null"
				}
				if !find(probs.Errors, path, want) || !find(probs.Errors, path, "template position") {
					t.Errorf("errors = %v, want one at %s saying %q", probs.Errors, path, want)
				}
			})
		}
	}
}

// TestSecretsRuleAcceptsIdioms checks that the conservative rule keeps the
// ordinary idioms: every read goes through a literal path.
func TestSecretsRuleAcceptsIdioms(t *testing.T) {
	idioms := []string{
		`.outputs.trigger.x // "d"`,
		`.result.response.data | tojson`,
		`.outputs["my-node"].x`,
		`[.outputs.a.items[] | .name] | join(",")`,
		`.result | keys`,
		`.result.items | map(.id)`,
		`.outputs.trigger.n + 1`,
		`"\(.outputs.trigger.a)-\(.result.b)"`,
		`if .result.ok then "y" else "n" end`,
		`.result | to_entries | map(.key)`,
		`.result as $r | $r.x`,
		`now | todate`,
		`[.result.items[] | select(.ok)] | length`,
		`.outputs.a.items | first(.[] | select(.x == 1))`,
		`.workflowRun.identifier`,
	}
	for _, pl := range placements {
		for _, e := range idioms {
			t.Run(pl.name+"/"+e, func(t *testing.T) {
				src, _ := pl.put(e)
				_, probs := Parse([]byte(src))
				for _, p := range probs.Errors {
					// The idioms read .result and .outputs in every
					// placement; which roots a field's context has is
					// TestRootsOutsideTheContext's concern.
					if !strings.Contains(p.Message, "context does not have") {
						t.Errorf("rejected: %v", p)
					}
				}
			})
		}
	}
}

// TestHints checks the "did you mean" of enumerations and node types, and
// the hint for a dashed key, which jq reads as a subtraction.
func TestHints(t *testing.T) {
	tests := []struct {
		name, def, path, msg string
	}{
		{"type typo", withA(`{"type":"WEBHOK","url":"https://x.io"}`), "nodes[1].config.type", `(did you mean "WEBHOOK"?)`},
		{"trigger type typo", def(`{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGER"}},`+hook("a"), toA), "nodes[0].config.type", `(did you mean "SELF_SERVE_TRIGGER"?)`},
		{"type case", withA(`{"type":"webhook","url":"https://x.io"}`), "nodes[1].config.type", `(did you mean "WEBHOOK"?)`},
		{"method case", withA(`{"type":"WEBHOOK","url":"https://x.io","method":"post"}`), "nodes[1].config.method", `(did you mean "POST"?)`},
		{"on failure typo", withA(`{"type":"WEBHOOK","url":"https://x.io","onFailure":"contine"}`), "nodes[1].config.onFailure", `(did you mean "continue"?)`},
		{"dashed secret", withA(`{"type":"WEBHOOK","url":"https://x.io","headers":{"A":"{{ .secrets.my-secret }}"}}`), "nodes[1].config.headers.A", `use .secrets["my-secret"]`},
		{"dashed output", withVars(`{"v":"{{ .outputs.my-node.x }}"}`), "nodes[1].variables.v", `use .outputs["my-node"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse([]byte(tt.def))
			if !find(probs.Errors, tt.path, tt.msg) {
				t.Errorf("errors = %v, want one at %s containing %q", probs.Errors, tt.path, tt.msg)
			}
		})
	}
	// A name far from every known type gets no suggestion.
	_, probs := Parse([]byte(withA(`{"type":"EMAIL"}`)))
	for _, p := range probs.Errors {
		if strings.Contains(p.Message, "did you mean") {
			t.Errorf("unexpected suggestion: %v", p)
		}
	}
}
