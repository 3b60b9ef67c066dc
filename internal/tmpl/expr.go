package tmpl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// Default limits of a render, used when the corresponding Limits field is zero.
const (
	DefaultTimeout        = 100 * time.Millisecond
	DefaultMaxSteps       = 1_000_000
	DefaultMaxResultBytes = 1 << 20
	DefaultMaxBytes       = 16 << 20
)

// Limits bound a render: one Render, Eval or RenderContext call, all the
// expressions of a Value together. The zero value means the defaults.
//
// gojq checks the limits before every instruction it executes, so loops,
// generators and runaway recursion stop with an error. A single builtin call
// (a string repetition, say) is not interrupted: the operations that can
// allocate much in one instruction are bounded by MaxBytes instead (see
// bound.go).
type Limits struct {
	// Timeout bounds the wall time. Default DefaultTimeout. It is checked
	// every 256 instructions, without a timer.
	Timeout time.Duration
	// MaxSteps bounds the number of jq instructions executed: a bound that,
	// unlike time, does not depend on the load of the machine. Default
	// DefaultMaxSteps (a typical template takes under a hundred).
	MaxSteps int
	// MaxResultBytes bounds the approximate JSON size of the values
	// produced by the expressions. Default DefaultMaxResultBytes.
	MaxResultBytes int
	// MaxBytes bounds what a render may allocate for the strings, arrays
	// and objects its operations produce (string concatenation and
	// repetition, tojson, the @formats, join, arrays grown by index, ...),
	// counted before each operation runs, in total over the render: a
	// render that would pass it fails with "value exceeded the size limit
	// of N bytes" instead of allocating. Default DefaultMaxBytes.
	MaxBytes int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = DefaultMaxResultBytes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// errStepLimit is reported when a render runs out of steps.
var errStepLimit = errors.New("step limit exceeded")

// closed is a closed channel, what limiter.Done returns once a limit is hit.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// limiter is the context.Context given to gojq. gojq calls Done before every
// instruction, which lets limiter count steps and check the deadline without
// arming a timer. It is used by one goroutine at a time (one render).
type limiter struct {
	parent   context.Context
	deadline time.Time
	steps    int
	maxSteps int
	err      error
}

func (l *limiter) Deadline() (time.Time, bool) { return l.deadline, true }
func (l *limiter) Value(key any) any           { return l.parent.Value(key) }

func (l *limiter) Done() <-chan struct{} {
	if l.err != nil {
		return closed
	}
	l.steps++
	if l.steps > l.maxSteps {
		l.err = errStepLimit
		return closed
	}
	if l.steps&255 == 0 && !time.Now().Before(l.deadline) {
		l.err = context.DeadlineExceeded
		return closed
	}
	return l.parent.Done()
}

func (l *limiter) Err() error {
	if l.err != nil {
		return l.err
	}
	return l.parent.Err()
}

// msgSecretFailed replaces the jq message of a failing expression that reads
// .secrets: gojq quotes values in its messages.
const msgSecretFailed = "expression that reads .secrets failed (the jq message is withheld because it could quote a secret value)"

// expr is one compiled jq expression with what it reads.
type expr struct {
	code  *gojq.Code
	reads Reads
	// what the input map must hold
	secret, result, workflow, workflowRun, workflowNodeRun bool
	outputs                                                bool
	// sig identifies what the input holds: expressions of one render with
	// the same sig share one input (gojq never writes into it).
	sig string
	// path is set when the expression is a plain path of literal keys
	// (.outputs.trigger.name, .secrets["X"]): it is then evaluated by map
	// lookups, with gojq only as the fallback that produces jq's error.
	path []string
	// whole says where the expression first reads the whole context
	// (reads.Whole), with an offset in its source (-1: unknown); nil
	// when it does not.
	whole *Error
}

// plainPath returns the keys of q when it is a plain path of literal keys.
func plainPath(q *gojq.Query) []string {
	if q.Term == nil || q.FuncDefs != nil || q.Imports != nil || q.Meta != nil ||
		q.Term.Type != gojq.TermTypeIndex {
		return nil
	}
	k, ok := staticKey(q.Term.Index)
	if !ok {
		return nil
	}
	keys := []string{k}
	for _, s := range q.Term.SuffixList {
		if s.Index == nil {
			return nil
		}
		k, ok := staticKey(s.Index)
		if !ok {
			return nil
		}
		keys = append(keys, k)
	}
	return keys
}

// lookup evaluates e.path against c as jq would, without running gojq. ok is
// false when jq would fail (indexing a value that is not an object or null),
// so that the caller runs gojq for jq's own error.
func (e *expr) lookup(c *Context) (v any, ok bool, msg string) {
	switch root := e.path[0]; root {
	case "outputs":
		if c.Outputs == nil {
			v = map[string]any{}
		} else {
			v = c.Outputs
		}
	case "secrets":
		name := e.path[1]
		s, found := c.Secrets[name]
		if !found {
			return nil, false, "secret " + name + " is not defined"
		}
		if len(e.path) > 2 {
			return nil, false, "" // indexing a string: jq's error
		}
		return s, true, ""
	case "result":
		if c.HasResult {
			v = c.Result
		}
	case "workflow":
		if c.Workflow != nil {
			v = c.Workflow
		}
	case "workflowRun":
		if c.WorkflowRun != nil {
			v = c.WorkflowRun
		}
	case "workflowNodeRun":
		if c.WorkflowNodeRun != nil {
			v = c.WorkflowNodeRun
		}
	default:
		v = c.Extra[root]
	}
	for _, k := range e.path[1:] {
		switch m := v.(type) {
		case nil:
		case map[string]any:
			v = m[k]
		default:
			return nil, false, ""
		}
	}
	return v, true, ""
}

// compileExpr parses, checks and compiles src. Offsets in the returned error
// are relative to src, or -1 when the place could not be located.
func compileExpr(src string) (*expr, *Error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Offset: 0, Msg: "empty expression"}
	}
	q, err := gojq.Parse(src)
	if err != nil {
		off := 0
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			off = max(0, min(pe.Offset-len(pe.Token), len(src)))
		}
		return nil, &Error{Offset: off, Msg: "jq syntax error: " + err.Error() + goTemplateHint(src, "")}
	}
	reads, prob, wholeAt := analyze(q)
	if prob != nil {
		return nil, &Error{Offset: prob.find(tokenize(src)), Msg: prob.msg}
	}
	var whole *Error
	if wholeAt != nil {
		whole = &Error{Offset: wholeAt.find(tokenize(src)), Msg: wholeAt.msg}
	}
	path := plainPath(q)
	bq, berr := boundQuery(q)
	if berr != nil {
		return nil, &Error{Offset: -1, Msg: berr.Error()}
	}
	// No environment loader ($ENV and env are also rejected above), no
	// input iterator, no module loader: only the size meter.
	code, err := gojq.Compile(bq, boundOptions...)
	if err != nil {
		off := -1
		msg := err.Error()
		if name, arity, ok := strings.Cut(strings.TrimPrefix(msg, "function not defined: "), "/"); ok && name != msg {
			toks := tokenize(src)
			off = findCall(toks, name)
			if arity == "0" {
				if at, hint := dashedKeyHint(src, toks, name); hint != "" {
					return nil, &Error{Offset: at, Msg: "jq: " + msg + hint}
				}
			}
			msg += goTemplateHint(src, name)
		} else if name, ok := strings.CutPrefix(msg, "variable not defined: "); ok {
			off = findCall(tokenize(src), name)
		}
		return nil, &Error{Offset: off, Msg: "jq: " + msg}
	}
	e := &expr{code: code, reads: reads, secret: len(reads.Secrets) > 0, path: path, whole: whole}
	for _, r := range reads.Roots {
		switch r {
		case "outputs":
			e.outputs = true
		case "result":
			e.result = true
		case "workflow":
			e.workflow = true
		case "workflowRun":
			e.workflowRun = true
		case "workflowNodeRun":
			e.workflowNodeRun = true
		}
	}
	if reads.Whole || reads.AllOutputs {
		e.outputs = true
	}
	if reads.Whole {
		e.result, e.workflow, e.workflowRun, e.workflowNodeRun = true, true, true, true
	}
	e.sig = fmt.Sprintf("%t%t%t%t%t%t%q%q%q", e.outputs, reads.AllOutputs, e.result, e.workflow,
		e.workflowRun, e.workflowNodeRun, reads.Outputs, reads.Secrets, reads.Roots)
	return e, nil
}

// input builds the expression's own input: only what it reads. The values are
// shared with c, never copied: gojq (v0.12.20) does not write into its input.
func (e *expr) input(c *Context) (map[string]any, string) {
	m := make(map[string]any, len(e.reads.Roots)+1)
	if e.outputs {
		var outs map[string]any
		if e.reads.AllOutputs {
			outs = make(map[string]any, len(c.Outputs))
			for k, v := range c.Outputs {
				outs[k] = v
			}
		} else {
			outs = make(map[string]any, len(e.reads.Outputs))
			for _, k := range e.reads.Outputs {
				if v, ok := c.Outputs[k]; ok {
					outs[k] = v
				}
			}
		}
		m["outputs"] = outs
	}
	if e.secret {
		secs := make(map[string]any, len(e.reads.Secrets))
		for _, name := range e.reads.Secrets {
			v, ok := c.Secrets[name]
			if !ok {
				return nil, "secret " + name + " is not defined"
			}
			secs[name] = v
		}
		m["secrets"] = secs
	}
	if e.result && c.HasResult {
		m["result"] = c.Result
	}
	if e.workflow && c.Workflow != nil {
		m["workflow"] = c.Workflow
	}
	if e.workflowRun && c.WorkflowRun != nil {
		m["workflowRun"] = c.WorkflowRun
	}
	if e.workflowNodeRun && c.WorkflowNodeRun != nil {
		m["workflowNodeRun"] = c.WorkflowNodeRun
	}
	for _, root := range e.reads.Roots {
		switch root {
		case "outputs", "secrets", "result", "workflow", "workflowRun", "workflowNodeRun":
		default:
			if v, ok := c.Extra[root]; ok {
				m[root] = v
			}
		}
	}
	return m, ""
}

// run is the state shared by the expressions of one render.
type run struct {
	lim   limiter
	c     *Context
	limit Limits
	// budget is the number of result bytes still allowed.
	budget int
	// meter bounds what the render's operations allocate.
	meter *meter
	// inputs built so far in this render, by expr.sig.
	inputs []cachedInput
}

type cachedInput struct {
	sig string
	in  map[string]any
}

// input returns e's input for this render, built once per distinct set of
// reads: an expression never sees a secret or an output that it does not
// read itself.
func (r *run) input(e *expr) (map[string]any, string) {
	for _, ci := range r.inputs {
		if ci.sig == e.sig {
			return ci.in, ""
		}
	}
	in, msg := e.input(r.c)
	if msg == "" {
		r.inputs = append(r.inputs, cachedInput{sig: e.sig, in: in})
	}
	return in, msg
}

func newRun(ctx context.Context, c *Context) *run {
	if c == nil {
		c = &Context{}
	}
	lim := c.Limits.withDefaults()
	return &run{
		lim:    limiter{parent: ctx, deadline: time.Now().Add(lim.Timeout), maxSteps: lim.MaxSteps},
		c:      c,
		limit:  lim,
		budget: lim.MaxResultBytes,
		meter:  &meter{left: lim.MaxBytes, max: lim.MaxBytes},
	}
}

// eval runs e and returns its single value (nil when it yields none), as a
// fresh tree of JSON values. The error is a message safe to show: it never
// quotes a value when e reads .secrets.
func (e *expr) eval(r *run) (v any, msg string) {
	if r.lim.err == nil && !time.Now().Before(r.lim.deadline) {
		r.lim.err = context.DeadlineExceeded
	}
	if err := r.lim.Err(); err != nil {
		return nil, e.errMsg(r, err)
	}
	if e.path != nil {
		v, ok, msg := e.lookup(r.c)
		if msg != "" {
			return nil, msg
		}
		if ok {
			out, err := normalize(v, &r.budget)
			if err != nil {
				return nil, err.Error()
			}
			return out, ""
		}
	}
	in, msg := r.input(e)
	if msg != "" {
		return nil, msg
	}
	defer func() {
		// gojq panics on Go types it does not know (int64, []string, ...),
		// which a malformed Context could hold.
		if p := recover(); p != nil {
			v, msg = nil, "evaluation failed: the context holds a value of a type jq does not support"
		}
	}()
	it := e.code.RunWithContext(&r.lim, in, r.meter)
	first, ok := it.Next()
	if !ok {
		return nil, ""
	}
	if err, isErr := first.(error); isErr {
		return nil, e.errMsg(r, err)
	}
	if second, more := it.Next(); more {
		if err, isErr := second.(error); isErr {
			return nil, e.errMsg(r, err)
		}
		if e.secret {
			return nil, "expression that reads .secrets yields several values; it must yield one"
		}
		return nil, "expression yields several values; it must yield one"
	}
	out, err := normalize(first, &r.budget)
	if err != nil {
		return nil, err.Error()
	}
	return out, ""
}

func (e *expr) errMsg(r *run, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("evaluation exceeded the time limit of %v", r.limit.Timeout)
	case errors.Is(err, errStepLimit):
		return fmt.Sprintf("evaluation exceeded the limit of %d steps", r.limit.MaxSteps)
	case errors.Is(err, context.Canceled):
		return "evaluation canceled"
	case errors.Is(err, errSizeLimit):
		return fmt.Sprintf("evaluation failed: a value exceeded the size limit of %d bytes", r.limit.MaxBytes)
	case e.secret:
		return msgSecretFailed
	}
	return err.Error()
}

// derive reports what e's result v derives from secrets to r.c.Derived,
// when e reads secrets: the string form of v and, when v is an object or an
// array, every part of it that depends on a secret, since a remote system may
// echo one field of {"token": <derived>} back (taint follows the expression
// into its parts). Which parts depend on a secret is found by evaluating e
// once more with every secret replaced by a sentinel: a part that comes out
// the same did not read one ("production", 8080) and is not registered, so
// it is not masked all over the run. When that second evaluation fails, every
// part is registered.
func (e *expr) derive(r *run, v any) {
	if !e.secret || r.c.Derived == nil {
		return
	}
	fn := r.c.Derived
	fn(stringForm(v))
	switch v.(type) {
	case map[string]any, []any:
	default:
		return
	}
	alt, ok := e.evalWithSentinels(r)
	if !ok {
		deriveAll(fn, v)
		return
	}
	deriveChanged(fn, v, alt)
}

// sentinelPrefix marks the stand-in values of secrets in the second
// evaluation of derive; no real value is expected to contain it.
const sentinelPrefix = "\x00sluice-sentinel:"

// evalWithSentinels evaluates e with each secret replaced by a sentinel,
// within what is left of the render's steps and time (the render's limits
// bound it as a whole); running out only makes derive register everything.
func (e *expr) evalWithSentinels(r *run) (any, bool) {
	c := *r.c
	c.Derived = nil
	c.Secrets = make(map[string]string, len(r.c.Secrets))
	for name := range r.c.Secrets {
		c.Secrets[name] = sentinelPrefix + name + "\x00"
	}
	alt := newRun(r.lim.parent, &c)
	alt.lim.deadline = r.lim.deadline
	alt.lim.maxSteps = max(r.lim.maxSteps-r.lim.steps, 0)
	alt.meter = r.meter // one size bound for the render
	v, msg := e.eval(alt)
	r.lim.steps += alt.lim.steps
	return v, msg == ""
}

// deriveChanged reports the parts of v that differ from alt, the same
// expression's result with sentinels for secrets.
func deriveChanged(fn func(string), v, alt any) {
	switch v := v.(type) {
	case map[string]any:
		a, ok := alt.(map[string]any)
		if !ok || len(a) == 0 && len(v) > 0 {
			// Another shape: which parts depend on a secret is unknown.
			deriveAll(fn, v)
			return
		}
		for k, x := range v {
			y, ok := a[k]
			if !ok {
				fn(k) // a key that depends on a secret
				deriveLeaf(fn, x)
				continue
			}
			if stringForm(x) != stringForm(y) {
				switch x.(type) {
				case map[string]any, []any:
					fn(stringForm(x))
					deriveChanged(fn, x, y)
				default:
					fn(stringForm(x))
				}
			}
		}
	case []any:
		a, ok := alt.([]any)
		if !ok || len(a) != len(v) {
			deriveAll(fn, v)
			return
		}
		for i, x := range v {
			if stringForm(x) == stringForm(a[i]) {
				continue
			}
			fn(stringForm(x))
			switch x.(type) {
			case map[string]any, []any:
				deriveChanged(fn, x, a[i])
			}
		}
	}
}

// deriveAll reports every key and value inside v: what derive falls back to
// when it cannot tell which parts depend on a secret. Keys are included, since
// a secret may be one (`.secrets.K | split(",") | map({(.): true})`); the
// price is that literal keys beside it are masked in the run too ("When in
// doubt, redact").
func deriveAll(fn func(string), v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			fn(k)
			deriveLeaf(fn, x)
			deriveAll(fn, x)
		}
	case []any:
		for _, x := range v {
			deriveLeaf(fn, x)
			deriveAll(fn, x)
		}
	}
}

// deriveParts reports every value inside v (not the keys: they are nearly
// always literal names, and masking "token" everywhere would wreck outputs).
func deriveParts(fn func(string), v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			deriveLeaf(fn, x)
		}
	case []any:
		for _, x := range v {
			deriveLeaf(fn, x)
		}
	}
}

func deriveLeaf(fn func(string), v any) {
	switch v.(type) {
	case map[string]any, []any:
		fn(stringForm(v))
		deriveParts(fn, v)
	case string, json.Number, float64:
		fn(stringForm(v))
	}
}

var errTooLarge = errors.New("result is too large")

// normalize returns a fresh copy of a value produced by gojq, made only of
// nil, bool, string, float64, json.Number, []any and map[string]any:
// integers become json.Number, NaN becomes null and infinities the largest
// finite floats (as jq prints them). It charges the value's approximate JSON
// size to budget and fails when the budget runs out. A fresh copy matters:
// a result can be a value of the Context itself (.outputs.trigger), and the
// caller may modify what it renders.
func normalize(v any, budget *int) (any, error) {
	*budget -= 8
	if *budget < 0 {
		return nil, errTooLarge
	}
	switch v := v.(type) {
	case nil, bool:
		return v, nil
	case string:
		if *budget -= len(v); *budget < 0 {
			return nil, errTooLarge
		}
		return v, nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	case float64:
		switch {
		case math.IsNaN(v):
			return nil, nil
		case math.IsInf(v, 1):
			return math.MaxFloat64, nil
		case math.IsInf(v, -1):
			return -math.MaxFloat64, nil
		}
		return v, nil
	case *big.Int:
		s := v.String()
		if *budget -= len(s); *budget < 0 {
			return nil, errTooLarge
		}
		return json.Number(s), nil
	case json.Number:
		return v, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := normalize(x, budget)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if *budget -= len(k); *budget < 0 {
				return nil, errTooLarge
			}
			y, err := normalize(x, budget)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	}
	return nil, fmt.Errorf("result holds a value of unsupported type %T", v)
}

// stringForm is jq's tostring of a normalized value: strings raw, everything
// else compact JSON (object keys sorted).
func stringForm(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := gojq.Marshal(v)
	if err != nil { // cannot happen for normalized values
		return "null"
	}
	return string(b)
}

// Expr is a compiled bare jq expression (no braces), as in CONDITION outlets
// and EVENT_TRIGGER conditions.
type Expr struct {
	e *expr
}

// CompileExpr compiles a bare jq expression, with the same sandbox as Compile.
func CompileExpr(src string) (*Expr, error) {
	e, err := compileExpr(src)
	if err != nil {
		err.Offset = max(err.Offset, 0)
		return nil, err
	}
	return &Expr{e: e}, nil
}

// Eval evaluates e and returns its single value (null when it yields none; an
// error when it yields several).
func (e *Expr) Eval(c *Context) (any, error) {
	return e.EvalContext(context.Background(), c)
}

// EvalContext is Eval with a context that can cancel the evaluation. Errors
// are *Error with Offset -1 (the failing place is the whole expression).
func (e *Expr) EvalContext(ctx context.Context, c *Context) (any, error) {
	r := newRun(ctx, c)
	v, msg := e.e.eval(r)
	if msg != "" {
		return nil, &Error{Offset: -1, Msg: msg}
	}
	e.e.derive(r, v)
	return v, nil
}

// Reads reports what e reads.
func (e *Expr) Reads() Reads { return e.e.reads.clone() }

// WholeRead reports where e first reads the whole context in a way static
// analysis cannot narrow (Reads().Whole), as an *Error with the offset in
// e's source (0 when the place is not known) and a message that says how;
// nil when it does not. Such an expression could read any key of the
// context, .secrets included, as far as the analysis can prove, so it is
// refused wherever .secrets is (the rule is conservative); at run time it
// never sees a secret it does not name literally.
func (e *Expr) WholeRead() *Error {
	if e.e.whole == nil {
		return nil
	}
	w := *e.e.whole
	w.Offset = max(w.Offset, 0)
	return &w
}
