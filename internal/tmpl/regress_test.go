package tmpl_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/tmpl"
)

// The commit says secret-derived keys are caught. Not when the sentinel run
// yields an array of another length: deriveParts registers values only.
func TestSecretKeysInAnotherShapeAreRegistered(t *testing.T) {
	tp, err := tmpl.Compile(`{{ .secrets.KEYS | split(",") | map({(.): true}) }}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	c := &tmpl.Context{Secrets: map[string]string{"KEYS": "key-one-0123456789,key-two-0123456789"},
		Derived: func(s string) { got = append(got, s) }}
	v, err := tp.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("value %v, registered %q", v, got)
	for _, want := range []string{"key-one-0123456789", "key-two-0123456789"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("secret-derived key %q not registered", want)
		}
	}
}

// Limits bound "one Render ... all the expressions of a Value together",
// the sentinel re-evaluation of derive included: it runs within what is left
// of the render's step budget, and what it uses is charged to the render. In
// every part below the sentinel run loops forever; were each sentinel run
// given a fresh budget, every part would end its loop at its own limit and
// the render would succeed. With one shared budget the first loop uses it
// up and the render fails with the step limit. The time limit is an hour, so
// the error cannot come from the clock.
func TestSentinelRunsCountAgainstTheRenderBudget(t *testing.T) {
	const parts = 10
	m := map[string]any{}
	for i := range parts {
		m[string(rune('a'+i))] = `{{ {s: .secrets.T, x: (if (.secrets.T | startswith("\u0000")) then (0 | until(false; . + 1)) else 0 end)} }}`
	}
	v, err := tmpl.CompileValue(m, "body")
	if err != nil {
		t.Fatal(err)
	}
	const steps = 20000
	lim := tmpl.Limits{Timeout: time.Hour, MaxSteps: steps}
	_, err = v.Render(&tmpl.Context{Secrets: map[string]string{"T": "tok-0123456789"}, Derived: func(string) {}, Limits: lim})
	want := fmt.Sprintf("exceeded the limit of %d steps", steps)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("render error = %v, want the shared step budget (%q)", err, want)
	}
}

// The fallback branch of a jq alternative gives the sentinel run another
// shape, so which parts depend on the secret is unknown: every value is
// registered (none of the secret JSON may stay readable when echoed), and the
// keys too. That masks "type" and "project_id" in this run: the documented
// price of "when in doubt, redact".
func TestFallbackShapeRegistersEverything(t *testing.T) {
	tp, err := tmpl.Compile(`{{ .secrets.SA | fromjson? // {} }}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	c := &tmpl.Context{Secrets: map[string]string{"SA": `{"type":"service_account","project_id":"acme-prod","private_key":"-----BEGIN..."}`},
		Derived: func(s string) { got = append(got, s) }}
	if _, err := tp.Render(c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"service_account", "acme-prod", "-----BEGIN...", "type", "project_id"} {
		if !slices.Contains(got, want) {
			t.Errorf("%q not registered (all: %q)", want, got)
		}
	}
}
