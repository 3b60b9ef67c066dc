package redact

// Forms returns the forms value v commonly takes in transit, each at least
// MinLen bytes long, in no particular order and possibly repeated: exactly
// the patterns a Redactor registers for v with Add (see forms). Other
// packages use it to recognize a value in the same encodings the redactor
// masks, without a second list to keep in step.
func Forms(v string) []string { return forms(v) }
