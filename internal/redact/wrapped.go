package redact

import (
	"bytes"
	"slices"
	"strings"
)

// minWrapWidth is the shortest line of base64 after which a line break is
// taken for a wrap: PEM wraps at 64 columns, MIME and GNU base64 at 76.
const minWrapWidth = 64

// isBase64 tells the bytes of the standard base64 alphabet and its padding.
var isBase64 = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" {
		t[r] = true
	}
	return t
}()

// Wrapped base64. Tools wrap base64 at a fixed width (PEM at 64 columns, MIME
// and GNU base64 at 76), with "\n" or "\r\n", so a value's base64 form is cut
// by line breaks at places that depend on where it sits in the encoded
// stream. Rather than register a pattern for every place a break can fall
// (hundreds per value, and for a long value hundreds of copies of it), the
// matcher unwraps: when a text has wrap breaks it removes them all, scans the
// joined text with the same automaton, and maps the matches that span a
// removed break back onto the original text, where such a match covers the
// break. A text without a wrap break, which is nearly every text, costs one
// look at each line break; the stretches around wrap breaks are scanned
// twice.
//
// A wrap break is a line break ("\n" or "\r\n") that ends at least
// minWrapWidth base64 characters and is followed by one. The joined text is
// a function of the text alone, never of the patterns, so what is masked
// still depends only on full matches.

// indexFunc is strings.IndexByte or bytes.IndexByte, so that the search for
// line breaks runs at their speed for either type of text.
type indexFunc[T string | []byte] func(s T, c byte) int

func indexString(s string, c byte) int { return strings.IndexByte(s, c) }
func indexBytes(s []byte, c byte) int  { return bytes.IndexByte(s, c) }

// wrapBreak reports whether the '\n' at offset p of s ends a wrap break, and
// returns the offset where the break starts (p, or p-1 for "\r\n").
func wrapBreak[T string | []byte](s T, p int) (int, bool) {
	if p+1 >= len(s) || !isBase64[s[p+1]] {
		return 0, false
	}
	q := p
	if q > 0 && s[q-1] == '\r' {
		q--
	}
	if q < minWrapWidth {
		return 0, false
	}
	for i := q - 1; i >= q-minWrapWidth; i-- {
		if !isBase64[s[i]] {
			return 0, false
		}
	}
	return q, true
}

// wrappedSpans returns the spans that matches in s with every wrap break
// removed reveal, in no particular order, or nil when s has no wrap break.
// Matches that span no break are left out: the scan of s itself finds them.
//
// Only the text near breaks is scanned again: breaks less than 2·maxLen
// bytes apart form a cluster, and a cluster is joined and scanned from
// maxLen bytes before its first break to maxLen bytes after its last. A
// match that spans a break is at most maxLen bytes long once joined, and no
// other cluster's break lies within maxLen bytes, so it lies within its
// cluster's stretch; a false break (a line that ends with 64 hex digits)
// costs a few hundred bytes, not the text.
func wrappedSpans[T string | []byte](a *automaton, s T, index indexFunc[T]) []span {
	if a.maxLen == 0 {
		return nil
	}
	var (
		runs   []span
		joined []byte
		cuts   []cut
		lo     int // where the current cluster's stretch starts in s
		prev   int // the end of the last break of the cluster, or lo
		shift  int
	)
	flush := func() {
		joined = append(joined, s[prev:min(len(s), prev+a.maxLen)]...)
		scan(a, joined, 0, func(end, n int) {
			if sp, ok := unwrapSpan(cuts, end-n, end); ok {
				runs = append(runs, span{sp.start + int64(lo), sp.end + int64(lo)})
			}
		})
		joined, cuts = joined[:0], cuts[:0]
	}
	for p := 0; ; p++ {
		j := index(s[p:], '\n')
		if j < 0 {
			break
		}
		p += j
		q, ok := wrapBreak(s, p)
		if !ok {
			continue
		}
		if len(cuts) > 0 && q-prev > 2*a.maxLen {
			flush()
		}
		if len(cuts) == 0 {
			lo = max(0, q-a.maxLen)
			prev, shift = lo, 0
		}
		joined = append(joined, s[prev:q]...)
		shift += p + 1 - q
		cuts = append(cuts, cut{at: len(joined), shift: shift})
		prev = p + 1
	}
	if len(cuts) > 0 {
		flush()
	}
	return runs
}

// cut is a wrap break removed from the text: the bytes from offset at on in
// the joined text lie shift bytes later in the original.
type cut struct{ at, shift int }

// unwrapSpan maps the match [s, e) of the joined text onto the original
// text. It reports false for a match that spans no break: the scan of the
// original text finds those.
func unwrapSpan(cuts []cut, s, e int) (span, bool) {
	// The number of cuts at or before an offset.
	before := func(x int) int {
		i, _ := slices.BinarySearchFunc(cuts, x+1, func(c cut, x int) int { return c.at - x })
		return i
	}
	shift := func(i int) int {
		if i == 0 {
			return 0
		}
		return cuts[i-1].shift
	}
	i, k := before(s), before(e-1)
	if i == k {
		return span{}, false
	}
	return span{int64(s + shift(i)), int64(e - 1 + shift(k) + 1)}, true
}

// mergeRuns returns the union of a, sorted, and b, in any order, as sorted
// spans with those that overlap or touch merged.
func mergeRuns(a, b []span) []span {
	if len(b) == 0 {
		return a
	}
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y span) int {
		switch {
		case x.start < y.start:
			return -1
		case x.start > y.start:
			return 1
		}
		return 0
	})
	out := all[:0]
	for _, r := range all {
		if n := len(out); n > 0 && out[n-1].end >= r.start {
			out[n-1].end = max(out[n-1].end, r.end)
			continue
		}
		out = append(out, r)
	}
	return out
}
