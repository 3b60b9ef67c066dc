package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Query is Port's search body: rules under a combinator. A rule is a
// property rule ({property, operator, value}), a relation rule
// ({relation, operator, value}), a relatedTo rule ({operator: "relatedTo",
// blueprint, value}) or a nested query ({combinator, rules}).
type Query struct {
	Combinator string `json:"combinator"`
	Rules      []Rule `json:"rules"`
}

// Rule is one search rule.
type Rule struct {
	Property   string `json:"property,omitempty"`
	Relation   string `json:"relation,omitempty"`
	Operator   string `json:"operator,omitempty"`
	Value      any    `json:"value,omitempty"`
	Blueprint  string `json:"blueprint,omitempty"`
	Combinator string `json:"combinator,omitempty"`
	Rules      []Rule `json:"rules,omitempty"`
}

var propertyOps = []string{"=", "!=", ">", ">=", "<", "<=", "in", "notIn", "contains", "doesNotContains", "containsAny",
	"beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith", "between", "notBetween", "isEmpty", "isNotEmpty"}

var relationOps = []string{"=", "!=", "in", "notIn", "isEmpty", "isNotEmpty"}

// check lists every problem of a query, with its path.
func (q Query) check(path string) []Problem {
	var probs []Problem
	if q.Combinator != "and" && q.Combinator != "or" {
		probs = append(probs, Problem{Path: joinPath(path, "combinator"), Message: `must be "and" or "or"`})
	}
	for i, r := range q.Rules {
		rp := fmt.Sprintf("%s[%d]", joinPath(path, "rules"), i)
		switch {
		case r.Combinator != "" || r.Rules != nil:
			probs = append(probs, Query{Combinator: r.Combinator, Rules: r.Rules}.check(rp)...)
		case r.Operator == "relatedTo":
			if r.Blueprint == "" {
				probs = append(probs, Problem{Path: rp + ".blueprint", Message: "is required with relatedTo"})
			}
			if _, ok := idList(r.Value); !ok {
				probs = append(probs, Problem{Path: rp + ".value", Message: "must be an entity identifier or a list of them"})
			}
		case r.Relation != "":
			if !slices.Contains(relationOps, r.Operator) {
				probs = append(probs, Problem{Path: rp + ".operator", Message: "must be one of " + strings.Join(relationOps, ", ") + " on a relation"})
			}
		case r.Property != "":
			if !slices.Contains(propertyOps, r.Operator) {
				probs = append(probs, Problem{Path: rp + ".operator", Message: "must be one of " + strings.Join(propertyOps, ", ")})
				continue
			}
			if r.Operator == "between" || r.Operator == "notBetween" {
				if _, _, ok := betweenRange(r.Value); !ok {
					probs = append(probs, Problem{Path: rp + ".value", Message: `must be {"from": date-time, "to": date-time}`})
				}
			}
		default:
			probs = append(probs, Problem{Path: rp, Message: "must name a property, a relation, or be a relatedTo rule or a nested query"})
		}
	}
	return probs
}

// Search returns the entities that match q, ordered by blueprint and
// identifier. A bad query is a *ValidationError.
func (s *Service) Search(ctx context.Context, q Query) ([]Entity, error) {
	if probs := q.check(""); len(probs) > 0 {
		return nil, &ValidationError{What: "search query", Problems: probs}
	}
	// A top-level "$blueprint" = rule under "and" narrows what is read.
	bp := ""
	if q.Combinator == "and" {
		for _, r := range q.Rules {
			if r.Property == "$blueprint" && r.Operator == "=" {
				bp, _ = r.Value.(string)
			}
		}
	}
	all, err := s.list(ctx, bp)
	if err != nil {
		return nil, err
	}
	out := []Entity{}
	for _, e := range all {
		if q.match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (q Query) match(e Entity) bool {
	for _, r := range q.Rules {
		m := r.match(e)
		if q.Combinator == "or" && m {
			return true
		}
		if q.Combinator == "and" && !m {
			return false
		}
	}
	return q.Combinator == "and" || len(q.Rules) == 0
}

func (r Rule) match(e Entity) bool {
	switch {
	case r.Combinator != "" || r.Rules != nil:
		return Query{Combinator: r.Combinator, Rules: r.Rules}.match(e)
	case r.Operator == "relatedTo":
		ids, _ := idList(r.Value)
		if r.Blueprint == e.Blueprint && slices.Contains(ids, e.Identifier) {
			return false
		}
		for _, v := range e.Relations {
			for _, t := range relTargets(v) {
				if slices.Contains(ids, t) {
					return true
				}
			}
		}
		return false
	case r.Relation != "":
		targets := relTargets(e.Relations[r.Relation])
		ids, _ := idList(r.Value)
		switch r.Operator {
		case "=", "in":
			return anyIn(targets, ids)
		case "!=", "notIn":
			return !anyIn(targets, ids)
		case "isEmpty":
			return len(targets) == 0
		case "isNotEmpty":
			return len(targets) > 0
		}
		return false
	}
	return matchValue(r.Operator, e.field(r.Property), r.Value)
}

// field reads a property, or one of Port's meta properties ($identifier,
// $title, $blueprint, $team, $icon, $createdAt, $updatedAt).
func (e Entity) field(name string) any {
	switch name {
	case "$identifier":
		return e.Identifier
	case "$title":
		return e.Title
	case "$blueprint":
		return e.Blueprint
	case "$icon":
		return e.Icon
	case "$team":
		out := make([]any, len(e.Team))
		for i, t := range e.Team {
			out[i] = t
		}
		return out
	case "$createdAt":
		return e.CreatedAt.Format(time.RFC3339Nano)
	case "$updatedAt":
		return e.UpdatedAt.Format(time.RFC3339Nano)
	}
	return e.Properties[name]
}

func relTargets(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func idList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func anyIn(xs, ys []string) bool {
	for _, x := range xs {
		if slices.Contains(ys, x) {
			return true
		}
	}
	return false
}

func betweenRange(v any) (from, to time.Time, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return from, to, false
	}
	f, _ := m["from"].(string)
	t, _ := m["to"].(string)
	var err1, err2 error
	from, err1 = time.Parse(time.RFC3339Nano, f)
	to, err2 = time.Parse(time.RFC3339Nano, t)
	return from, to, err1 == nil && err2 == nil
}

// number reads a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// equal compares two JSON values, numbers by value.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ab) == string(bb)
}

// compare orders numbers, and strings (date-times compare as text when
// both are RFC 3339 in UTC, as Port stores them).
func compare(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	ta, e1 := time.Parse(time.RFC3339Nano, as)
	tb, e2 := time.Parse(time.RFC3339Nano, bs)
	if e1 == nil && e2 == nil {
		return ta.Compare(tb), true
	}
	return strings.Compare(as, bs), true
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func matchValue(op string, got, want any) bool {
	switch op {
	case "=":
		return equal(got, want)
	case "!=":
		return !equal(got, want)
	case ">", ">=", "<", "<=":
		c, ok := compare(got, want)
		if !ok {
			return false
		}
		return op == ">" && c > 0 || op == ">=" && c >= 0 || op == "<" && c < 0 || op == "<=" && c <= 0
	case "in", "notIn":
		list, _ := want.([]any)
		in := slices.ContainsFunc(list, func(x any) bool { return equal(got, x) })
		return in == (op == "in")
	case "containsAny":
		list, _ := want.([]any)
		have, _ := got.([]any)
		for _, h := range have {
			if slices.ContainsFunc(list, func(x any) bool { return equal(h, x) }) {
				return true
			}
		}
		return false
	case "contains", "doesNotContains":
		s, _ := got.(string)
		w, _ := want.(string)
		return strings.Contains(s, w) == (op == "contains")
	case "beginsWith", "doesNotBeginsWith":
		s, _ := got.(string)
		w, _ := want.(string)
		return strings.HasPrefix(s, w) == (op == "beginsWith")
	case "endsWith", "doesNotEndsWith":
		s, _ := got.(string)
		w, _ := want.(string)
		return strings.HasSuffix(s, w) == (op == "endsWith")
	case "between", "notBetween":
		from, to, _ := betweenRange(want)
		s, _ := got.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		in := err == nil && !t.Before(from) && !t.After(to)
		return in == (op == "between")
	case "isEmpty":
		return isEmpty(got)
	case "isNotEmpty":
		return !isEmpty(got)
	}
	return false
}
