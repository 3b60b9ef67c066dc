package redact

// Forms returns the forms value v commonly takes in transit, each at least
// MinLen bytes long, in no particular order and possibly repeated: exactly
// the patterns a Redactor registers for v with Add (see forms). Other
// packages use it to recognize a value in the same encodings the redactor
// masks, without a second list to keep in step.
func Forms(v string) []string { return forms(v) }

// FormFamilies returns the names of the kinds of forms Forms computes (raw,
// json, json-slash, percent, base64, ...), in a fixed order. The leak
// suite switches each off in turn in a probe build (see formswitch_probe.go)
// and requires one of its cases to fail.
func FormFamilies() []string {
	names := make([]string, len(formFamilies))
	for i, f := range formFamilies {
		names[i] = f.name
	}
	return names
}

// SubsumedFormFamilies returns the families every form of which, for every
// value, contains a form of another family, leaving out at most MinLen-1
// bytes: with one of them switched off the other family still masks all
// but those few bytes, so no leak case can see the difference as a whole
// form. TestSubsumedFamilies in this package proves the containment.
//
//   - base64: the full encodings contain the aligned core of alignment 0
//     (base64-cores), which lacks at most the last 3 characters.
func SubsumedFormFamilies() []string { return []string{"base64"} }

// ProbeEnvName names the environment variable that, in a build with the
// leakprobe tag only, switches off one of FormFamilies in every Redactor of
// the process (formswitch_probe.go). In any other build it does nothing.
const ProbeEnvName = "SLUICE_REDACT_DISABLE_FORM"
