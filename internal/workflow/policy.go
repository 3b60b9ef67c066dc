package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/tmpl"
)

// Policy is a SELF_SERVE_TRIGGER's dynamic permission ("permissions":
// {"policy": ...}), in one of the two shapes Port's public material gives
// it:
//
//   - contextual rules, {"combinator", "rules": [{"property": {"context",
//     "property"}, "operator", "value"}]} over the contexts user,
//     userTeams, form and workflowRun (port-labs/port-skills
//     skills/port-workflows/references/permissions.md,
//     terraform-provider-port-labs docs/resources/workflow.md): Rules;
//   - catalog queries and jq conditions, {"queries": {name: {combinator,
//     rules}}, "conditions": ["<jq>"]} (port-labs/port-docs
//     docs/workflows/permissions.md, after the dynamic permissions of
//     self-service actions): Queries and Conditions.
//
// authz evaluates it (internal/authz/policy.go); docs/workflows.md says
// what each context means in sluice.
type Policy struct {
	Rules *PolicyQuery
	// Queries are the named catalog searches, in document order; their
	// string values may be templates over the policy's context.
	Queries []PolicySearch
	// Conditions are jq over .results, .inputs, .user, .trigger and
	// .workflow; any one that gives true grants.
	Conditions []*tmpl.Expr
}

// PolicyQuery is a combinator over contextual rules.
type PolicyQuery struct {
	Combinator string // and | or
	Rules      []PolicyRule
}

// PolicyRule is one contextual rule, or a nested query when Nested is set.
type PolicyRule struct {
	Nested   *PolicyQuery
	Property PolicyRef
	Operator string
	// Value is the literal right-hand side; ValueRef, when set, reads it
	// from a context instead.
	Value    any
	ValueRef *PolicyRef
}

// PolicyRef names a value of a policy context: {"context": "user",
// "property": "$identifier"}.
type PolicyRef struct {
	Context  string // user | userTeams | form | workflowRun
	Property string
}

// PolicySearch is one named catalog query of a policy.
type PolicySearch struct {
	Name  string
	Query *tmpl.Value // renders to a catalog search body
}

// Contexts and operators of contextual rules (port-skills permissions.md).
var (
	policyContexts  = []string{"user", "userTeams", "form", "workflowRun"}
	policyOperators = []string{"=", "!=", ">", "<", ">=", "<=", "in", "notIn", "contains", "notContains", "containsAny", "empty", "notEmpty"}
)

// maxPolicyDepth bounds the nesting of contextual rules.
const maxPolicyDepth = 8

// policyShape checks the shape of a policy: either {combinator, rules} or
// {queries, conditions}, never both.
func policyShape(r *report, path string, v *jv) {
	queries := fields{
		"queries":    {required: true, check: anyObject},
		"conditions": {required: true, check: stringList},
	}
	if r.describe != nil { // Fields (describe.go): both shapes
		describeObject(r, path, queries)
		ruleQuery(r, path, v)
		return
	}
	if !isKind(r, path, v, jObject) {
		return
	}
	if v.get("queries") != nil || v.get("conditions") != nil {
		object(r, path, v, queries)
		return
	}
	ruleQuery(r, path, v)
}

// policy builds a trigger's policy from a shape-checked value at path.
func (p *parser) policy(path string, v *jv) *Policy {
	if v == nil || v.kind != jObject {
		return nil
	}
	if v.get("queries") == nil && v.get("conditions") == nil {
		q := p.policyQuery(path, v, 0)
		if q == nil {
			return nil
		}
		return &Policy{Rules: q}
	}
	pol := &Policy{}
	if qs := v.get("queries"); qs != nil && qs.kind == jObject {
		for i, name := range qs.keys {
			qpath := joinKey(path+".queries", name)
			qv := qs.vals[i]
			raw := qv.toAny()
			if q, ok := decodeSearch(raw); !ok {
				p.r.errorf(qpath, `must be a catalog search: {"combinator": "and"|"or", "rules": [...]}`)
				continue
			} else {
				for _, prob := range q.Check("") {
					p.r.errorf(qpath+"."+prob.Path, "%s", prob.Message)
				}
			}
			val, err := tmpl.CompileValue(raw, qpath)
			if err != nil {
				p.templateErrors(qpath, "template", err)
				continue
			}
			val.Templates(func(tp string, t *tmpl.Template) {
				p.reads(tp, t.Reads(), t.WholeRead(), false, whyPolicy)
			})
			pol.Queries = append(pol.Queries, PolicySearch{Name: name, Query: val})
		}
	}
	if cs := v.get("conditions"); cs != nil && cs.kind == jArray {
		if len(cs.vals) == 0 {
			p.r.errorf(path+".conditions", "must hold at least one jq condition: with none, nobody would be granted by the policy")
		}
		for i, c := range cs.vals {
			if x := p.formExpr(joinIndex(path+".conditions", i), c, whyPolicy); x != nil {
				pol.Conditions = append(pol.Conditions, x)
			}
		}
	}
	return pol
}

// whyPolicy is why a policy may not read .secrets.
const whyPolicy = "a policy decides who may start a run, and what it reads may be quoted in the reason a request is refused"

// decodeSearch reads a catalog search body.
func decodeSearch(v any) (catalog.Query, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return catalog.Query{}, false
	}
	var q catalog.Query
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return catalog.Query{}, false
	}
	return q, true
}

// policyQuery builds {combinator, rules} of contextual rules at path.
func (p *parser) policyQuery(path string, v *jv, depth int) *PolicyQuery {
	if depth > maxPolicyDepth {
		p.r.errorf(path, "rules are nested more than %d deep", maxPolicyDepth)
		return nil
	}
	q := &PolicyQuery{Combinator: strOf(v.get("combinator"))}
	rules := v.get("rules")
	if rules == nil || rules.kind != jArray {
		return nil
	}
	for i, rv := range rules.vals {
		rpath := joinIndex(path+".rules", i)
		if !isKind(p.r, rpath, rv, jObject) {
			continue
		}
		if rv.get("combinator") != nil || rv.get("rules") != nil {
			if object(p.r, rpath, rv, fields{"combinator": {required: true, check: enum("and", "or")}, "rules": {required: true, check: anyArray}}) {
				if n := p.policyQuery(rpath, rv, depth+1); n != nil {
					q.Rules = append(q.Rules, PolicyRule{Nested: n})
				}
			}
			continue
		}
		if !object(p.r, rpath, rv, fields{
			"property": {required: true},
			"operator": {required: true, check: enum(policyOperators...)},
			"value":    {},
		}) {
			continue
		}
		rule := PolicyRule{Operator: strOf(rv.get("operator"))}
		ref, ok := p.policyRef(rpath+".property", rv.get("property"))
		if !ok {
			continue
		}
		rule.Property = ref
		val := rv.get("value")
		if val != nil && val.kind == jObject && (val.get("context") != nil || val.get("property") != nil) {
			vr, ok := p.policyRef(rpath+".value", val)
			if !ok {
				continue
			}
			rule.ValueRef = &vr
		} else if val != nil {
			rule.Value = val.toAny()
		}
		switch op := rule.Operator; {
		case op == "empty" || op == "notEmpty":
		case val == nil:
			p.r.errorf(rpath+".value", "is required with the operator %q", op)
			continue
		case (op == "in" || op == "notIn") && arrayRef(ref):
			p.r.errorf(rpath+".operator", "%q does not apply to %s.%s, which is an array: use contains, notContains or containsAny", op, ref.Context, ref.Property)
			continue
		case (op == "in" || op == "notIn" || op == "containsAny") && rule.ValueRef == nil:
			if _, isList := rule.Value.([]any); !isList {
				p.r.errorf(rpath+".value", "must be an array with the operator %q", op)
				continue
			}
		}
		q.Rules = append(q.Rules, rule)
	}
	return q
}

// arrayRef reports whether ref always reads an array: the user's teams,
// and an entity's owning teams.
func arrayRef(ref PolicyRef) bool {
	return ref.Context == "userTeams" || ref.Property == "$team" || strings.HasSuffix(ref.Property, ".$team")
}

// policyRef reads {"context", "property"} at path.
func (p *parser) policyRef(path string, v *jv) (PolicyRef, bool) {
	if v == nil {
		return PolicyRef{}, false // a missing property was reported by the rule's shape
	}
	if v.kind == jString {
		p.r.errorf(path, `must name its context: {"context": "user", "property": %q} (contexts: %s)`, v.s, strings.Join(policyContexts, ", "))
		return PolicyRef{}, false
	}
	if !object(p.r, path, v, fields{
		"context":  {required: true, check: enum(policyContexts...)},
		"property": {required: true, check: nonEmpty},
	}) {
		return PolicyRef{}, false
	}
	ref := PolicyRef{Context: strOf(v.get("context")), Property: strOf(v.get("property"))}
	if ref.Context == "" || ref.Property == "" || !slices.Contains(policyContexts, ref.Context) {
		return PolicyRef{}, false
	}
	if strings.Count(ref.Property, ".") > 1 || ref.Context != "form" && strings.Contains(ref.Property, ".") {
		p.r.errorf(path+".property", "%s: only a form input may be followed by one property of its entity (input.property); deeper paths are not supported", ref.Property)
		return PolicyRef{}, false
	}
	return ref, true
}

// usersQuery builds an INPUT node's responders' usersQuery, a catalog
// search over the _user blueprint, from a shape-checked value at path.
func (p *parser) usersQuery(path string, v *jv) *catalog.Query {
	if v == nil || v.kind != jObject {
		return nil
	}
	q, ok := decodeSearch(v.toAny())
	if !ok {
		p.r.errorf(path, `must be a catalog search: {"combinator": "and"|"or", "rules": [...]}`)
		return nil
	}
	probs := q.Check("")
	for _, prob := range probs {
		p.r.errorf(path+"."+prob.Path, "%s", prob.Message)
	}
	if len(probs) > 0 {
		return nil
	}
	walkStrings(path, v, func(lp, s string) {
		if strings.Contains(s, "{{") {
			p.r.errorf(lp, "is not templated: a usersQuery is matched as written")
		}
	})
	return &q
}

// String names a reference for messages: user.$identifier.
func (r PolicyRef) String() string { return fmt.Sprintf("%s.%s", r.Context, r.Property) }
