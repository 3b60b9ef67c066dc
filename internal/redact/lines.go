package redact

import "strings"

// Lines redacts a batch of log lines that are stored together: the lines one
// API call adds to a node run, or the lines one node execution writes. The
// result has one Text per line.
//
// The batch is matched as one text before anything of it is stored: the
// lines put end to end, less a final "\r" (a value split across lines by a
// process that wraps long output, written in two pieces, or base64 wrapped
// into lines) and,
// when a registered pattern holds a line break, the lines joined by "\n" (a
// multi-line value). Every line that holds a part of a match is masked
// there. Each batch is matched on its own: a value split across two batches
// leaves both parts visible, since the first is stored before the second
// arrives.
//
// Only full matches are masked. A line that ends with the start of a value,
// or starts with its end, comes back unchanged: were such a part masked, a
// caller who may add log lines could learn a secret byte by byte from which
// of its guesses came back masked.
func (r *Redactor) Lines(lines []string) []Text {
	out := make([]Text, len(lines))
	if len(lines) == 0 {
		return out
	}
	m := r.matcher()
	own := lineSpans(m, lines, "")
	if m.hasNL {
		for i, runs := range lineSpans(m, lines, "\n") {
			own[i] = mergeRuns(own[i], runs)
		}
	}
	for i, line := range lines {
		switch {
		case own[i] == nil:
			out[i] = Text{s: line}
		case m.hasStar:
			out[i] = Text{s: m.redact(maskString(line, own[i]))}
		default:
			out[i] = Text{s: maskString(line, own[i])}
		}
	}
	return out
}

// lineSpans matches the lines joined by sep and returns, for each line, the
// part of the matches that lies in it, in the line's own offsets. Put end to
// end (sep ""), a line's final carriage return is left out, as in text with
// "\r\n" line ends split at "\n".
func lineSpans(m *matcher, lines []string, sep string) [][]span {
	own := make([][]span, len(lines))
	var b strings.Builder
	n := len(sep) * (len(lines) - 1)
	for _, line := range lines {
		n += len(line)
	}
	b.Grow(n)
	for i, line := range lines {
		if i > 0 {
			b.WriteString(sep)
		}
		if sep == "" {
			line = strings.TrimSuffix(line, "\r")
		}
		b.WriteString(line)
	}
	runs := m.spans(b.String())
	start := int64(0)
	for i, line := range lines {
		if sep == "" {
			line = strings.TrimSuffix(line, "\r")
		}
		end := start + int64(len(line))
		for len(runs) > 0 && runs[0].start < end {
			sp := runs[0]
			if a, b := max(sp.start, start), min(sp.end, end); a < b {
				own[i] = append(own[i], span{a - start, b - start})
			}
			if sp.end > end {
				break // it goes on into the next line
			}
			runs = runs[1:]
		}
		start = end + int64(len(sep))
	}
	return own
}
