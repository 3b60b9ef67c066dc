package redact

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// maxRounds bounds the rounds String runs to reach a fixpoint when some
// pattern contains the mask character (see matcher.redact).
const maxRounds = 8

// Redactor masks registered secret values and the forms they take in transit
// (see Add) in text, JSON documents, errors, streams and log lines. Every
// maximal run of masked bytes becomes one Mask, whatever its length.
//
// The zero value is a Redactor with no patterns, like New returns. A
// Redactor is safe for concurrent use and must not be copied after first
// use. Registering is rare and scanning is frequent: Add only records the
// value, and the first scan after it builds a new immutable matcher and
// publishes it atomically; other scans load the current matcher without
// locking. A value is masked by every scan that starts after Add returns.
type Redactor struct {
	mu       sync.Mutex          // serialises Add and rebuilds
	patterns map[string]struct{} // every registered pattern; guarded by mu
	dirty    atomic.Bool         // patterns changed since cur was built
	cur      atomic.Pointer[matcher]
	cache    *Cache // shares built matchers; nil builds each anew
}

// matcher is an immutable snapshot of a Redactor's patterns.
type matcher struct {
	patterns []string // sorted, unique
	ac       *automaton
	hasStar  bool // some pattern contains the mask character
	hasNL    bool // some pattern contains a line break
}

// New returns a Redactor with no patterns; it returns every text unchanged
// until a value is added.
func New() *Redactor {
	return &Redactor{}
}

func newMatcher(patterns []string) *matcher {
	m := &matcher{patterns: patterns, ac: buildAutomaton(patterns)}
	for _, p := range patterns {
		m.hasStar = m.hasStar || strings.Contains(p, "*")
		m.hasNL = m.hasNL || strings.Contains(p, "\n")
	}
	return m
}

// Add registers a secret value: the value itself and every form listed at
// forms (JSON-escaped, URL-encoded, base64 in all alphabets and alignments,
// hex, the lines of a multi-line value). Forms shorter than MinLen bytes are
// not registered; the secret store refuses values that short, and for one
// that gets here anyway its longer encodings are still masked.
func (r *Redactor) Add(value string) {
	r.add(forms(value))
}

// AddDerived registers a value that a template computed from secrets, such
// as the result of {{ .secrets.X | @base64 }} or "{{ .secrets.U }}:{{
// .secrets.P }}", together with the same forms as Add.
//
// Values shorter than MinLen bytes are ignored, and so are the JSON literals
// true, false and null: expressions over a secret often yield such values
// (a length, a flag from a comparison, a short slice), they reveal next to
// nothing about the secret, and masking every "42" or "true" would wreck the
// run's logs and turn every JSON output that holds a boolean into Mask.
func (r *Redactor) AddDerived(value string) {
	if len(value) < MinLen {
		return
	}
	switch value {
	case "true", "false", "null":
		return
	}
	r.add(forms(value))
}

func (r *Redactor) add(patterns []string) {
	if len(patterns) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.patterns == nil {
		r.patterns = make(map[string]struct{})
	}
	for _, p := range patterns {
		if _, ok := r.patterns[p]; !ok {
			r.patterns[p] = struct{}{}
			r.dirty.Store(true)
		}
	}
}

// Len returns the number of distinct patterns registered, counting every
// form of every value.
func (r *Redactor) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.patterns)
}

// matcher returns the current matcher, rebuilding it first if values were
// added since it was built.
func (r *Redactor) matcher() *matcher {
	if !r.dirty.Load() {
		if m := r.cur.Load(); m != nil {
			return m
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirty.Load() || r.cur.Load() == nil {
		ps := make([]string, 0, len(r.patterns))
		for p := range r.patterns {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		r.cur.Store(r.cache.matcher(ps))
		r.dirty.Store(false)
	}
	return r.cur.Load()
}

// String returns s with every match of a registered pattern masked. The
// result contains no registered pattern. When s contains none it is returned
// as is, without allocating.
func (r *Redactor) String(s string) string {
	return r.matcher().redact(s)
}

// Text returns s redacted as by String, as a Text that the store accepts.
func (r *Redactor) Text(s string) Text {
	return Text{s: r.String(s)}
}

// Error returns the redacted text of err, or an empty Text for a nil error.
// Go errors often quote what they failed on, such as a URL with a token in
// its query, so an error's text is run data like any other.
func (r *Redactor) Error(err error) Text {
	if err == nil {
		return Text{}
	}
	return r.Text(err.Error())
}

// redact masks every match in s and returns the result.
//
// When no pattern contains the mask character one pass is enough: an
// occurrence of a pattern in the output cannot include a mask, so it lies
// within text kept from s, where it would have been found and masked. A
// pattern that does contain '*' can be formed anew by a mask and its
// neighbours, so the pass is repeated until nothing matches. Every round that
// changes something replaces runs of at least MinLen bytes by the 3 bytes of
// Mask, so the text shrinks and the rounds end; after maxRounds the whole text
// becomes Mask, which is shorter than any pattern.
func (m *matcher) redact(s string) string {
	runs := m.spans(s)
	if runs == nil {
		return s
	}
	out := maskString(s, runs)
	if !m.hasStar {
		return out
	}
	for range maxRounds {
		runs = m.spans(out)
		if runs == nil {
			return out
		}
		out = maskString(out, runs)
	}
	return Mask
}

// spans returns the spans of s to mask: the union of every match of a
// pattern in s and in the unwrapped blocks of wrapped base64 in s (see
// wrappedSpans), sorted, or nil when nothing matches.
func (m *matcher) spans(s string) []span {
	return mergeRuns(findSpans(m.ac, s), wrappedSpans(m.ac, s, indexString))
}

// redactBytes is redact for a byte slice. It reports whether anything was
// masked and returns b itself when nothing was.
func (m *matcher) redactBytes(b []byte) ([]byte, bool) {
	runs := mergeRuns(findSpans(m.ac, b), wrappedSpans(m.ac, b, indexBytes))
	if runs == nil {
		return b, false
	}
	out := applySpans(make([]byte, 0, len(b)), b, runs)
	if !m.hasStar {
		return out, true
	}
	return []byte(m.redact(string(out))), true
}
