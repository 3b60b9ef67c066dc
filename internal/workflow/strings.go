package workflow

import "fmt"

// StoredStrings calls fn for every string a definition stores, with its
// JSON path as Parse writes paths: every string value, and every object
// member name (with the member's path), in document order. The members a
// server adds at the top level (version, createdBy, ...) are skipped, as
// Parse drops them. It fails only when data is not well-formed JSON.
//
// It serves checks that look at the text of a definition as stored, such as
// the search for literal credentials, and does not validate anything else.
func StoredStrings(data []byte, fn func(path, s string)) error {
	r := newReport()
	root := decode(data, r)
	if root == nil {
		if ps := r.problems(); len(ps.Errors) > 0 {
			return fmt.Errorf("workflow definition: %s", ps.Errors[0].Message)
		}
		return fmt.Errorf("workflow definition: malformed JSON")
	}
	if root.kind == jObject {
		for i, k := range root.keys {
			if serverFields[k] {
				continue
			}
			p := joinKey("", k)
			fn(p, k)
			walkStored(p, root.vals[i], fn)
		}
		return nil
	}
	walkStored("", root, fn)
	return nil
}

// walkStored calls fn for each string value and member name inside v.
func walkStored(path string, v *jv, fn func(path, s string)) {
	switch v.kind {
	case jString:
		fn(path, v.s)
	case jArray:
		for i, e := range v.vals {
			walkStored(joinIndex(path, i), e, fn)
		}
	case jObject:
		for i, k := range v.keys {
			p := joinKey(path, k)
			fn(p, k)
			walkStored(p, v.vals[i], fn)
		}
	}
}
