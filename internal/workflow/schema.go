package workflow

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// check validates the shape of one JSON value at path, reporting problems.
type check func(r *report, path string, v *jv)

// field describes one accepted member of an object.
type field struct {
	check    check // nil accepts any JSON value
	required bool
	// literal forbids "{{" anywhere inside the value, for fields of templated
	// configs that the engine reads statically (outlets, for instance).
	literal bool
	// ignored marks read-only fields that a server adds (createdAt, ...):
	// accepted on input, dropped from Source.
	ignored bool
	// nullable accepts JSON null as "not set", where Port's schema allows
	// null (a workflow's or a node's title, icon and description). The
	// null is kept in Source, so the definition is returned as written.
	nullable bool
}

// fields is the table of the members an object accepts, by name.
type fields map[string]field

// with returns a copy of fs with more members.
func (fs fields) with(more fields) fields {
	out := make(fields, len(fs)+len(more))
	for k, f := range fs {
		out[k] = f
	}
	for k, f := range more {
		out[k] = f
	}
	return out
}

// names returns the member names, sorted.
func (fs fields) names() []string {
	ns := make([]string, 0, len(fs))
	for k, f := range fs {
		if !f.ignored {
			ns = append(ns, k)
		}
	}
	sort.Strings(ns)
	return ns
}

// object checks that v is an object whose members are all in fs, that
// required members are present, and checks each member. It reports whether v
// is an object.
func object(r *report, path string, v *jv, fs fields) bool {
	if r.describe != nil {
		describeObject(r, path, fs)
		return false
	}
	if !isKind(r, path, v, jObject) {
		return false
	}
	for i, k := range v.keys {
		p := joinKey(path, k)
		f, ok := fs[k]
		if !ok {
			if h := fieldHints[k]; h != "" {
				r.errorf(p, "unknown field: %s", h)
			} else if s := suggest(k, fs.names()); s != "" {
				r.errorf(p, "unknown field (did you mean %s?)", s)
			} else {
				r.errorf(p, "unknown field")
			}
			continue
		}
		if f.nullable && v.vals[i].kind == jNull {
			continue
		}
		if f.literal {
			noTemplate(r, p, v.vals[i])
		}
		if f.check != nil {
			f.check(r, p, v.vals[i])
		}
	}
	for _, k := range fs.names() {
		if fs[k].required && v.get(k) == nil {
			r.errorf(joinKey(path, k), "required field is missing")
		}
	}
	return true
}

// objectOf returns a check for an object with the members fs.
func objectOf(fs fields) check {
	return func(r *report, path string, v *jv) { object(r, path, v, fs) }
}

// isKind reports whether v has kind k, recording an error when not. A
// template string where a literal is required gets a message saying so.
func isKind(r *report, path string, v *jv, k jkind) bool {
	if v.kind == k {
		return true
	}
	if v.kind == jString && strings.Contains(v.s, "{{") {
		r.errorf(path, "must be %s; this field is not templated, so it cannot hold {{ }}", k)
		return false
	}
	r.errorf(path, "must be %s, not %s", k, v.kind)
	return false
}

// str accepts any string.
func str(r *report, path string, v *jv) { isKind(r, path, v, jString) }

// strMax accepts a string of at most n characters.
func strMax(n int) check {
	return func(r *report, path string, v *jv) {
		if isKind(r, path, v, jString) {
			if c := utf8.RuneCountInString(v.s); c > n {
				r.errorf(path, "must be at most %d characters long, it has %d", n, c)
			}
		}
	}
}

// nonEmpty accepts a non-empty string.
func nonEmpty(r *report, path string, v *jv) {
	if isKind(r, path, v, jString) && v.s == "" {
		r.errorf(path, "must not be empty")
	}
}

// boolean accepts true or false.
func boolean(r *report, path string, v *jv) { isKind(r, path, v, jBool) }

// number accepts any finite number.
func number(r *report, path string, v *jv) { numVal(r, path, v) }

// numVal checks that v is a finite number and returns it.
func numVal(r *report, path string, v *jv) (float64, bool) {
	if !isKind(r, path, v, jNumber) {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	if err != nil || math.IsInf(f, 0) {
		r.errorf(path, "must be a number within the range of a float64")
		return 0, false
	}
	return f, true
}

// intMin accepts an integer of at least min.
func intMin(min int) check {
	return func(r *report, path string, v *jv) {
		f, ok := numVal(r, path, v)
		if !ok {
			return
		}
		if f != math.Trunc(f) || f > math.MaxInt32 {
			r.errorf(path, "must be an integer")
		} else if f < float64(min) {
			r.errorf(path, "must be at least %d", min)
		}
	}
}

// positiveUpTo accepts a number in (0, max].
func positiveUpTo(max float64) check {
	return func(r *report, path string, v *jv) {
		if f, ok := numVal(r, path, v); ok && (f <= 0 || f > max) {
			r.errorf(path, "must be greater than 0 and at most %g", max)
		}
	}
}

// enum accepts one of the strings vals.
func enum(vals ...string) check {
	return func(r *report, path string, v *jv) {
		if !isKind(r, path, v, jString) {
			return
		}
		for _, s := range vals {
			if v.s == s {
				return
			}
		}
		if m := suggest(v.s, vals); m != "" {
			r.errorf(path, "must be one of %s (did you mean %q?)", strings.Join(vals, ", "), m)
			return
		}
		r.errorf(path, "must be one of %s", strings.Join(vals, ", "))
	}
}

// arrayOf accepts an array whose elements pass elem.
func arrayOf(elem check) check {
	return func(r *report, path string, v *jv) {
		if !isKind(r, path, v, jArray) {
			return
		}
		for i, e := range v.vals {
			elem(r, joinIndex(path, i), e)
		}
	}
}

// stringList accepts an array of strings.
var stringList = arrayOf(str)

// mapOf accepts an object with any member names whose values pass elem.
func mapOf(elem check) check {
	return func(r *report, path string, v *jv) {
		if !isKind(r, path, v, jObject) {
			return
		}
		for i, k := range v.keys {
			elem(r, joinKey(path, k), v.vals[i])
		}
	}
}

// anyObject accepts any object.
func anyObject(r *report, path string, v *jv) { isKind(r, path, v, jObject) }

// objectOrArray accepts an object or an array, such as a request body.
func objectOrArray(r *report, path string, v *jv) {
	if v.kind != jObject && v.kind != jArray {
		r.errorf(path, "must be an object or an array, not %s", v.kind)
	}
}

// noTemplate reports a "{{" anywhere inside v: the field is read by the
// engine as it is written, never rendered.
func noTemplate(r *report, path string, v *jv) {
	walkStrings(path, v, func(p, s string) {
		if strings.Contains(s, "{{") {
			r.errorf(p, "must be literal: this field is read as written and is never rendered, so it cannot hold {{ }}")
		}
	})
}

// walkStrings calls fn for each string leaf inside v, with its path.
func walkStrings(path string, v *jv, fn func(path, s string)) {
	switch v.kind {
	case jString:
		fn(path, v.s)
	case jArray:
		for i, e := range v.vals {
			walkStrings(joinIndex(path, i), e, fn)
		}
	case jObject:
		for i, k := range v.keys {
			walkStrings(joinKey(path, k), v.vals[i], fn)
		}
	}
}

// suggest returns the name in names closest to s when it is a likely typo.
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if len(s) <= 2 && bestD > 0 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
