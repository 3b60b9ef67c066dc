package tmpl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/itchyny/gojq"
)

// goGuarded lists the Go builtins (name/arity) that allocate in proportion
// to their input: each gets an override that charges the meter first (see
// bound.go and cost).
var goGuarded = []struct {
	name  string
	arity int
}{
	{"tostring", 0}, {"tojson", 0}, {"_tohtml", 0}, {"_touri", 0}, {"_tourid", 0},
	{"_tocsv", 0}, {"_totsv", 0}, {"_tosh", 0}, {"_tobase64", 0}, {"_tobase64d", 0},
	{"fromjson", 0}, {"explode", 0}, {"implode", 0}, {"ascii_downcase", 0},
	{"ascii_upcase", 0}, {"add", 0}, {"reverse", 0}, {"sort", 0}, {"unique", 0},
	{"keys", 0}, {"flatten", 0}, {"transpose", 0},
	{"join", 1}, {"split", 1}, {"flatten", 1}, {"indices", 1}, {"format", 1},
	{"setpath", 2}, {"_match", 3},
}

// jqGuarded are gojq's own definitions of the jq-defined builtins that call
// guarded Go builtins or grow values themselves. gojq compiles its builtins
// in their own scope, where the overrides are not seen, so they are
// redefined here with the same text; deps are the names they need.
var jqGuarded = []struct {
	name string
	deps []string
	src  string
}{
	{"match", []string{"_match/3"}, `def match($re): if $re | type == "array" then match($re[0]; $re[1]) else match($re; null) end;
def match($re; $flags): _match($re; $flags; false)[];`},
	{"test", []string{"_match/3"}, `def test($re): if $re | type == "array" then test($re[0]; $re[1]) else test($re; null) end;
def test($re; $flags): _match($re; $flags; true);`},
	{"capture", []string{"match"}, `def capture($re): if $re | type == "array" then capture($re[0]; $re[1]) else capture($re; null) end;
def capture($re; $flags): match($re; $flags) | .captures | _captures;`},
	{"scan", []string{"match"}, `def scan($re): scan($re; null);
def scan($re; $flags): match($re; $flags + "g") | if .captures == [] then .string else [.captures[].string] end;`},
	{"splits", []string{"match"}, `def splits($re; $flags): .[foreach (match($re; $flags + "g"), null) as {$offset, $length} (null; {start: .next, end: $offset, next: $offset + $length})];
def splits($re): splits($re; null);`},
	{"split", []string{"splits", "split/1"}, `def split($re; $flags): [splits($re; $flags)];`},
	{"sub", []string{"match", "tostring/0"}, `def sub($re; str): sub($re; str; null);
def sub($re; str; $flags): reduce match($re; $flags) as {$offset, $length, $captures} ({s: ., r: []}; reduce ($captures | _captures | str) as $s (.i = 0; .r[.i] += .s[.next:$offset] + $s | .i += 1) | .next = $offset + $length) | .r[] + .s[.next:] // .s;`},
	{"gsub", []string{"sub"}, `def gsub($re; str): sub($re; str; "g");
def gsub($re; str; $flags): sub($re; str; $flags + "g");`},
	{"add", []string{"add/0"}, `def add(f): [f] | add;`},
	{"pick", []string{"setpath/2"}, `def pick(f): . as $v | reduce path(f) as $p (null; setpath($p; $v | getpath($p)));`},
	{"fromstream", []string{"setpath/2"}, `def fromstream(f): foreach f as $pv (null; if .e then null end | $pv as [$p, $v] | if $pv | length == 2 then setpath(["v"] + $p; $v) | setpath(["e"]; $p | length == 0) else setpath(["e"]; $p | length == 1) end; if .e then .v else empty end);`},
	{"INDEX", []string{"tostring/0"}, `def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] = $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);`},
}

// formatFuncs maps the @formats to the builtins gojq compiles them to.
var formatFuncs = map[string]string{
	"@text": "tostring/0", "@json": "tojson/0", "@html": "_tohtml/0", "@uri": "_touri/0",
	"@urid": "_tourid/0", "@csv": "_tocsv/0", "@tsv": "_totsv/0", "@sh": "_tosh/0",
	"@base64": "_tobase64/0", "@base64d": "_tobase64d/0",
}

// boundQuery rewrites q, a freshly parsed and analyzed query, so that its
// growth goes through the meter (see bound.go): operators and assignments are
// rewritten in place, and the definitions it needs are put before it.
func boundQuery(q *gojq.Query) (*gojq.Query, error) {
	rw := &rewriter{need: map[string]bool{}}
	rw.query(q)
	// The definitions may need more (sub needs the assignment guard):
	// regenerate them until what they need is stable.
	for range 4 {
		src := rw.prelude()
		if src == "" {
			return q, rw.failed
		}
		pq, err := gojq.Parse(src + " .")
		if err != nil {
			return nil, fmt.Errorf("internal error: size guard definitions: %w", err)
		}
		before := len(rw.need)
		guard := rw.guard
		for _, fd := range pq.FuncDefs {
			rw.query(fd.Body)
		}
		rw.prelude() // resolves the dependencies of what was added
		if len(rw.need) == before && rw.guard == guard {
			if rw.failed != nil {
				return nil, rw.failed
			}
			return &gojq.Query{FuncDefs: pq.FuncDefs, Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: q}}, nil
		}
	}
	return nil, errors.New("internal error: size guard definitions do not converge")
}

// rewriter rewrites a query and collects the guarded definitions it needs.
type rewriter struct {
	need   map[string]bool // "name/arity" of Go builtins, "name" of jq ones
	guard  bool            // an assignment needs _sluice_guard
	failed error
}

func (rw *rewriter) call(name string, arity int) {
	rw.need[fmt.Sprintf("%s/%d", name, arity)] = true
	rw.need[name] = true
}

// prelude returns the definitions that rw.need asks for, in dependency order.
func (rw *rewriter) prelude() string {
	var b strings.Builder
	// Resolve the jq definitions' dependencies first.
	for changed := true; changed; {
		changed = false
		for _, j := range jqGuarded {
			if !rw.need[j.name] {
				continue
			}
			for _, d := range j.deps {
				if !rw.need[d] {
					rw.need[d] = true
					changed = true
				}
			}
		}
	}
	if rw.guard {
		// First: the definitions below may assign.
		fmt.Fprintf(&b, "def %s(p): %s([path(p)]; \"_paths\"; %s) | .[0]; ", guardFunc, preFunc, meterVar)
	}
	for _, g := range goGuarded {
		if !rw.need[fmt.Sprintf("%s/%d", g.name, g.arity)] {
			continue
		}
		params := []string{"a", "b", "c"}[:g.arity]
		vars := make([]string, g.arity)
		for i, p := range params {
			vars[i] = "$" + p
		}
		alias := "_sluice_b_" + strings.TrimPrefix(g.name, "_")
		if g.arity == 0 {
			fmt.Fprintf(&b, "def %s: %s; def %s: %s(%q; %s) | %s; ", alias, g.name, g.name, preFunc, g.name, meterVar, alias)
			continue
		}
		ps, vs := strings.Join(params, "; "), strings.Join(vars, "; ")
		fmt.Fprintf(&b, "def %s(%s): %s(%s); def %s(%s): %s(%s; %q; %s) as [$in, %s] | $in | %s(%s); ",
			alias, ps, g.name, ps, g.name, ps, preFunc, ps, g.name, meterVar, strings.Join(vars, ", "), alias, vs)
	}
	for _, j := range jqGuarded {
		if rw.need[j.name] {
			b.WriteString(j.src)
			b.WriteString(" ")
		}
	}
	return b.String()
}

// arith maps the arithmetic operators and their update forms to the
// operator and the name cost knows them by.
var arith = map[gojq.Operator]struct {
	op   gojq.Operator
	name string
}{
	gojq.OpAdd: {gojq.OpAdd, "+"}, gojq.OpSub: {gojq.OpSub, "-"}, gojq.OpMul: {gojq.OpMul, "*"},
	gojq.OpDiv: {gojq.OpDiv, "/"}, gojq.OpMod: {gojq.OpMod, "%"},
	gojq.OpUpdateAdd: {gojq.OpAdd, "+"}, gojq.OpUpdateSub: {gojq.OpSub, "-"},
	gojq.OpUpdateMul: {gojq.OpMul, "*"}, gojq.OpUpdateDiv: {gojq.OpDiv, "/"},
	gojq.OpUpdateMod: {gojq.OpMod, "%"},
}

func termQuery(t *gojq.Term) *gojq.Query { return &gojq.Query{Term: t} }

func funcQuery(name string, args ...*gojq.Query) *gojq.Query {
	return termQuery(&gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: args}})
}

func indexQuery(i string) *gojq.Query {
	return termQuery(&gojq.Term{Type: gojq.TermTypeIndex, Index: &gojq.Index{
		Start: termQuery(&gojq.Term{Type: gojq.TermTypeNumber, Number: i}),
	}})
}

func (rw *rewriter) query(q *gojq.Query) {
	if q == nil {
		return
	}
	for _, fd := range q.FuncDefs {
		rw.query(fd.Body)
	}
	if q.Term != nil {
		rw.term(q.Term)
		return
	}
	rw.patterns(q.Patterns)
	switch q.Op {
	case gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul, gojq.OpUpdateDiv, gojq.OpUpdateMod:
		// l op= r is r as $x | l |= . op $x, as gojq compiles it.
		a := arith[q.Op]
		*q = gojq.Query{FuncDefs: q.FuncDefs, Op: gojq.OpPipe, Left: q.Right,
			Patterns: []*gojq.Pattern{{Name: updateVar}},
			Right: &gojq.Query{Op: gojq.OpModify, Left: q.Left, Right: &gojq.Query{
				Op: a.op, Left: termQuery(&gojq.Term{Type: gojq.TermTypeIdentity}), Right: funcQuery(updateVar),
			}},
		}
		rw.query(q)
		return
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAlt:
		// The paths written to are checked for growth first.
		clone, err := gojq.Parse(q.Left.String())
		if err != nil {
			rw.failed = err
			return
		}
		rw.query(q.Left)
		rw.query(q.Right)
		rw.query(clone)
		rw.guard = true
		rw.need["setpath/2"] = true
		inner := &gojq.Query{Op: q.Op, Left: q.Left, Right: q.Right}
		*q = gojq.Query{FuncDefs: q.FuncDefs, Term: &gojq.Term{Type: gojq.TermTypeQuery,
			Query: &gojq.Query{Op: gojq.OpPipe, Left: funcQuery(guardFunc, clone), Right: inner}}}
		return
	}
	rw.query(q.Left)
	rw.query(q.Right)
	if a, ok := arith[q.Op]; ok {
		check := funcQuery(preFunc, q.Left, q.Right,
			termQuery(&gojq.Term{Type: gojq.TermTypeString, Str: &gojq.String{Str: a.name}}), funcQuery(meterVar))
		apply := &gojq.Query{Op: a.op, Left: indexQuery("1"), Right: indexQuery("2")}
		*q = gojq.Query{FuncDefs: q.FuncDefs, Term: &gojq.Term{Type: gojq.TermTypeQuery,
			Query: &gojq.Query{Op: gojq.OpPipe, Left: check, Right: apply}}}
	}
}

func (rw *rewriter) patterns(ps []*gojq.Pattern) {
	for _, p := range ps {
		rw.patterns(p.Array)
		for _, o := range p.Object {
			rw.str(o.KeyString, "tostring/0")
			rw.query(o.KeyQuery)
			if o.Val != nil {
				rw.patterns([]*gojq.Pattern{o.Val})
			}
		}
	}
}

// str rewrites the interpolations of s, which gojq joins with + after
// applying f (tostring, or the builtin of an @format) to each.
func (rw *rewriter) str(s *gojq.String, f string) {
	if s == nil || s.Queries == nil {
		return
	}
	rw.need[f] = true
	rw.need["tostring/0"] = true
	for _, q := range s.Queries {
		rw.query(q)
	}
}

func (rw *rewriter) term(t *gojq.Term) {
	switch t.Type {
	case gojq.TermTypeIndex:
		rw.index(t.Index)
	case gojq.TermTypeFunc:
		rw.call(t.Func.Name, len(t.Func.Args))
		for _, a := range t.Func.Args {
			rw.query(a)
		}
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			rw.str(kv.KeyString, "tostring/0")
			rw.query(kv.KeyQuery)
			rw.query(kv.Val)
		}
	case gojq.TermTypeArray:
		rw.query(t.Array.Query)
	case gojq.TermTypeUnary:
		rw.term(t.Unary.Term)
	case gojq.TermTypeFormat:
		f, ok := formatFuncs[t.Format]
		if !ok {
			f = "format/1"
		}
		rw.need[f] = true
		rw.str(t.Str, f)
	case gojq.TermTypeString:
		rw.str(t.Str, "tostring/0")
	case gojq.TermTypeIf:
		rw.query(t.If.Cond)
		rw.query(t.If.Then)
		for _, e := range t.If.Elif {
			rw.query(e.Cond)
			rw.query(e.Then)
		}
		rw.query(t.If.Else)
	case gojq.TermTypeTry:
		rw.query(t.Try.Body)
		rw.query(t.Try.Catch)
	case gojq.TermTypeReduce:
		rw.query(t.Reduce.Query)
		rw.patterns(t.Reduce.Patterns)
		rw.query(t.Reduce.Start)
		rw.query(t.Reduce.Update)
	case gojq.TermTypeForeach:
		rw.query(t.Foreach.Query)
		rw.patterns(t.Foreach.Patterns)
		rw.query(t.Foreach.Start)
		rw.query(t.Foreach.Update)
		rw.query(t.Foreach.Extract)
	case gojq.TermTypeLabel:
		rw.query(t.Label.Body)
	case gojq.TermTypeQuery:
		rw.query(t.Query)
	}
	for _, s := range t.SuffixList {
		if s.Index != nil {
			rw.index(s.Index)
		}
	}
}

func (rw *rewriter) index(x *gojq.Index) {
	rw.str(x.Str, "tostring/0")
	rw.query(x.Start)
	rw.query(x.End)
}
