package redact

import "strings"

// This file holds the multi-pattern matcher: an Aho–Corasick automaton written
// for this package rather than taken from a library, because masking needs two
// things general-purpose matchers do not give cheaply: the longest pattern
// ending at every position (to mask the union of all overlapping and nested
// matches, not a leftmost non-overlapping subset) and a state that can be
// carried from one write or log line to the next.
//
// Layout. States are numbered in breadth-first order, so the root is 0 and
// every state's failure target has a smaller number. The first states (the
// shallow ones, where a scan spends nearly all its time) have a complete DFA
// row over byte classes, so a step from them is one table load. Deeper states
// keep only their trie edges and a failure link; a step from them follows
// failure links until it reaches a state with a row, which is complete. The
// budget for rows keeps memory bounded with thousands of patterns.
//
// A scan carries a state reference rather than a state number: for a state
// with a row, the offset of that row in the table (so a step needs no
// multiplication); for one without, its number with sparseFlag set. A
// transition is the target's reference, with matchFlag set when the target
// ends at least one pattern, so the scan loop tests one bit per byte and
// looks at outLen only on a match.

const (
	// matchFlag marks a transition whose target state ends a pattern.
	matchFlag = 1 << 31
	// sparseFlag marks the reference of a state without a dense row.
	sparseFlag = 1 << 30
	// denseBudget caps the dense transition table, in entries of 4 bytes.
	denseBudget = 1 << 20
)

// automaton is an immutable Aho–Corasick automaton over a set of patterns.
// Per-state slices are indexed by state number; scans use references (see
// ref and id).
type automaton struct {
	class    [256]uint8 // byte → class; class 0 is every byte no pattern uses (if any)
	nclass   uint32
	denseCap uint32   // states [0, denseCap) have a dense row
	dense    []uint32 // one row of nclass transitions per such state

	fail    []uint32 // failure link of each state, a state number
	depth   []int32  // length of the string a state stands for
	outLen  []int32  // longest pattern that is a suffix of that string, or 0
	edgeOff []uint32 // trie edges of state s are edge*[edgeOff[s]:edgeOff[s+1]]
	edgeCls []uint8
	edgeTo  []uint32 // transitions, as in dense

	maxLen int // length of the longest pattern
}

// buildAutomaton builds the automaton for patterns, which must be sorted,
// unique and non-empty.
func buildAutomaton(patterns []string) *automaton {
	a := &automaton{}
	total := 1
	var used [256]bool
	for _, p := range patterns {
		total += len(p)
		a.maxLen = max(a.maxLen, len(p))
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	nused := 0
	for _, u := range used {
		if u {
			nused++
		}
	}
	if nused == 256 {
		// No byte is unused, so there is no class for "in no pattern".
		for b := range a.class {
			a.class[b] = uint8(b)
		}
		a.nclass = 256
	} else {
		a.nclass = 1
		for b, u := range used {
			if u {
				a.class[b] = uint8(a.nclass)
				a.nclass++
			}
		}
	}
	a.denseCap = uint32(max(1, min(total, denseBudget/int(a.nclass))))
	a.dense = make([]uint32, 0, int(min(a.denseCap, uint32(total)))*int(a.nclass))

	// Each state owns the range [lo, hi) of sorted patterns that start with
	// its string; its children split that range by the next byte.
	type rng struct{ lo, hi int32 }
	ranges := make([]rng, 1, total)
	ranges[0] = rng{0, int32(len(patterns))}
	a.fail = make([]uint32, 1, total)
	a.depth = make([]int32, 1, total)
	a.outLen = make([]int32, 1, total)
	a.edgeOff = make([]uint32, 0, total+1)
	a.edgeCls = make([]uint8, 0, total)
	a.edgeTo = make([]uint32, 0, total)

	for u := 0; u < len(ranges); u++ {
		d := int(a.depth[u])
		lo, hi := ranges[u].lo, ranges[u].hi
		if lo < hi && len(patterns[lo]) == d {
			lo++ // the pattern that ends here sorts first in the range
		}
		a.edgeOff = append(a.edgeOff, uint32(len(a.edgeCls)))
		for i := lo; i < hi; {
			b := patterns[i][d]
			j := i + 1
			for j < hi && patterns[j][d] == b {
				j++
			}
			v := uint32(len(ranges))
			ranges = append(ranges, rng{i, j})
			a.depth = append(a.depth, int32(d+1))
			var f uint32
			if u != 0 {
				// Every state the step visits is shallower than v and
				// already complete.
				f = a.id(a.step(a.ref(a.fail[u]), a.class[b]) &^ matchFlag)
			}
			a.fail = append(a.fail, f)
			own := int32(0)
			if len(patterns[i]) == d+1 {
				own = int32(d + 1)
			}
			a.outLen = append(a.outLen, max(own, a.outLen[f]))
			t := a.ref(v)
			if a.outLen[v] > 0 {
				t |= matchFlag
			}
			a.edgeCls = append(a.edgeCls, a.class[b])
			a.edgeTo = append(a.edgeTo, t)
			i = j
		}
		if uint32(u) < a.denseCap {
			a.addDenseRow(u)
		}
	}
	a.edgeOff = append(a.edgeOff, uint32(len(a.edgeCls)))
	return a
}

// addDenseRow appends the complete row of state u, which must be the next
// state without one; its failure target already has a row.
func (a *automaton) addDenseRow(u int) {
	off := len(a.dense)
	if u == 0 {
		a.dense = append(a.dense, make([]uint32, a.nclass)...)
	} else {
		f := a.fail[u] * a.nclass
		a.dense = append(a.dense, a.dense[f:f+a.nclass]...)
	}
	for e := a.edgeOff[u]; e < uint32(len(a.edgeCls)); e++ {
		a.dense[off+int(a.edgeCls[e])] = a.edgeTo[e]
	}
}

// ref returns the reference of state number s.
func (a *automaton) ref(s uint32) uint32 {
	if s < a.denseCap {
		return s * a.nclass
	}
	return s | sparseFlag
}

// id returns the state number of reference r (without matchFlag).
func (a *automaton) id(r uint32) uint32 {
	if r&sparseFlag != 0 {
		return r &^ sparseFlag
	}
	return r / a.nclass
}

// step returns the transition from the state referenced by r on byte class
// c: the target's reference, with matchFlag set when it ends a pattern.
func (a *automaton) step(r uint32, c uint8) uint32 {
	for r&sparseFlag != 0 {
		s := r &^ sparseFlag
		for e := a.edgeOff[s]; e < a.edgeOff[s+1]; e++ {
			if a.edgeCls[e] == c {
				return a.edgeTo[e]
			}
		}
		r = a.ref(a.fail[s])
	}
	return a.dense[r+uint32(c)]
}

// span is a half-open interval [start, end) of masked bytes.
type span struct{ start, end int64 }

// addSpan adds [start, end) to runs, a list of disjoint, non-touching spans
// sorted by position, merging every span it overlaps or touches. The new span
// must not lie wholly before the last one with a gap between them; matches
// arrive in order of their end, so that holds and only a suffix of runs can
// merge.
func addSpan(runs []span, start, end int64) []span {
	for len(runs) > 0 && runs[len(runs)-1].end >= start {
		last := runs[len(runs)-1]
		start = min(start, last.start)
		end = max(end, last.end)
		runs = runs[:len(runs)-1]
	}
	return append(runs, span{start, end})
}

// findSpans scans s from the root and returns the union of all match
// intervals as sorted, disjoint, non-touching spans, or nil when nothing
// matches. It does not allocate when nothing matches.
func findSpans[T string | []byte](a *automaton, s T) []span {
	var runs []span
	scan(a, s, 0, func(end, n int) {
		runs = addSpan(runs, int64(end-n), int64(end))
	})
	return runs
}

// scan runs s through the automaton from the state referenced by r, calls
// match with the end offset in s and the length of the longest pattern that
// ends there for every position where a pattern ends, and returns the
// reference of the state reached.
func scan[T string | []byte](a *automaton, s T, r uint32, match func(end, n int)) uint32 {
	for i := 0; ; i++ {
		var t uint32
		i, t = skipClean(a, s, i, r)
		if i == len(s) {
			return t
		}
		r = t &^ matchFlag
		match(i+1, int(a.outLen[a.id(r)]))
	}
}

// skipClean is the hot loop: it runs the automaton over s[i:] from the state
// referenced by r until a byte completes a match, and returns that byte's
// index and the transition taken on it (with matchFlag), or len(s) and the
// reference of the state reached.
func skipClean[T string | []byte](a *automaton, s T, i int, r uint32) (int, uint32) {
	dense, class := a.dense, &a.class
	for ; i < len(s); i++ {
		var t uint32
		if r&sparseFlag == 0 {
			t = dense[r+uint32(class[s[i]])]
		} else {
			t = a.step(r, class[s[i]])
		}
		if t&matchFlag != 0 {
			return i, t
		}
		r = t
	}
	return len(s), r
}

// applySpans appends s to dst with every span replaced by one Mask.
func applySpans[T string | []byte](dst []byte, s T, runs []span) []byte {
	prev := int64(0)
	for _, r := range runs {
		dst = append(dst, s[prev:r.start]...)
		dst = append(dst, Mask...)
		prev = r.end
	}
	return append(dst, s[prev:]...)
}

// maskString returns s with every span replaced by one Mask.
func maskString(s string, runs []span) string {
	var b strings.Builder
	b.Grow(len(s)) // without zeroing; spans are mostly longer than Mask
	prev := int64(0)
	for _, r := range runs {
		b.WriteString(s[prev:r.start])
		b.WriteString(Mask)
		prev = r.end
	}
	b.WriteString(s[prev:])
	return b.String()
}
