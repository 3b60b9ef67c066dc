package condition

import (
	"context"
	"testing"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/workflow"
)

func TestOutletsInOrder(t *testing.T) {
	outputs := map[string]any{"trigger": map[string]any{"env": "prod", "n": 0.0, "tags": []any{}}}
	tests := []struct {
		name   string
		exprs  []string // one outlet per expression, named o0, o1, ...
		outlet string
	}{
		{"first true wins", []string{`.outputs.trigger.env == "prod"`, `true`}, "o0"},
		{"false and null are false", []string{`false`, `null`, `.outputs.trigger.missing`, `.outputs.trigger.env == "prod"`}, "o3"},
		{"zero is true (jq truth)", []string{`.outputs.trigger.n`}, "o0"},
		{"empty array is true", []string{`.outputs.trigger.tags`}, "o0"},
		{"no value is false", []string{`empty`}, ""},
		{"none true: no outlet", []string{`.outputs.trigger.env == "dev"`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &workflow.Node{Identifier: "route", Type: workflow.TypeCondition}
			for i, src := range tc.exprs {
				e, err := tmpl.CompileExpr(src)
				if err != nil {
					t.Fatal(err)
				}
				n.Outlets = append(n.Outlets, workflow.Outlet{Identifier: "o" + string(rune('0'+i)), Expression: e})
			}
			res, err := Executor{}.Execute(context.Background(), &node.Request{
				Node: n,
				Eval: func(e *tmpl.Expr) (any, error) { return e.Eval(&tmpl.Context{Outputs: outputs}) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outlet != tc.outlet {
				t.Errorf("outlet = %q, want %q", res.Outlet, tc.outlet)
			}
			sel := res.Output.(map[string]any)["selectedOutlet"]
			if tc.outlet == "" && sel != nil || tc.outlet != "" && sel.(map[string]any)["identifier"] != tc.outlet {
				t.Errorf("output = %v", res.Output)
			}
		})
	}
}

func TestEvalErrorNamesTheOutlet(t *testing.T) {
	e, err := tmpl.CompileExpr(`.outputs.trigger.env | tonumber`)
	if err != nil {
		t.Fatal(err)
	}
	n := &workflow.Node{Identifier: "route", Type: workflow.TypeCondition, Outlets: []workflow.Outlet{{Identifier: "a", Expression: e}}}
	_, err = Executor{}.Execute(context.Background(), &node.Request{
		Node: n,
		Eval: func(x *tmpl.Expr) (any, error) {
			return x.Eval(&tmpl.Context{Outputs: map[string]any{"trigger": map[string]any{"env": "prod"}}})
		},
	})
	if err == nil || err.Error()[:len("config.outlets[0].expression")] != "config.outlets[0].expression" {
		t.Errorf("err = %v, want it to name config.outlets[0].expression", err)
	}
}
