package credscan

import (
	"strings"
	"testing"
)

// The message of a finding names the path's fix and, for an organization
// secret, the way out when its value is no credential (a host in a secret
// makes every definition with that host a finding); never a hidden name.
func TestFindingMessage(t *testing.T) {
	tests := []struct {
		name     string
		f        Finding
		hideName bool
		want     []string
		not      []string
	}{
		{"org secret", Finding{Kind: KindOrgSecret, Secret: "HOOK_HOST"}, false,
			[]string{"organization secret HOOK_HOST", "write {{ .secrets.HOOK_HOST }} instead", "if that value is no credential", "keep it out of secrets"}, nil},
		{"org secret, name hidden", Finding{Kind: KindOrgSecret, Secret: "HOOK_HOST"}, true,
			[]string{"{{ .secrets.NAME }}"}, []string{"HOOK_HOST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.f.Message(tc.hideName)
			for _, w := range tc.want {
				if !strings.Contains(m, w) {
					t.Errorf("%q lacks %q", m, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(m, w) {
					t.Errorf("%q holds %q", m, w)
				}
			}
		})
	}
}
