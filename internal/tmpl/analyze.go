package tmpl

import (
	"slices"
	"strings"

	"github.com/itchyny/gojq"
)

// Messages of the compile-time checks.
const (
	msgSecretsByName = "secrets must be referenced by name: .secrets.NAME or .secrets[\"NAME\"]"
	msgModules       = "import, include and module directives are not allowed in templates"
)

// forbidden lists the functions and variables the sandbox rejects, with the
// reason given to the user. They read the process environment or input
// streams, write to the process's standard streams, or stop the evaluator;
// none has a meaning in a template. halt and halt_error are harmless inside
// the library (they end the iteration with an error) but are rejected so that
// a template fails only through error(...), whose message handling is
// defined here.
var forbidden = map[string]string{
	"env":               "env is not available in templates (no environment access)",
	"$ENV":              "$ENV is not available in templates (no environment access)",
	"input":             "input is not available in templates (no input reading)",
	"inputs":            "inputs is not available in templates (no input reading)",
	"input_filename":    "input_filename is not available in templates (no input reading)",
	"input_line_number": "input_line_number is not available in templates (no input reading)",
	"debug":             "debug is not available in templates (no writing to the server's streams)",
	"stderr":            "stderr is not available in templates (no writing to the server's streams)",
	"halt":              "halt is not available in templates; use error(message)",
	"halt_error":        "halt_error is not available in templates; use error(message)",
	"modulemeta":        "modulemeta is not available in templates (no modules)",
	"get_search_list":   "get_search_list is not available in templates (no modules)",
	"get_prog_origin":   "get_prog_origin is not available in templates (no modules)",
	"get_jq_origin":     "get_jq_origin is not available in templates (no modules)",
}

// forbiddenName returns the sandbox message for a function or variable name,
// or "". Every $__name variable other than $__loc__ is reserved for the
// implementation and rejected.
func forbiddenName(name string) string {
	if m, ok := forbidden[name]; ok {
		return m
	}
	if strings.HasPrefix(name, "$__") && name != "$__loc__" {
		return name + " is not available in templates"
	}
	return ""
}

// inputIgnoring lists the functions (by name and arity) that do not consume
// their input themselves: they only pass it to their arguments, which the
// analysis follows. Every other function applied to (part of) the context is
// treated as reading all of it.
var inputIgnoring = map[string]bool{
	"empty/0": true, "now/0": true, "infinite/0": true, "nan/0": true,
	"builtins/0": true, "range/1": true, "range/2": true, "range/3": true,
	"error/1": true, "first/1": true, "last/1": true, "limit/2": true,
	"isempty/1": true,
}

// loc says where a value produced by a sub-expression comes from: ok is set
// when it is (part of) the root context, at the path keys. Keys beyond the
// second are dropped, since reads are tracked per root and per secret or
// output name only.
type loc struct {
	ok   bool
	keys []string
}

var rootLoc = loc{ok: true}

// child returns the location of l's key k.
func (l loc) child(k string) loc {
	if !l.ok || len(l.keys) >= 2 {
		return l
	}
	return loc{ok: true, keys: append(slices.Clip(l.keys), k)}
}

func (l loc) equal(o loc) bool {
	return l.ok == o.ok && slices.Equal(l.keys, o.keys)
}

// problem is a compile-time rejection found by the analyzer; find locates it
// in the expression's tokens.
type problem struct {
	msg  string
	find func([]token) int
}

// analyzer walks a parsed jq query, enforcing the sandbox and collecting what
// it reads from the context.
//
// The analysis tracks, for every sub-expression, whether its input and its
// output are (part of) the root context and at which static path. A value
// that is part of the context and flows somewhere the analysis cannot follow
// (a function, an operator, an object or array construction, a variable
// binding, the rendered result) is "marked": everything under its path counts
// as read, and marking the root itself sets Whole. Over-approximation is
// always chosen when in doubt, since it only passes more data to the
// expression; under-approximation would be a bug.
type analyzer struct {
	secrets    map[string]bool
	outputs    map[string]bool
	roots      map[string]bool
	allOutputs bool
	whole      bool
	prob       *problem
	// wholeAt is where the root context was first marked: what consumed
	// it, for the message of a field where .secrets is not allowed.
	wholeAt *problem
	// site describes the operation being analyzed, recorded in wholeAt
	// when it marks the root.
	site problem
}

// siteWhole is the generic description of a use of the whole context.
var siteWhole = problem{msg: "the whole context is used in a way the analysis cannot narrow", find: func([]token) int { return -1 }}

// at sets the current site to msg, located by find, and returns a function
// that restores the previous one.
func (a *analyzer) at(msg string, find func([]token) int) func() {
	prev := a.site
	a.site = problem{msg: msg, find: find}
	return func() { a.site = prev }
}

// atCall is at for a function call (or a variable) named name.
func (a *analyzer) atCall(name string) func() {
	return a.at(name+" is applied to the whole context", func(t []token) int { return findCall(t, name) })
}

func newAnalyzer() *analyzer {
	return &analyzer{secrets: map[string]bool{}, outputs: map[string]bool{}, roots: map[string]bool{}, site: siteWhole}
}

// analyze checks q and returns what it reads, or the first problem found,
// and, when the expression reads the whole context (Reads.Whole), where it
// first does.
func analyze(q *gojq.Query) (Reads, *problem, *problem) {
	a := newAnalyzer()
	out := a.query(q, rootLoc)
	done := a.at("the expression yields the whole context", func([]token) int { return -1 })
	a.mark(out)
	done()
	if a.prob != nil {
		return Reads{}, a.prob, nil
	}
	r := Reads{
		Secrets:    sortedKeys(a.secrets),
		Outputs:    sortedKeys(a.outputs),
		AllOutputs: a.allOutputs || a.whole,
		Roots:      sortedKeys(a.roots),
		Whole:      a.whole,
	}
	return r, nil, a.wholeAt
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (a *analyzer) fail(p problem) {
	if a.prob == nil {
		a.prob = &p
	}
}

// mark records that everything under l is read.
func (a *analyzer) mark(l loc) {
	if !l.ok {
		return
	}
	if len(l.keys) == 0 {
		if !a.whole {
			site := a.site
			a.wholeAt = &site
		}
		a.whole = true
		return
	}
	root := l.keys[0]
	a.roots[root] = true
	switch root {
	case "secrets":
		if len(l.keys) < 2 {
			a.fail(problem{msg: msgSecretsByName, find: findSecretsMisuse})
			return
		}
		a.secrets[l.keys[1]] = true
	case "outputs":
		if len(l.keys) < 2 {
			a.allOutputs = true
			return
		}
		a.outputs[l.keys[1]] = true
	}
}

// combine is the location of a stream holding the values of both x and y.
func (a *analyzer) combine(x, y loc) loc {
	switch {
	case !x.ok:
		return y
	case !y.ok, x.equal(y):
		return x
	}
	a.mark(x)
	a.mark(y)
	return loc{}
}

// checkFunc checks the name of a function called or defined: gojq's
// internal functions (_add, _modify, _match, ...) would bypass the size
// bound, and the bound's own start with _sluice, so names starting with _
// are reserved.
func (a *analyzer) checkFunc(name string) {
	if strings.HasPrefix(name, "_") {
		a.fail(problem{msg: "function names starting with _ are reserved in templates (" + name + ")",
			find: func(t []token) int { return max(findCall(t, name), findDef(t, name)) }})
	}
	a.checkName(name)
}

func (a *analyzer) checkName(name string) {
	if m := forbiddenName(name); m != "" {
		a.fail(problem{msg: m, find: func(t []token) int { return findCall(t, name) }})
	}
}

// query analyzes q applied to an input at in, and returns where its output
// comes from.
func (a *analyzer) query(q *gojq.Query, in loc) loc {
	if q == nil {
		return loc{}
	}
	if q.Meta != nil || len(q.Imports) > 0 {
		a.fail(problem{msg: msgModules, find: func(t []token) int {
			for _, kw := range []string{"import", "include", "module"} {
				if off := findCall(t, kw); off >= 0 {
					return off
				}
			}
			return -1
		}})
	}
	for _, fd := range q.FuncDefs {
		a.checkFunc(fd.Name)
		// A function may be called on anything, the root included.
		done := a.at("the function "+fd.Name+" may be applied to the whole context", func(t []token) int { return findDef(t, fd.Name) })
		a.mark(a.query(fd.Body, rootLoc))
		done()
	}
	if q.Term != nil {
		return a.term(q.Term, in)
	}
	switch q.Op {
	case gojq.OpPipe:
		if len(q.Patterns) > 0 {
			// E as $x | body: body gets the same input as E.
			l := a.query(q.Left, in)
			done := a.at("the whole context is bound to a variable", findWord("as"))
			a.mark(l)
			done()
			a.patterns(q.Patterns, in)
			return a.query(q.Right, in)
		}
		return a.query(q.Right, a.query(q.Left, in))
	case gojq.OpComma, gojq.OpAlt:
		return a.combine(a.query(q.Left, in), a.query(q.Right, in))
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub,
		gojq.OpUpdateMul, gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		l := a.query(q.Left, in)
		done := a.at("an assignment updates the whole context", func([]token) int { return -1 })
		a.mark(l)
		done()
		rin := in
		if q.Op == gojq.OpModify {
			rin = l // the update sees the values at the paths
		}
		a.mark(a.query(q.Right, rin))
		return in // the modified input
	default: // arithmetic, comparisons, and, or
		l, r := a.query(q.Left, in), a.query(q.Right, in)
		defer a.at("an operator is applied to the whole context", func([]token) int { return -1 })()
		a.mark(l)
		a.mark(r)
		return loc{}
	}
}

func (a *analyzer) patterns(ps []*gojq.Pattern, in loc) {
	for _, p := range ps {
		a.checkName(p.Name)
		a.patterns(p.Array, in)
		for _, o := range p.Object {
			a.checkName(o.Key)
			if o.KeyString != nil {
				a.str(o.KeyString, in)
			}
			a.mark(a.query(o.KeyQuery, in))
			if o.Val != nil {
				a.patterns([]*gojq.Pattern{o.Val}, in)
			}
		}
	}
}

func (a *analyzer) str(s *gojq.String, in loc) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		v := a.query(q, in)
		done := a.at("the whole context is interpolated into a string", func([]token) int { return -1 })
		a.mark(v)
		done()
	}
}

// term analyzes t applied to an input at in.
func (a *analyzer) term(t *gojq.Term, in loc) loc {
	var cur loc
	switch t.Type {
	case gojq.TermTypeIdentity:
		cur = in
	case gojq.TermTypeRecurse:
		done := a.at(".. recurses into the whole context", findPunct(".."))
		a.mark(in)
		done()
		cur = in
	case gojq.TermTypeIndex:
		cur = a.index(t.Index, in, in)
	case gojq.TermTypeFunc:
		cur = a.call(t.Func, in)
	case gojq.TermTypeObject:
		a.object(t.Object, in)
	case gojq.TermTypeArray:
		if t.Array != nil {
			v := a.query(t.Array.Query, in)
			done := a.at("the whole context is put into an array", findPunct("["))
			a.mark(v)
			done()
		}
	case gojq.TermTypeUnary:
		a.mark(a.term(t.Unary.Term, in))
	case gojq.TermTypeFormat:
		if t.Str == nil {
			done := a.atCall(t.Format)
			a.mark(in) // @base64 applies to the input itself
			done()
		} else {
			a.str(t.Str, in)
		}
	case gojq.TermTypeString:
		a.str(t.Str, in)
	case gojq.TermTypeIf:
		cur = a.ifTerm(t.If, in)
	case gojq.TermTypeTry:
		cur = a.query(t.Try.Body, in)
		if t.Try.Catch != nil {
			// The catch body's input is the error; data of the context
			// that can reach an error message was marked where it was
			// consumed.
			cur = a.combine(cur, a.query(t.Try.Catch, loc{}))
		}
	case gojq.TermTypeReduce:
		r := t.Reduce
		a.mark(a.query(r.Query, in))
		a.patterns(r.Patterns, in)
		s := a.query(r.Start, in)
		cur = a.combine(s, a.query(r.Update, s))
	case gojq.TermTypeForeach:
		f := t.Foreach
		a.mark(a.query(f.Query, in))
		a.patterns(f.Patterns, in)
		s := a.query(f.Start, in)
		state := a.combine(s, a.query(f.Update, s))
		if f.Extract != nil {
			cur = a.query(f.Extract, state)
		} else {
			cur = state
		}
	case gojq.TermTypeLabel:
		cur = a.query(t.Label.Body, in)
	case gojq.TermTypeQuery:
		cur = a.query(t.Query, in)
	default: // null, true, false, numbers, break
	}
	for _, s := range t.SuffixList {
		switch {
		case s.Index != nil:
			cur = a.index(s.Index, cur, in)
		case s.Iter:
			done := a.at(".[] iterates over the whole context", findPunct("["))
			a.mark(cur)
			done()
			cur = loc{}
		}
	}
	return cur
}

func (a *analyzer) ifTerm(x *gojq.If, in loc) loc {
	a.mark(a.query(x.Cond, in))
	out := a.query(x.Then, in)
	for _, e := range x.Elif {
		a.mark(a.query(e.Cond, in))
		out = a.combine(out, a.query(e.Then, in))
	}
	if x.Else != nil {
		return a.combine(out, a.query(x.Else, in))
	}
	// A missing else yields the input.
	defer a.at("an if without else yields its input, here the whole context", findWord("if"))()
	return a.combine(out, in)
}

// staticKey returns the string key of an index written with a literal name.
func staticKey(x *gojq.Index) (string, bool) {
	switch {
	case x.Name != "":
		return x.Name, true
	case x.Str != nil:
		return x.Str.Str, x.Str.Queries == nil
	case !x.IsSlice && x.Start != nil && x.End == nil:
		t := x.Start.Term
		if x.Start.FuncDefs == nil && t != nil && t.Type == gojq.TermTypeString &&
			len(t.SuffixList) == 0 && t.Str != nil && t.Str.Queries == nil {
			return t.Str.Str, true
		}
	}
	return "", false
}

// index analyzes an index applied to base; in is the input of the term, which
// the index expressions see.
func (a *analyzer) index(x *gojq.Index, base, in loc) loc {
	if k, ok := staticKey(x); ok {
		return base.child(k)
	}
	a.str(x.Str, in)
	a.mark(a.query(x.Start, in))
	a.mark(a.query(x.End, in))
	done := a.at("a computed key or a slice indexes the whole context", findPunct("["))
	a.mark(base)
	done()
	return loc{}
}

func (a *analyzer) object(o *gojq.Object, in loc) {
	for _, kv := range o.KeyVals {
		if kv.Val == nil { // {name}, {$var}, {"name"}: shorthands
			switch {
			case strings.HasPrefix(kv.Key, "$"):
				a.checkName(kv.Key)
			case kv.Key != "":
				a.mark(in.child(kv.Key))
			case kv.KeyString != nil && kv.KeyString.Queries == nil:
				a.mark(in.child(kv.KeyString.Str))
			default:
				a.str(kv.KeyString, in)
				a.mark(a.query(kv.KeyQuery, in))
				a.mark(in)
			}
			continue
		}
		a.str(kv.KeyString, in)
		a.mark(a.query(kv.KeyQuery, in))
		v := a.query(kv.Val, in)
		done := a.at("the whole context is put into an object", findPunct("{"))
		a.mark(v)
		done()
	}
}

// call analyzes a function call or a variable reference applied to in.
func (a *analyzer) call(f *gojq.Func, in loc) loc {
	if strings.HasPrefix(f.Name, "$") {
		a.checkName(f.Name)
	} else {
		a.checkFunc(f.Name)
	}
	if strings.HasPrefix(f.Name, "$") {
		// A variable holds a value bound earlier; values of the context
		// were marked where they were bound.
		return loc{}
	}
	outs := make([]loc, len(f.Args))
	for i, arg := range f.Args {
		outs[i] = a.query(arg, in)
	}
	if inputIgnoring[f.Name+"/"+itoa(len(f.Args))] {
		var out loc
		for _, o := range outs {
			out = a.combine(out, o)
		}
		return out
	}
	// The function may read its input in any way, and may pass it, or an
	// argument's values, on.
	done := a.atCall(f.Name)
	defer done()
	for _, o := range outs {
		a.mark(o)
	}
	a.mark(in)
	return in
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	return "n"
}
