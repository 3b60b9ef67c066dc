package workflow

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one validation finding: where (a JSON path into the
// definition, such as "nodes[1].config.url") and what. Messages name fields
// and quote only structural values (identifiers, types, outlet names, cron
// tokens); they never quote free text such as URLs, headers, bodies, titles
// or trigger inputs, which may hold a credential pasted by mistake.
type Problem struct {
	// Path is the JSON path of the offending value; "" means the whole
	// document (malformed JSON, for instance).
	Path    string
	Message string
	// Warning is set for findings that do not reject the definition, such as
	// a deprecated alias or a node that no trigger reaches.
	Warning bool
}

// String formats p as "<json path>: <message>", or just the message when p
// has no path.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every finding of a parse, in the order their paths appear in
// the definition.
type Problems struct {
	Errors   []Problem
	Warnings []Problem
}

// Err returns a *ValidationError listing the errors, or nil when there is no
// error (warnings alone do not fail a parse).
func (p *Problems) Err() error {
	if p == nil || len(p.Errors) == 0 {
		return nil
	}
	return &ValidationError{Problems: append([]Problem(nil), p.Errors...)}
}

// ValidationError is the error of a definition (or of trigger inputs) that
// failed validation. It lists every error found, not just the first.
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	switch len(e.Problems) {
	case 0:
		return "invalid workflow"
	case 1:
		b.WriteString("invalid workflow: ")
	default:
		fmt.Fprintf(&b, "invalid workflow: %d problems:", len(e.Problems))
	}
	for i, p := range e.Problems {
		if len(e.Problems) > 1 {
			b.WriteString("\n\t")
		} else if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// finding is a Problem with the data used to sort it.
type finding struct {
	Problem
	pos int64 // byte offset of the value its path names (or its nearest ancestor)
	seq int   // discovery order, to keep sorting stable and deterministic
}

// report collects findings during one parse and knows where each path sits in
// the source, so that findings can be sorted by order of appearance.
type report struct {
	pos      map[string]int64
	findings []finding
	// describe, when set, makes object list its fields instead of checking
	// a value (describe.go).
	describe func(path string, f field)
}

func newReport() *report { return &report{pos: map[string]int64{}} }

func (r *report) add(path string, warning bool, msg string) {
	r.findings = append(r.findings, finding{
		Problem: Problem{Path: path, Message: msg, Warning: warning},
		pos:     r.position(path),
		seq:     len(r.findings),
	})
}

// errorf records an error at path.
func (r *report) errorf(path, format string, args ...any) {
	r.add(path, false, fmt.Sprintf(format, args...))
}

// warnf records a warning at path.
func (r *report) warnf(path, format string, args ...any) {
	r.add(path, true, fmt.Sprintf(format, args...))
}

// hasErrors reports whether any error was recorded.
func (r *report) hasErrors() bool {
	for _, f := range r.findings {
		if !f.Warning {
			return true
		}
	}
	return false
}

// position returns the offset of the value at path, or of its nearest
// ancestor present in the source (a missing field sorts with its parent).
func (r *report) position(path string) int64 {
	for {
		if p, ok := r.pos[path]; ok {
			return p
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

// problems sorts the findings and splits them into errors and warnings.
func (r *report) problems() *Problems {
	fs := append([]finding(nil), r.findings...)
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].pos != fs[j].pos {
			return fs[i].pos < fs[j].pos
		}
		return fs[i].seq < fs[j].seq
	})
	out := &Problems{}
	for _, f := range fs {
		if f.Warning {
			out.Warnings = append(out.Warnings, f.Problem)
		} else {
			out.Errors = append(out.Errors, f.Problem)
		}
	}
	return out
}

// parentPath drops the last segment of a JSON path: "a.b[2]" → "a.b",
// `a["x y"]` → "a", "a" → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "\"]") {
		if i := strings.LastIndex(path, "[\""); i >= 0 {
			return path[:i]
		}
	}
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// joinKey appends an object key to a JSON path. Keys that are not
// identifiers are written as ["key"], as the tmpl package does.
func joinKey(path, key string) string {
	if !isIdent(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinIndex appends an array index to a JSON path.
func joinIndex(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// isIdent reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '_', 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z':
		case '0' <= ch && ch <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
