package workflow

import (
	"sort"
	"strings"
)

// This file lists every field the tables of types.go accept, as paths, so
// that documents describing the definition format (the API's OpenAPI
// document) can be checked against the parser and cannot drift from it.

// MapKey is the path segment Fields uses for "any member name" of an object
// whose members are named by the user (a form's inputs, a webhook's headers).
const MapKey = "*"

// ArrayElem is the path segment Fields uses for "any element" of an array.
const ArrayElem = "[]"

// FieldPath is one accepted field: Segments leads from the object named by
// Scope to it, MapKey and ArrayElem standing for member names and indexes.
type FieldPath struct {
	// Scope is "workflow", "node", "connection", or a node type (its
	// config's "type"), in which case Segments start inside config.
	Scope    string
	Segments []string
	Required bool
	Nullable bool
}

// String formats p as "<scope>:<dotted path>".
func (p FieldPath) String() string { return p.Scope + ":" + strings.Join(p.Segments, ".") }

// Fields returns every field a definition accepts, read from the parser's
// own tables, sorted. Server fields (ignored on input) are left out. A value
// that may be written either as {"jqQuery": ...} or literally contributes
// both its jqQuery member and, when the literal is an object or array, the
// literal's members.
func Fields() []FieldPath {
	var out []FieldPath
	walk := func(scope string, fs fields) {
		r := newReport()
		r.describe = func(path string, f field) {
			out = append(out, FieldPath{Scope: scope, Segments: splitPath(path), Required: f.required, Nullable: f.nullable})
		}
		describeObject(r, "", fs)
	}
	walk("workflow", workflowFields)
	walk("node", nodeFields)
	walk("connection", connectionFields)
	for name, nt := range nodeTypes {
		walk(name, nt.config)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return dedupe(out)
}

// dedupe drops repeated paths (a field reached through two probes) from a
// sorted list.
func dedupe(ps []FieldPath) []FieldPath {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.String() == ps[i-1].String() {
			continue
		}
		out = append(out, p)
	}
	return out
}

// describeKey is the member name of probeObject; its paths become MapKey.
const describeKey = "describe_any_key"

// probeObject and probeArray are the values a field's check is given while
// describing: an object with one member (so mapOf descends) and an array
// with one object element (so arrayOf descends). Built per call: no state
// is shared between walks.
func probes() (*jv, *jv) {
	obj := &jv{kind: jObject, keys: []string{describeKey}}
	obj.vals = []*jv{obj}
	return obj, &jv{kind: jArray, vals: []*jv{obj}}
}

// describeObject reports every member of fs at path and descends into each
// member's check with the probes. Findings recorded on r meanwhile are
// meaningless and ignored.
func describeObject(r *report, path string, fs fields) {
	names := make([]string, 0, len(fs))
	for k, f := range fs {
		if !f.ignored {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	obj, arr := probes()
	for _, k := range names {
		f := fs[k]
		p := joinKey(path, k)
		r.describe(p, f)
		if f.check != nil {
			f.check(r, p, obj)
			f.check(r, p, arr)
		}
	}
}

// splitPath turns a path built by joinKey and joinIndex while describing
// into segments; while describing every index is [0].
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		base, _, _ := strings.Cut(part, "[")
		if base == describeKey {
			base = MapKey
		}
		if base != "" {
			out = append(out, base)
		}
		for range strings.Count(part, "[0]") {
			out = append(out, ArrayElem)
		}
	}
	return out
}
