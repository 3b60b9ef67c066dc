// Package credscan finds credentials written as literals in a workflow
// definition: well-known token formats (GitHub, GitLab, Slack, AWS, Google,
// Stripe, private keys, JWTs, passwords in URLs) and the values of the
// organization's own secrets, recognized from keyed fingerprints without
// decrypting them. It reports where (a JSON path), what kind, and for an
// organization secret its name; never the matched text.
//
// Only literal text is checked: the parts of a string outside its {{ }}
// expressions, since a {{ .secrets.NAME }} reference is the fix, not the
// problem.
package credscan

import (
	"fmt"
	"strings"

	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Field is one string of a definition as stored, with its JSON path.
type Field struct {
	Path string
	Text string
}

// Finding is one literal credential: where it is and what kind. For an
// organization secret, Secret is its name. It never holds the matched text.
type Finding struct {
	Path   string `json:"path"`
	Kind   Kind   `json:"kind"`
	Secret string `json:"secretName,omitempty"`
}

// Message says what was found and how to fix it, without the matched text.
// With hideName set, an organization secret is not named (for callers who
// may not see which secrets exist).
func (f Finding) Message(hideName bool) string {
	if f.Kind == KindOrgSecret {
		if hideName || f.Secret == "" {
			return "holds the value of an organization secret as literal text; reference the secret as {{ .secrets.NAME }} instead"
		}
		return fmt.Sprintf("holds the value of organization secret %s as literal text; write {{ .secrets.%s }} instead (or, if that value is no credential, such as a host name or a URL, keep it out of secrets: a secret's value is refused as literal text in every definition and masked in every run)", f.Secret, f.Secret)
	}
	return fmt.Sprintf("holds a literal %s; store it as a secret (sluice secrets set NAME) and write {{ .secrets.NAME }} instead", f.Kind)
}

// SecretMatcher tells which organization secrets' values occur in a text.
// *Index is one; nil means no organization secrets are checked.
type SecretMatcher interface {
	Secrets(text string) []string
}

// Scan checks the literal text of each field for well-known credential
// formats and, when m is not nil, for organization secrets' values. It
// returns the findings in field order: per field, format kinds first, then
// secrets, each once.
func Scan(fields []Field, m SecretMatcher) []Finding {
	var out []Finding
	for _, f := range fields {
		lits := []string{f.Text}
		if strings.Contains(f.Text, "{{") {
			if l, ok := tmpl.Literals(f.Text); ok {
				lits = l
			}
		}
		var kinds []Kind
		var names []string
		for _, lit := range lits {
			for _, k := range Formats(lit) {
				if !containsKind(kinds, k) {
					kinds = append(kinds, k)
				}
			}
			if m != nil {
				for _, n := range m.Secrets(lit) {
					if !contains(names, n) {
						names = append(names, n)
					}
				}
			}
		}
		for _, k := range kinds {
			out = append(out, Finding{Path: f.Path, Kind: k})
		}
		for _, n := range names {
			out = append(out, Finding{Path: f.Path, Kind: KindOrgSecret, Secret: n})
		}
	}
	return out
}

func containsKind(list []Kind, k Kind) bool {
	for _, v := range list {
		if v == k {
			return true
		}
	}
	return false
}

// ScanDefinition scans every string a workflow definition stores (values
// and member names, see workflow.StoredStrings). It fails only when data is
// not well-formed JSON.
func ScanDefinition(data []byte, m SecretMatcher) ([]Finding, error) {
	var fields []Field
	if err := workflow.StoredStrings(data, func(path, s string) {
		fields = append(fields, Field{Path: path, Text: s})
	}); err != nil {
		return nil, fmt.Errorf("credscan: %w", err)
	}
	return Scan(fields, m), nil
}
