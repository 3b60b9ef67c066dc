// Package tmpl compiles and renders the {{ jq }} templates of workflow
// definitions. Templates compile once, when a definition loads, and render many
// times. Rendering is sandboxed (no environment, no input reading, bounded
// steps, time, result size and allocation; see bound.go) and each expression
// sees only the slice of the context it reads.
//
// Static analysis (Reads) tells, for every expression, which secrets, node
// outputs and context roots it reads. A secret is only ever given to an
// expression that names it literally (.secrets.NAME or .secrets["NAME"]); any
// other use of .secrets is rejected at compile time, and a use of the whole
// context that the analysis cannot narrow is reported (WholeRead) so that
// callers can refuse it where .secrets is not allowed. An expression that reads
// .secrets never has jq's error message shown, since jq quotes values in its
// messages, and the string form of its result is reported to
// Context.Derived so that the caller can mask it.
//
// Expressions are run by github.com/itchyny/gojq, compiled once; an
// expression that is a plain path of literal keys (.outputs.trigger.name) is
// evaluated by map lookups instead, with the same results.
package tmpl

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// Reads is what a template or expression reads from its context, found by
// static analysis at compile time.
type Reads struct {
	// Secrets are the secret names read as .secrets.NAME or .secrets["NAME"],
	// sorted and without duplicates.
	Secrets []string
	// Outputs are the node identifiers read as .outputs.NODE or
	// .outputs["NODE"], sorted and without duplicates.
	Outputs []string
	// AllOutputs is set when .outputs is read in a way static analysis cannot
	// narrow (.outputs[], .outputs[$x], or the whole context).
	AllOutputs bool
	// Roots are the top-level context keys read (outputs, secrets, result,
	// workflow, workflowRun, workflowNodeRun, ...), sorted.
	Roots []string
	// Whole is set when an expression consumes the whole context (., .., keys,
	// tojson at the top level, ...); it then receives every root except the
	// secrets it does not name.
	Whole bool
}

// Context is the data a render may read. Only the roots and outputs that an
// expression reads are copied into its input (see Reads), so the cost of a
// render does not grow with the number of earlier node outputs.
//
// The maps in a Context are never modified by rendering; each expression gets
// its own freshly built input, so a Context may be shared by goroutines.
type Context struct {
	// Outputs maps node identifiers to their outputs (.outputs).
	Outputs map[string]any
	// Secrets holds resolved secret values by name (.secrets). Only the names
	// an expression reads statically are ever put in its input.
	Secrets map[string]string
	// Result is the node's raw result (.result), for variables and links.
	Result any
	// HasResult says whether .result exists in this context.
	HasResult bool
	// Workflow, WorkflowRun and WorkflowNodeRun are .workflow, .workflowRun
	// and .workflowNodeRun; nil leaves the key out.
	Workflow        map[string]any
	WorkflowRun     map[string]any
	WorkflowNodeRun map[string]any
	// Extra holds more roots by name, such as .form and .user for the jq of
	// a self-serve form. Only the roots an expression reads are put in its
	// input; "secrets" and the roots above are never taken from Extra.
	Extra map[string]any
	// Derived, when set, is called with the string form of the result of every
	// expression that reads .secrets (taint follows the expression), before
	// the rendered value is returned, so that the caller can register it with
	// a redactor. For a template that mixes text and expressions, it is
	// also called with the whole rendered string when any of its
	// expressions reads .secrets.
	Derived func(value string)
	// Limits bound each render made with this context; the zero value
	// means the defaults (DefaultTimeout, DefaultMaxResultBytes).
	Limits Limits
}

// Values in a Context must be JSON values as encoding/json decodes them (nil,
// bool, float64, json.Number, string, []any, map[string]any), or int. A render
// never writes into them.

// Template is a compiled string template: literal text and {{ jq }} parts.
// It is immutable after Compile and safe for concurrent use.
type Template struct {
	src   string
	parts []part // nil for a literal
	lone  *part  // the expression part when the template is exactly one {{ }}
	reads Reads
	// secret is set when an expression of the template reads .secrets.
	secret bool
	// whole is where an expression first reads the whole context, with
	// the offset in src; nil when none does.
	whole *Error
}

// Compile compiles src. A parse error, or a sandbox violation (env, $ENV,
// input, inputs, debug, stderr, input_filename, import/include), is an *Error
// carrying the byte offset in src.
//
// Text without "{{" is a literal, rendered as itself at no cost. A "{{" is
// closed by the first "}}" that is outside jq string literals and outside
// nested object constructions, so {{ {a: {b: 1}} }} and {{ "}}" }} work; jq
// comments (#) inside {{ }} are not recognized by that scan. A "{{" with no
// closing "}}" is an error at its offset. The sandbox also rejects
// input_line_number, halt, halt_error, modulemeta and the $__name variables
// other than $__loc__. A reference to .secrets that is not a literal name
// (.secrets, .secrets[], .secrets[.x], .secrets | keys) is an error.
func Compile(src string) (*Template, error) {
	t, err := compileTemplate(src)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func compileTemplate(src string) (*Template, *Error) {
	t := &Template{src: src}
	if !strings.Contains(src, "{{") {
		return t, nil
	}
	raws, err := splitTemplate(src)
	if err != nil {
		return nil, err
	}
	t.parts = make([]part, 0, len(raws))
	var reads []Reads
	exprs := 0
	for _, rp := range raws {
		if !rp.isExpr {
			t.parts = append(t.parts, part{lit: rp.text, offset: rp.offset})
			continue
		}
		e, err := compileExpr(rp.text)
		if err != nil {
			if err.Offset < 0 {
				err.Offset = rp.offset // the "{{" when the place is unknown
			} else {
				err.Offset += rp.exprOffset
			}
			return nil, err
		}
		exprs++
		t.secret = t.secret || e.secret
		if e.whole != nil && t.whole == nil {
			w := *e.whole
			if w.Offset < 0 {
				w.Offset = rp.offset
			} else {
				w.Offset += rp.exprOffset
			}
			t.whole = &w
		}
		reads = append(reads, e.reads)
		t.parts = append(t.parts, part{expr: e, offset: rp.offset})
	}
	t.reads = unionReads(reads...)
	if exprs == 1 {
		for i := range t.parts {
			p := &t.parts[i]
			if p.expr != nil {
				t.lone = p
			} else if strings.TrimSpace(p.lit) != "" {
				t.lone = nil
				break
			}
		}
	}
	return t, nil
}

// Render renders t. A string that is exactly one {{ expr }} (spaces around
// allowed, inside and outside the braces) takes the JSON type of the result;
// mixed text gives a string, with non-string results written as compact JSON
// (jq's tostring: strings raw, object keys sorted). No value renders as null
// (the text "null" inside mixed text); several values are an error.
//
// Numbers come out as json.Number (integers) or float64; the result is a
// fresh value that the caller may modify. Errors are *Error with the offset of
// the failing "{{"; a jq error of an expression that reads .secrets is
// replaced by a generic message, since jq quotes values in its messages.
func (t *Template) Render(c *Context) (any, error) {
	return t.RenderContext(context.Background(), c)
}

// RenderContext is Render with a context that can cancel the render.
func (t *Template) RenderContext(ctx context.Context, c *Context) (any, error) {
	if t.parts == nil {
		return t.src, nil
	}
	r := newRun(ctx, c)
	v, err := t.render(r)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (t *Template) render(r *run) (any, *Error) {
	if t.parts == nil {
		return t.src, nil
	}
	if t.lone != nil {
		v, msg := t.lone.expr.eval(r)
		if msg != "" {
			return nil, &Error{Offset: t.lone.offset, Msg: msg}
		}
		t.lone.expr.derive(r, v)
		return v, nil
	}
	var b strings.Builder
	b.Grow(len(t.src))
	for i := range t.parts {
		p := &t.parts[i]
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, msg := p.expr.eval(r)
		if msg != "" {
			return nil, &Error{Offset: p.offset, Msg: msg}
		}
		s := stringForm(v)
		p.expr.derive(r, v)
		if b.Len()+len(s) > r.limit.MaxResultBytes {
			return nil, &Error{Offset: p.offset, Msg: errTooLarge.Error()}
		}
		b.WriteString(s)
	}
	out := b.String()
	if t.secret && r.c.Derived != nil {
		r.c.Derived(out)
	}
	return out, nil
}

// Reads reports what t reads.
func (t *Template) Reads() Reads { return t.reads.clone() }

// WholeRead reports where t first reads the whole context in a way static
// analysis cannot narrow (Reads().Whole), as an *Error with the offset in
// the template and a message that says how; nil when it does not. Such a
// template could read any key of the context, .secrets included, as far as
// the analysis can prove, so it is refused wherever .secrets is (the rule
// is conservative), and where .secrets is allowed it is refused too, since
// it would never see a secret it does not name literally.
func (t *Template) WholeRead() *Error {
	if t.whole == nil {
		return nil
	}
	w := *t.whole
	return &w
}

// IsLiteral reports whether t has no {{ }} part.
func (t *Template) IsLiteral() bool { return t.parts == nil }

// Source returns the template's source text.
func (t *Template) Source() string { return t.src }

// Error is a compile or render error: where (JSON path, byte offset in the
// template) and what.
type Error struct {
	Path   string // JSON path of the field, "" when not known
	Offset int    // byte offset in the template source, -1 when not known
	Msg    string
}

// Error formats e as "<path>: template position <offset>: <msg>", leaving out
// the parts that are not known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Offset >= 0 {
		b.WriteString("template position ")
		b.WriteString(strconv.Itoa(e.Offset))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// clone returns a copy of r that shares no slices with it.
func (r Reads) clone() Reads {
	r.Secrets = slices.Clone(r.Secrets)
	r.Outputs = slices.Clone(r.Outputs)
	r.Roots = slices.Clone(r.Roots)
	return r
}

// unionReads merges reads: sorted, without duplicates.
func unionReads(rs ...Reads) Reads {
	var u Reads
	for _, r := range rs {
		u.Secrets = append(u.Secrets, r.Secrets...)
		u.Outputs = append(u.Outputs, r.Outputs...)
		u.Roots = append(u.Roots, r.Roots...)
		u.AllOutputs = u.AllOutputs || r.AllOutputs
		u.Whole = u.Whole || r.Whole
	}
	u.Secrets = sortUniq(u.Secrets)
	u.Outputs = sortUniq(u.Outputs)
	u.Roots = sortUniq(u.Roots)
	return u
}

func sortUniq(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
