package workflow

import (
	"strings"
	"testing"
)

// policyWorkflow puts a permissions policy on a self-serve trigger.
func policyWorkflow(policy string) string {
	return selfServe(`"userInputs":{"properties":{"svc":{"type":"string","format":"entity","blueprint":"service"}}},"permissions":{"roles":["Member"],"policy":` + policy + `}`)
}

func TestPolicyParse(t *testing.T) {
	valid := []struct{ name, policy string }{
		{"port-skills user rule", `{"combinator":"and","rules":[{"property":{"context":"user","property":"department"},"operator":"=","value":"engineering"}]}`},
		{"port-skills containsAny of two contexts", `{"combinator":"and","rules":[{"property":{"context":"form","property":"svc.$team"},"operator":"containsAny","value":{"context":"userTeams","property":"$identifier"}}]}`},
		{"nested and empty", `{"combinator":"or","rules":[{"combinator":"and","rules":[{"property":{"context":"form","property":"svc"},"operator":"notEmpty"}]}]}`},
		{"port-docs queries and conditions", `{"queries":{"service":{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"service"},{"property":"$identifier","operator":"=","value":"{{ .inputs.svc }}"}]}},"conditions":[".results.service.entities | length == 1"]}`},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			wf, probs := Parse([]byte(policyWorkflow(tc.policy)))
			if err := probs.Err(); err != nil {
				t.Fatal(err)
			}
			if p := wf.Triggers()[0].Permissions.Policy; p == nil || p.Rules == nil && len(p.Conditions) == 0 {
				t.Errorf("policy not kept: %+v", p)
			}
		})
	}
	const at = "nodes[0].config.permissions.policy"
	invalid := []struct{ name, policy, path, msg string }{
		{"both shapes", `{"combinator":"and","rules":[],"conditions":["true"]}`, at + ".combinator", "unknown field"},
		{"template in a query reads a secret", `{"queries":{"q":{"combinator":"and","rules":[{"property":"$identifier","operator":"=","value":"{{ .secrets.X }}"}]}},"conditions":["true"]}`, at + ".queries.q.rules[0].value", "secret"},
		{"query not a search", `{"queries":{"q":{"rules":"x"}},"conditions":["true"]}`, at + ".queries.q", "catalog search"},
		{"condition does not compile", `{"queries":{},"conditions":["[["]}`, at + ".conditions[0]", ""},
		{"too deep", strings.Repeat(`{"combinator":"and","rules":[`, 10) + strings.Repeat(`]}`, 10), at, "nested more than"},
		{"string value ref needs context", `{"combinator":"and","rules":[{"property":{"context":"user","property":"a"},"operator":"=","value":{"property":"b"}}]}`, at + ".rules[0].value", ""},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Parse([]byte(policyWorkflow(tc.policy)))
			found := false
			for _, p := range probs.Errors {
				found = found || strings.HasPrefix(p.Path, tc.path) && strings.Contains(p.Message, tc.msg)
			}
			if !found {
				t.Errorf("no error at %q containing %q:\n%s", tc.path, tc.msg, list(probs.Errors))
			}
		})
	}
}

// FuzzPolicy checks that no permissions policy or usersQuery makes Parse
// panic, and that what it accepts round-trips (as FuzzParse checks).
func FuzzPolicy(f *testing.F) {
	f.Add(`{"combinator":"and","rules":[{"property":{"context":"user","property":"department"},"operator":"in","value":["a"]}]}`)
	f.Add(`{"combinator":"or","rules":[{"combinator":"and","rules":[{"property":{"context":"form","property":"svc.$team"},"operator":"containsAny","value":{"context":"userTeams","property":"$identifier"}}]}]}`)
	f.Add(`{"queries":{"q":{"combinator":"and","rules":[{"property":"$identifier","operator":"=","value":"{{ .inputs.svc }}"}]}},"conditions":[".results.q.entities | length > 0"]}`)
	f.Add(`{"queries":{},"conditions":[]}`)
	f.Fuzz(func(t *testing.T, policy string) {
		for _, def := range []string{
			policyWorkflow(policy),
			def(trig+`,{"identifier":"i","config":{"type":"INPUT","userInputs":{"properties":{},"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok"}],"responders":{"usersQuery":`+policy+`}}}`,
				`{"sourceIdentifier":"trigger","targetIdentifier":"i"}`),
		} {
			wf, probs := Parse([]byte(def))
			if wf == nil || probs.Err() != nil {
				continue
			}
			if _, probs2 := Parse(wf.Source); probs2.Err() != nil {
				t.Fatalf("Source does not parse: %v", probs2.Err())
			}
		}
	})
}
