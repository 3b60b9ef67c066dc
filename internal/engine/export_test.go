package engine

// RedactorCount is how many runs' redactors the engine holds.
func (e *Engine) RedactorCount() int {
	n := 0
	e.redactors.Range(func(_, _ any) bool { n++; return true })
	return n
}
