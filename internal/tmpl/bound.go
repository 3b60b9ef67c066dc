package tmpl

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// The size bound of a render.
//
// gojq has no allocation hook and its step limit counts instructions, not
// bytes: one `. + .` doubles a string, one `"x" * 1e9` asks for a GiB. So
// every operation that can allocate more than a small constant in one
// instruction is routed, at compile time, through a check that charges an
// upper bound of what it will allocate to the render's meter BEFORE it runs,
// and fails the render once the total passes Limits.MaxBytes:
//
//   - the operators + - * / % (and the update forms += -= *= /= %=, which
//     are expanded into r as $x | l |= . op $x) are rewritten into
//     _sluice_pre(l; r; "op"; $__sluice_m) | .[1] op .[2];
//   - the Go builtins that allocate in proportion to their input (tostring,
//     tojson, the @formats, join, split, explode, implode, add, flatten,
//     setpath, _match, ...) are overridden by definitions placed before the
//     user's query, which call the check and then the builtin;
//   - the jq-defined builtins that call such Go builtins from gojq's own
//     scope (add(f), sub, gsub, match, test, scan, splits, pick, fromstream,
//     INDEX, ...) are redefined with gojq's own text, so that their calls go
//     through the overrides;
//   - paths written to by = |= //= are checked for growth (.[1e9] = 1)
//     before the assignment runs.
//
// Every other instruction allocates a bounded amount, so the step limit
// bounds the rest. The meter is passed to gojq as the variable $__sluice_m,
// which templates cannot name (the sandbox refuses $__ names), and the
// reserved functions start with "_", which templates cannot call either.
// Costs are estimates within a small factor of what gojq allocates: the
// bound is on the order of MaxBytes, not exact.

// errSizeLimit is reported when a render's values grow past Limits.MaxBytes.
var errSizeLimit = errors.New("size limit exceeded")

// sizeError is the error value a check returns to gojq.
type sizeError struct{ max int }

func (e *sizeError) Error() string {
	return fmt.Sprintf("value exceeded the size limit of %d bytes", e.max)
}

func (e *sizeError) Unwrap() error { return errSizeLimit }

// meter counts what one render may still allocate.
type meter struct {
	left, max int
}

// charge takes n bytes from m, or returns the size error.
func (m *meter) charge(n int) error {
	if n < 0 || n > m.left {
		m.left = -1
		return &sizeError{max: m.max}
	}
	m.left -= n
	return nil
}

// check fails when a value that an operation walks is larger than the
// bound, without charging it (the walk costs time, not memory).
func (m *meter) check(vs ...any) error {
	for _, v := range vs {
		if esize(v, m.max) > m.max {
			return &sizeError{max: m.max}
		}
	}
	return nil
}

const (
	meterVar  = "$__sluice_m"
	preFunc   = "_sluice_pre"
	guardFunc = "_sluice_guard"
	updateVar = "$__sluice_u"
)

// boundOptions are the gojq compiler options that the rewritten query needs.
var boundOptions = []gojq.CompilerOption{
	gojq.WithFunction(preFunc, 2, 5, pre),
	gojq.WithVariables([]string{meterVar}),
}

// pre is _sluice_pre(args...; name; $meter): it charges the cost of the
// operation name applied to v with args, and returns v (no args) or
// [v, args...] for the caller to apply the operation to.
func pre(v any, args []any) any {
	n := len(args)
	m, ok := args[n-1].(*meter)
	name, _ := args[n-2].(string)
	if !ok {
		return errors.New("internal error: size meter missing")
	}
	ops := args[:n-2]
	if err := cost(m, name, v, ops); err != nil {
		return err
	}
	if len(ops) == 0 {
		return v
	}
	out := make([]any, 0, len(ops)+1)
	out = append(out, v)
	return append(out, ops...)
}

// cost charges m for the operation name applied to v with args.
func cost(m *meter, name string, v any, args []any) error {
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch name {
	case "+":
		return m.charge(shallow(arg(0)) + shallow(arg(1)))
	case "-":
		if err := m.check(arg(0), arg(1)); err != nil {
			return err
		}
		return m.charge(shallow(arg(0)))
	case "*":
		a, b := arg(0), arg(1)
		if s, ok := b.(string); ok {
			a, b = b, a
			_ = s
		}
		if s, ok := a.(string); ok {
			if f, ok := toFloat(b); ok && f > 0 {
				n := math.Ceil(f) * float64(len(s))
				if n > float64(m.left) {
					return m.charge(-1)
				}
				return m.charge(int(n))
			}
			return nil
		}
		if _, ok := a.(map[string]any); ok {
			return m.charge(esize(a, m.max+1) + esize(b, m.max+1))
		}
		return m.charge(shallow(a) + shallow(b))
	case "/":
		if s, ok := arg(0).(string); ok {
			return m.charge(16*(len(s)+1) + len(s))
		}
		return nil
	case "%":
		return nil
	case "tostring":
		if s, ok := v.(string); ok {
			return m.charge(len(s))
		}
		return m.charge(esize(v, m.max+1))
	case "tojson", "_tourid", "_tobase64d":
		return m.charge(esize(v, m.max+1))
	case "_tobase64":
		return m.charge(esize(v, m.max+1)/3*4 + 4)
	case "_tocsv", "_totsv", "_touri":
		return m.charge(3 * esize(v, m.max+1))
	case "_tosh":
		return m.charge(4 * esize(v, m.max+1))
	case "_tohtml", "format":
		return m.charge(6 * esize(v, m.max+1))
	case "fromjson":
		if s, ok := v.(string); ok {
			return m.charge(8 * len(s))
		}
		return nil
	case "explode":
		if s, ok := v.(string); ok {
			return m.charge(16 * utf8.RuneCountInString(s))
		}
		return nil
	case "implode":
		if a, ok := v.([]any); ok {
			return m.charge(4 * len(a))
		}
		return nil
	case "ascii_downcase", "ascii_upcase", "reverse", "keys":
		return m.charge(shallow(v))
	case "sort", "unique":
		if err := m.check(v); err != nil {
			return err
		}
		return m.charge(shallow(v))
	case "add":
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		n := 0
		for _, x := range a {
			if n += shallow(x); n > m.left {
				break
			}
		}
		return m.charge(n)
	case "flatten":
		return m.charge(8 * esize(v, m.max+1))
	case "transpose":
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		longest := 0
		for _, x := range a {
			if r, ok := x.([]any); ok {
				longest = max(longest, len(r))
			}
		}
		if float64(len(a))*float64(longest)*16 > float64(m.left) {
			return m.charge(-1)
		}
		return m.charge(16 * len(a) * longest)
	case "join":
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		sep, _ := arg(0).(string)
		n := len(a) * len(sep)
		for _, x := range a {
			if n += esize(x, m.left+1); n > m.left {
				break
			}
		}
		return m.charge(n)
	case "split":
		if s, ok := v.(string); ok {
			sep, _ := arg(0).(string)
			return m.charge(16 * (len(s)/max(1, len(sep)) + 1))
		}
		return nil
	case "indices":
		return m.charge(16 * (length(v) + 1))
	case "setpath":
		return m.charge(growth(v, arg(0), m.left))
	case "_paths":
		ps, _ := arg(0).([]any)
		n := 0
		for _, p := range ps {
			if n += growth(v, p, m.left); n > m.left {
				break
			}
		}
		return m.charge(n)
	case "_match":
		s, ok := v.(string)
		if !ok || arg(2) == true {
			return nil
		}
		if f, _ := arg(1).(string); strings.Contains(f, "g") {
			return m.charge(64 * (utf8.RuneCountInString(s) + 1))
		}
		return m.charge(256)
	}
	return nil
}

// toFloat converts a gojq number to float64.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	}
	return 0, false
}

// length is the number of elements of an array or bytes of a string.
func length(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		return len(v)
	case map[string]any:
		return len(v)
	}
	return 0
}

// shallow is what copying v once allocates: the bytes of a string, the
// slots of an array or an object, the words of a big integer.
func shallow(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		return 16 * len(v)
	case map[string]any:
		return 64 * len(v)
	case *big.Int:
		return v.BitLen()/8 + 8
	}
	return 0
}

// growth is what setpath(p; x) applied to v allocates beyond copying the
// containers on the path: the slots added to arrays grown by index, and the
// containers created where there were none. It stops counting past limit.
func growth(v, p any, limit int) int {
	path, ok := p.([]any)
	if !ok {
		return 0
	}
	n := 0
	for _, k := range path {
		switch k := k.(type) {
		case string:
			n += 64
			if m, ok := v.(map[string]any); ok {
				v = m[k]
			} else {
				v = nil
			}
		case map[string]any: // a slice {start, end}
			n += shallow(v)
			v = nil
		default:
			f, ok := toFloat(k)
			if !ok {
				return n
			}
			a, _ := v.([]any)
			if f >= float64(len(a)) {
				if f*16 > float64(limit) {
					return limit + 1
				}
				n += 16 * (int(f) + 1 - len(a))
				v = nil
			} else if f >= 0 {
				v = a[int(f)]
			} else {
				v = nil
			}
		}
		if n > limit {
			return n
		}
	}
	return n
}

// esize is the approximate size of v written as JSON, counting a value
// each time it appears (gojq shares values, so a small value in memory can
// be huge once written out). It stops walking once the size passes limit,
// and then returns a value above limit.
func esize(v any, limit int) int {
	n := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case nil, bool:
			n += 5
		case int, float64:
			n += 24
		case *big.Int:
			n += v.BitLen()/3 + 2
		case string:
			n += len(v) + 2
		case []any:
			n += 2
			for _, x := range v {
				n++
				if n > limit || !walk(x) {
					return false
				}
			}
		case map[string]any:
			n += 2
			for k, x := range v {
				n += len(k) + 4
				if n > limit || !walk(x) {
					return false
				}
			}
		default:
			n += 16
		}
		return n <= limit
	}
	walk(v)
	return n
}
