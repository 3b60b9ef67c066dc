package workflow

import (
	"fmt"
	"math"
	"regexp"

	"github.com/sluice-run/sluice/internal/tmpl"
)

// ComputedConstraints are the constraints of an input that Port lets a form
// compute with jq ({"jqQuery": ...}): enum, pattern, minItems and maxItems
// (terraform-provider-port-labs internal/cli/workflowModels.go types them
// "any"; port-docs advanced-input-configurations computes them over
// .form, .user and .entity). Port's UI evaluates them as the form is
// filled; sluice evaluates them again when a run is created, over the form
// as submitted (defaults applied), and enforces the result exactly as it
// enforces the literal constraint, so a form submitted through the API
// cannot skip what the UI would have refused. A jq that gives null sets no
// constraint.
type ComputedConstraints struct {
	Enum     *tmpl.Expr
	Pattern  *tmpl.Expr
	MinItems *tmpl.Expr
	MaxItems *tmpl.Expr
}

// computedConstraints compiles the constraints of the input property at
// path written as {"jqQuery": ...}; nil when there is none.
func (p *parser) computedConstraints(path string, v *jv, why string) *ComputedConstraints {
	var c ComputedConstraints
	found := false
	for _, f := range []struct {
		key string
		dst **tmpl.Expr
	}{{"enum", &c.Enum}, {"pattern", &c.Pattern}, {"minItems", &c.MinItems}, {"maxItems", &c.MaxItems}} {
		if jq := v.get(f.key); jq != nil && jq.kind == jObject {
			if x := p.formExpr(path+"."+f.key+".jqQuery", jq.get("jqQuery"), why); x != nil {
				*f.dst, found = x, true
			}
		}
	}
	if !found {
		return nil
	}
	return &c
}

// withComputed returns ip with its computed constraints evaluated by eval
// and set as literal ones (ip itself when it has none, or when one fails:
// the failures are returned, each a message about the constraint). ip is
// shared by every run of the workflow and is never modified.
func (ip *InputProperty) withComputed(eval func(*tmpl.Expr) (any, error)) (*InputProperty, []string) {
	c := ip.Computed
	if c == nil {
		return ip, nil
	}
	out := *ip
	var fails []string
	fail := func(what, format string, args ...any) {
		fails = append(fails, what+" (jqQuery) "+fmt.Sprintf(format, args...))
	}
	if c.Enum != nil {
		v, err := eval(c.Enum)
		switch list, ok := v.([]any); {
		case err != nil:
			fail("enum", "failed: %v", err)
		case v == nil:
		case !ok || len(list) == 0:
			fail("enum", "must give a non-empty array of the allowed values, it gave %s", kindOf(v))
		default:
			for i, e := range list {
				if msg := checkType(ip.Type, e); msg != "" {
					fail("enum", "gave an array whose element %d %s, as the input's type says", i, msg)
					list = nil
					break
				}
			}
			if list != nil {
				out.Enum = list
			}
		}
	}
	if c.Pattern != nil {
		v, err := eval(c.Pattern)
		switch s, ok := v.(string); {
		case err != nil:
			fail("pattern", "failed: %v", err)
		case v == nil:
		case !ok:
			fail("pattern", "must give a string, it gave %s", kindOf(v))
		default:
			re, err := regexp.Compile(s)
			if err != nil {
				fail("pattern", "gave an invalid regular expression (Go RE2 syntax): %v", err)
				break
			}
			out.Pattern, out.re = s, re
		}
	}
	bound := func(what string, x *tmpl.Expr, dst **int) {
		if x == nil {
			return
		}
		v, err := eval(x)
		f, ok := toFloat(v)
		switch {
		case err != nil:
			fail(what, "failed: %v", err)
		case v == nil:
		case !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt32:
			fail(what, "must give a non-negative integer, it gave %s", kindOf(v))
		default:
			n := int(f)
			*dst = &n
		}
	}
	bound("minItems", c.MinItems, &out.MinItems)
	bound("maxItems", c.MaxItems, &out.MaxItems)
	if len(fails) > 0 {
		return ip, fails
	}
	return &out, nil
}

// kindOf names the JSON kind of a jq result for messages (never its
// value, which may come from a confidential input).
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		if len(x) == 0 {
			return "an empty array"
		}
		return "an array"
	case map[string]any:
		return "an object"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
