// Package redact masks secret values, and the forms they take in transit, in
// everything a run stores or shows. It is the one place where run data turns
// into something that may be written to the store or returned by the API: the
// store accepts only the Text and JSON types made here, so forgetting to redact
// is a compile error rather than a leak. The two exported ways around it,
// TrustedText and Reload, are held to their purpose by a test rather than by
// the compiler: outside the store implementations (internal/store/...) every
// call passes a constant (TestTrustedConstructorsCallers).
package redact

// Mask replaces every match. Its width is fixed so that it never reveals the
// length of what it hides.
const Mask = "***"

// Text is a string that has passed through a Redactor. Only this package can
// make one, except for the trusted constructors below.
type Text struct{ s string }

// String returns the redacted text.
func (t Text) String() string { return t.s }

// JSON is a JSON document that has passed through a Redactor. It is always
// valid JSON.
type JSON struct{ b []byte }

// Bytes returns the redacted JSON. The caller must not modify it.
func (j JSON) Bytes() []byte { return j.b }

// IsZero reports whether j holds no document.
func (j JSON) IsZero() bool { return len(j.b) == 0 }

// TrustedText marks s as safe to store without redaction. It is for text that
// the program itself wrote from constants and identifiers (status words, node
// identifiers); never pass it data that came from a run, a template or a
// remote system. Outside internal/store, only a constant may be passed
// (TestTrustedConstructorsCallers fails otherwise).
func TrustedText(s string) Text { return Text{s: s} }

// Reload wraps JSON read back from the store, which was redacted when it was
// written. It is for the store implementations and must not be used on data
// that did not come out of a store. Outside internal/store, only a constant
// may be passed (TestTrustedConstructorsCallers fails otherwise).
func Reload(b []byte) JSON { return JSON{b: b} }
