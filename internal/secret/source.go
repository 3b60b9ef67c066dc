package secret

import (
	"context"
	"errors"
)

// ResolveRef says who resolves secrets: the run and the node run, recorded
// in the audit trail.
type ResolveRef struct {
	RunID     string
	NodeRunID string
}

// Source resolves secret names to values. Resolve returns a value for every
// name or fails: with a *NotDefinedError for a name it does not have. The
// engine defines the same one-method interface where it uses it; *Service,
// MapSource and Layered implement it.
type Source interface {
	Resolve(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error)
}

// PartialSource is a Source that can also return only the names it has,
// without failing for the others. Layered asks a PartialSource only once.
type PartialSource interface {
	Source
	ResolveAvailable(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error)
}

// MapSource is a local source of secrets, such as the file given to
// `sluice run --secret-file` (see ParseDotEnv). It records no audit events.
type MapSource map[string]string

// Resolve returns the named values, or a *NotDefinedError for the first
// name the map does not hold.
func (m MapSource) Resolve(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := m[n]
		if !ok {
			return nil, &NotDefinedError{Name: n}
		}
		out[n] = v
	}
	return out, nil
}

// ResolveAvailable returns the named values the map holds.
func (m MapSource) ResolveAvailable(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		if v, ok := m[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// Layered tries its sources in order: each name comes from the first source
// that has it (for `sluice run`: the secret file, then the store). A source
// is asked only for the names still missing.
type Layered []Source

// Resolve returns every named value, or a *NotDefinedError for the first
// name (in the order given) that no source has.
func (l Layered) Resolve(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	out, err := l.ResolveAvailable(ctx, ref, names)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, &NotDefinedError{Name: n}
		}
	}
	return out, nil
}

// ResolveAvailable returns the named values that some source has.
func (l Layered) ResolveAvailable(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	missing := uniq(names)
	for _, src := range l {
		if len(missing) == 0 {
			break
		}
		got, err := available(ctx, src, ref, missing)
		if err != nil {
			return nil, err
		}
		rest := missing[:0:0]
		for _, n := range missing {
			if v, ok := got[n]; ok {
				out[n] = v
			} else {
				rest = append(rest, n)
			}
		}
		missing = rest
	}
	return out, nil
}

// available asks src for the names it has: at once for a PartialSource,
// name by name otherwise.
func available(ctx context.Context, src Source, ref ResolveRef, names []string) (map[string]string, error) {
	if p, ok := src.(PartialSource); ok {
		return p.ResolveAvailable(ctx, ref, names)
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		got, err := src.Resolve(ctx, ref, []string{n})
		if errors.Is(err, ErrNotDefined) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if v, ok := got[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// uniq returns names without repeats, in order.
func uniq(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
