package leak_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/workflow"
)

// TestAnalyserRefusesBypasses is the save-time half of the adversarial
// suite: definitions that try to reach .secrets in a stored field (or to
// read a secret without naming it in an outbound one) in a way the static
// analysis cannot narrow. Each must be refused at validation with the
// field's JSON path and a template position, so it never runs; the runs of
// TestLeaks cover what happens to definitions that do run.
func TestAnalyserRefusesBypasses(t *testing.T) {
	exprs := []string{
		// The three of issue 7.
		`getpath(["secrets","X"])`,
		`. as $d | $d.secrets.X`,
		`"secrets" as $k | .[$k].X`,
		// Computed keys and generic traversals of the root.
		`.["sec" + "rets"].X`,
		`.[.outputs.trigger.k].X`,
		`to_entries[] | select(.key == "secrets") | .value.X`,
		`with_entries(select(.key == "secrets"))`,
		`[paths] | tojson`,
		`getpath(paths) | strings`,
		`[.. | strings] | join(",")`,
		`[tostream] | tojson`,
		`walk(.) | tojson`,
		`del(.outputs) | tojson`,
		`.[] | .X?`,
		`tojson | fromjson | getpath(["secrets","X"])`,
		// The root hidden in a value, a variable, a function or an error.
		`{a: .} | .a.secrets.X`,
		`[.] | .[0].secrets.X`,
		`reduce . as $r (null; $r) | .secrets.X`,
		`try error(.) catch .secrets.X`,
		`. as {secrets: {X: $s}} | $s`,
		`. as {$secrets} | $secrets.X`,
		`. as [$a] ?// {$secrets} | $secrets.X`,
		`def f: getpath(["secrets","X"]); f`,
		`def f(g): g; f(.) | getpath(["secrets","X"])`,
		`label $l | . as $x | $x.secrets.X`,
	}
	type field struct {
		name, path string
		def        func(tmpl string) string
		bare       bool
	}
	hook := func(extra string) string {
		return `{"identifier":"a","config":{"type":"WEBHOOK","url":"https://example.com/x"` + extra + `}`
	}
	wf := func(trigger, nodes string) string {
		return `{"identifier":"w","nodes":[` + trigger + `,` + nodes + `],"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"a"}]}`
	}
	const trig = `{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER"}}`
	fields := []field{
		{"variables", "nodes[1].variables.v", func(s string) string { return wf(trig, hook(`},"variables":{"v":`+s+`}`)) }, false},
		{"links", "nodes[1].links[0]", func(s string) string { return wf(trig, hook(`},"links":[`+s+`]`)) }, false},
		{"condition", "nodes[1].config.outlets[0].expression", func(s string) string {
			return wf(trig, `{"identifier":"a","config":{"type":"CONDITION","outlets":[{"identifier":"yes","expression":`+s+`}]}}`)
		}, true},
		{"event trigger", "nodes[0].config.condition.expressions[0]", func(s string) string {
			return wf(`{"identifier":"trigger","config":{"type":"EVENT_TRIGGER","event":{"type":"ENTITY_CREATED","blueprintIdentifier":"svc"},"condition":{"type":"JQ","expressions":[`+s+`]}}}`, hook(`}`))
		}, true},
		{"webhook body", "nodes[1].config.body.b", func(s string) string { return wf(trig, hook(`,"body":{"b":`+s+`}}`)) }, false},
		{"webhook header", "nodes[1].config.headers.Authorization", func(s string) string {
			return wf(trig, hook(`,"headers":{"Authorization":`+s+`}}`))
		}, false},
	}
	for _, f := range fields {
		for _, e := range exprs {
			t.Run(f.name+"/"+e, func(t *testing.T) {
				src := "{{ " + e + " }}"
				if f.bare {
					src = e
				}
				b, _ := json.Marshal(src)
				w, probs := workflow.Parse([]byte(f.def(string(b))))
				if w != nil {
					t.Fatalf("the definition was accepted")
				}
				for _, p := range probs.Errors {
					if p.Path == f.path && strings.Contains(p.Message, "template position") {
						return
					}
				}
				t.Errorf("errors = %v, want one at %s with a template position", probs.Errors, f.path)
			})
		}
	}
}
