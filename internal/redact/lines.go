package redact

// Lines redacts a sequence of log lines that are stored one by one, as
// NewLines describes. It is not safe for concurrent use: one Lines follows
// one stream.
type Lines struct {
	r    *Redactor
	m    *matcher // the matcher st belongs to
	st   uint32   // reference of the automaton state at the end of the previous line
	tail []byte   // the bytes st stands for: the end of the stream so far
}

// NewLines returns a Lines for one stream of log lines.
//
// Once a line is stored it cannot be changed, so a secret split across two
// lines (a process that wraps long output, or writes a token in two pieces)
// must be caught from each side separately. Next masks, besides every match
// within the line:
//
//   - the end of the line, when the longest end that begins a pattern is at
//     least MinLen bytes long (counting bytes of earlier lines that it
//     continues), since it may be the first part of a secret completed by the
//     next line;
//   - the start of the line, when it completes a pattern that earlier lines
//     began: the stream is matched as one text, so the part of such a match
//     in this line is masked whatever its length;
//   - the start of the line, when it is an end of some pattern at least
//     MinLen bytes long and at least half that pattern, whatever the earlier
//     lines held: lines from interleaved sources do not follow each other.
//
// Limits: a split leaves the first part visible when it is shorter than
// MinLen bytes, and leaves the second part visible when it is shorter than
// half the pattern and the first part was not the line before it. A value
// added during the stream is caught from the line in which it was added,
// plus the part of the earlier lines still in the state.
func (r *Redactor) NewLines() *Lines {
	return &Lines{r: r}
}

// Next redacts line, the next line of the stream.
func (l *Lines) Next(line string) Text {
	m := l.r.matcher()
	a := m.ac
	if m != l.m {
		l.m = m
		l.st = scan(a, l.tail, 0, func(int, int) {})
	}

	var runs []span
	if k := leadingSuffix(m.reversed(), line); k > 0 {
		runs = append(runs, span{0, int64(k)})
	}
	st := scan(a, line, l.st, func(end, n int) {
		runs = addSpan(runs, int64(max(end-n, 0)), int64(end))
	})
	n := int64(len(line))
	d := int(a.depth[a.id(st)])
	if d >= MinLen {
		runs = addSpan(runs, max(n-int64(d), 0), n)
	}

	// Keep the bytes the new state stands for.
	if d <= len(line) {
		l.tail = append(l.tail[:0], line[len(line)-d:]...)
	} else {
		keep := d - len(line)
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-keep:]...)
		l.tail = append(l.tail, line...)
	}
	l.st = st

	if runs == nil {
		return Text{s: line}
	}
	out := maskString(line, runs)
	if m.hasStar {
		out = m.redact(out)
	}
	return Text{s: out}
}

// leadingSuffix returns the length of the longest start of line that is a
// proper end of some pattern, at least MinLen bytes long and at least half
// that pattern, or 0. rev is the automaton of the reversed patterns: reading
// the start of the line backwards through it leaves it in the state for the
// longest start of the line that is an end of a pattern, and its failure
// chain gives the shorter ones.
func leadingSuffix(rev *automaton, line string) int {
	if rev.maxLen == 0 {
		return 0
	}
	n := min(len(line), rev.maxLen)
	r := uint32(0)
	for i := n - 1; i >= 0; i-- {
		r = rev.step(r, rev.class[line[i]]) &^ matchFlag
	}
	for st := rev.id(r); st != 0; st = rev.fail[st] {
		k := rev.depth[st]
		if k >= MinLen && 2*k >= rev.minLen[st] {
			return int(k)
		}
	}
	return 0
}
