package redact

import (
	"errors"
	"io"
	"sync"
)

// ErrClosed is returned by a Writer's Write and Flush after Close.
var ErrClosed = errors.New("redact: writer is closed")

// holdLimit is how many bytes of one growing masked run a Writer holds
// before it writes the Mask for it early, so that input such as an endless
// repetition of a pattern cannot make it buffer without bound.
const holdLimit = 64 << 10

// Writer is an io.Writer that redacts a stream before passing it on, as
// NewWriter describes. It is safe for concurrent use.
type Writer struct {
	r *Redactor
	w io.Writer

	mu     sync.Mutex
	m      *matcher // the matcher st belongs to
	st     uint32   // reference of the automaton state after the last byte consumed
	buf    []byte   // consumed bytes not yet written; buf[0] is at offset base
	base   int64
	runs   []span // masked spans within buf, absolute offsets
	open   bool   // the Mask for runs[0] was already written (see holdLimit)
	out    []byte // scratch for what is written next
	err    error  // first error from w
	closed bool
}

// NewWriter returns a Writer that redacts everything written to it and
// writes the result to w. It catches a value split across any number of
// writes: it holds back the bytes that could still turn out to begin a match
// (the longest end of the input that is a prefix of a pattern) and writes the
// rest at once, so text that cannot start a secret, such as a complete log
// line, goes through without delay. Flush writes what is safe and Close
// writes everything held; Close does not close w. Only full matches are
// masked: bytes held back because they could begin a value are written as
// they came once the stream ends without completing it, so what is written
// never depends on a partial match.
//
// It can sit under a log/slog handler (slog.NewJSONHandler(r.NewWriter(os.
// Stderr), nil)) to redact process logs.
//
// Values added while the stream is open are caught from the bytes the Writer
// still holds onward. Masks are computed as String computes them, so the
// written stream equals String of the whole input, except with a pattern
// that contains the mask character: String re-scans its output until no
// pattern is left, while a stream cannot take back what it wrote, so the
// stream may show such a pattern formed by a Mask and the text beside it
// (which reveals no secret byte, since part of the occurrence is the mask).
// Unlike String, a Writer does not unwrap wrapped base64 (see wrapped.go):
// it serves process logs, whose JSON lines hold no raw line breaks.
func (r *Redactor) NewWriter(w io.Writer) *Writer {
	return &Writer{r: r, w: w}
}

// Write redacts p and writes what is safe to the underlying writer. It
// returns len(p) unless the underlying writer fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	w.sync()
	start := len(w.buf)
	w.buf = append(w.buf, p...)
	w.scan(start)
	return len(p), w.emit(false)
}

// Flush writes what is safe to write, and flushes the underlying writer if it
// has a Flush method. Write already writes what is safe, so Flush matters
// only after values were added, which can turn held bytes into masks.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	w.sync()
	if err := w.emit(false); err != nil {
		return err
	}
	if f, ok := w.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Close writes everything still held, redacted, and ends the stream. It does
// not close the underlying writer. Closing twice is a no-op.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	w.sync()
	return w.emit(true)
}

// sync switches to the Redactor's current matcher if values were added, and
// re-scans the held bytes with it.
func (w *Writer) sync() {
	m := w.r.matcher()
	if m == w.m {
		return
	}
	w.m = m
	w.st = 0
	// Keep the run whose Mask was already written (see holdLimit): the rest
	// of it must stay masked, and must not get a second Mask.
	if w.open {
		w.runs = w.runs[:1]
	} else {
		w.runs = w.runs[:0]
	}
	w.scan(0)
}

// scan feeds buf[from:] through the automaton, recording matches.
func (w *Writer) scan(from int) {
	off := w.base + int64(from)
	w.st = scan(w.m.ac, w.buf[from:], w.st, func(end, n int) {
		e := off + int64(end)
		w.runs = addSpan(w.runs, max(e-int64(n), w.base), e)
	})
}

// emit writes the bytes whose fate is known: with final, all of them.
func (w *Writer) emit(final bool) error {
	n := w.base + int64(len(w.buf))
	// A match not yet seen must start within the longest end of the input
	// that is a prefix of a pattern, which is what the state stands for.
	safe := n - int64(w.m.ac.depth[w.m.ac.id(w.st)])
	if final {
		safe = n + 1
	}
	// A span is settled when no later match can reach or touch it.
	upto := min(safe, n)
	settled := 0
	for settled < len(w.runs) && w.runs[settled].end < safe {
		settled++
	}
	if settled < len(w.runs) && w.runs[settled].start < upto {
		upto = w.runs[settled].start
	}
	out := w.out[:0]
	pos := w.base
	for _, r := range w.runs[:settled] {
		out = append(out, w.buf[pos-w.base:r.start-w.base]...)
		if !w.open {
			out = append(out, Mask...)
		}
		w.open = false
		pos = r.end
	}
	if upto > pos {
		out = append(out, w.buf[pos-w.base:upto-w.base]...)
		pos = upto
	}
	// A run still growing past holdLimit: write its Mask now and remember
	// that it was written.
	if settled < len(w.runs) && w.runs[settled].start < safe && safe-w.base > holdLimit {
		// Here pos == r.start: everything before the run was written above.
		r := &w.runs[settled]
		if !w.open {
			out = append(out, Mask...)
		}
		w.open = true
		pos = safe
		r.start = pos
	}
	w.runs = append(w.runs[:0], w.runs[settled:]...)
	w.buf = append(w.buf[:0], w.buf[pos-w.base:]...)
	w.base = pos
	w.out = out
	if len(out) == 0 {
		return nil
	}
	if _, err := w.w.Write(out); err != nil {
		w.err = err
		return err
	}
	return nil
}
