package tmpl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Value is a compiled JSON value (objects, arrays, strings, numbers, booleans,
// null) whose string leaves are templates. Object keys are not templated.
// It is immutable after CompileValue and safe for concurrent use.
type Value struct {
	root   vnode
	reads  Reads
	leaves []leaf // templated leaves, in path order
}

// vnode is one node of a compiled value.
type vnode struct {
	scalar any       // a literal that is not a string, array or object
	tmpl   *Template // a string leaf (literal or templated)
	keys   []string  // object keys, sorted; obj is set for objects
	vals   []vnode   // object values (by keys) or array elements
	obj    bool
	arr    bool
	path   string // JSON path, for render errors
}

type leaf struct {
	path string
	t    *Template
}

// CompileValue compiles every string leaf of v, a value as decoded by
// encoding/json (with UseNumber or not). path is the JSON path of v used in
// errors ("nodes[2].config"). All errors are returned, joined, each an *Error
// with its Path set. Object keys are visited in sorted order, so the errors
// come in a deterministic order. Numbers may also be int or int64.
func CompileValue(v any, path string) (*Value, error) {
	c := &valueCompiler{}
	root := c.compile(v, path)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	val := &Value{root: root, leaves: c.leaves}
	rs := make([]Reads, len(c.leaves))
	for i, l := range c.leaves {
		rs[i] = l.t.reads
	}
	val.reads = unionReads(rs...)
	return val, nil
}

type valueCompiler struct {
	errs   []error
	leaves []leaf
}

func (c *valueCompiler) compile(v any, path string) vnode {
	switch v := v.(type) {
	case nil, bool, float64, json.Number, int, int64:
		return vnode{scalar: v, path: path}
	case string:
		t, err := compileTemplate(v)
		if err != nil {
			err.Path = path
			c.errs = append(c.errs, err)
			return vnode{}
		}
		if !t.IsLiteral() {
			c.leaves = append(c.leaves, leaf{path: path, t: t})
		}
		return vnode{tmpl: t, path: path}
	case []any:
		n := vnode{arr: true, vals: make([]vnode, len(v)), path: path}
		for i, x := range v {
			n.vals[i] = c.compile(x, path+"["+strconv.Itoa(i)+"]")
		}
		return n
	case map[string]any:
		n := vnode{obj: true, keys: make([]string, 0, len(v)), path: path}
		for k := range v {
			n.keys = append(n.keys, k)
		}
		slices.Sort(n.keys)
		n.vals = make([]vnode, len(n.keys))
		for i, k := range n.keys {
			n.vals[i] = c.compile(v[k], JoinPath(path, k))
		}
		return n
	}
	c.errs = append(c.errs, &Error{Path: path, Offset: -1, Msg: fmt.Sprintf("unsupported value type %T", v)})
	return vnode{}
}

// JoinPath appends an object key to a JSON path: path.key when key is an
// identifier, path["key"] otherwise; a key alone when path is empty.
func JoinPath(path, key string) string {
	if isIdent(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	b, _ := json.Marshal(key)
	return path + "[" + string(b) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || isLetter(c) || i > 0 && isDigit(c)) {
			return false
		}
	}
	return true
}

// Render renders the whole value. An error is an *Error naming the JSON path
// of the failing leaf and the position in its template. The result is a new
// tree (maps and slices are never shared with v or between renders), so the
// caller may modify it. All the leaves share one time limit and one result
// size limit (Context.Limits).
func (v *Value) Render(c *Context) (any, error) {
	return v.RenderContext(context.Background(), c)
}

// RenderContext is Render with a context that can cancel the render.
func (v *Value) RenderContext(ctx context.Context, c *Context) (any, error) {
	if len(v.leaves) == 0 {
		// Literal only: no expression runs, no time limit to arm.
		out, _ := v.root.render(nil)
		return out, nil
	}
	r := newRun(ctx, c)
	out, err := v.root.render(r)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (n *vnode) render(r *run) (any, *Error) {
	switch {
	case n.tmpl != nil:
		out, err := n.tmpl.render(r)
		if err != nil {
			err.Path = n.path
			return nil, err
		}
		return out, nil
	case n.obj:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			x, err := n.vals[i].render(r)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case n.arr:
		s := make([]any, len(n.vals))
		for i := range n.vals {
			x, err := n.vals[i].render(r)
			if err != nil {
				return nil, err
			}
			s[i] = x
		}
		return s, nil
	}
	return n.scalar, nil
}

// Reads reports what the whole value reads (the union over its leaves).
func (v *Value) Reads() Reads { return v.reads.clone() }

// Leaves calls fn for each templated (non-literal) string leaf with its JSON
// path and what it reads; validation uses it to check where .secrets appears.
// Leaves come in path order (object keys sorted).
func (v *Value) Leaves(fn func(path string, reads Reads)) {
	for _, l := range v.leaves {
		fn(l.path, l.t.reads.clone())
	}
}

// Templates calls fn for each templated (non-literal) string leaf with its
// JSON path and its compiled template, in path order (object keys sorted).
func (v *Value) Templates(fn func(path string, t *Template)) {
	for _, l := range v.leaves {
		fn(l.path, l.t)
	}
}
