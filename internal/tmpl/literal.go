package tmpl

// Literals returns the literal text of the template src: the parts outside
// its {{ }} expressions, in order. ok is false when src does not split into
// parts (an unterminated {{), in which case the caller should treat the
// whole of src as literal text.
func Literals(src string) (lits []string, ok bool) {
	parts, err := splitTemplate(src)
	if err != nil {
		return nil, false
	}
	for _, p := range parts {
		if !p.isExpr && p.text != "" {
			lits = append(lits, p.text)
		}
	}
	return lits, true
}
