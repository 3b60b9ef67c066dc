package leak_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/redact"
)

// everyFormSecrets are the values of TestLeakEveryForm: together they make
// every family of forms produce a text of its own (a quote and a backslash
// that JSON escapes, "/", non-ASCII text, the characters .NET and HTML
// escape, a space, several lines).
var everyFormSecrets = map[string]string{
	"TOKEN":   tok,
	"SPECIAL": "k\"e\\y/é+'`" + " <&>tok9-Zq7",
	"MULTI":   "line-one-abcdefgh\nline-two-ijklmnop\r\nline-3-qrstuvwx",
	"URLISH":  urlish,
}

// echoForms returns every form the checker knows of every secret that a
// remote system would send, by label.
func echoForms(s map[string]string) map[string]string {
	out := map[string]string{}
	for name, v := range s {
		for _, f := range valueForms(v) {
			if strings.Contains(f.label, "wrapped at") || strings.HasSuffix(f.label, ", JSON-escaped") {
				// A wrapped core shows only inside a wrapped stream
				// (TestLeakTransitForms echoes those); an escaped
				// entity form is how an entity form shows in stored
				// JSON, not a form a remote system sends.
				continue
			}
			out[name+": "+f.label] = f.text
		}
	}
	return out
}

// everyFormEcho answers with every form of every secret: as the fields of
// a JSON object, or as a text body for a path ending in /text.
func everyFormEcho(w http.ResponseWriter, r *http.Request, _ []byte, s map[string]string) {
	forms := echoForms(s)
	labels := slices.Sorted(func(yield func(string) bool) {
		for k := range forms {
			if !yield(k) {
				return
			}
		}
	})
	out := map[string]any{}
	var text strings.Builder
	for _, l := range labels {
		out[l] = "<" + forms[l] + ">"
		text.WriteString(forms[l] + "\n-- " + l + "\n")
	}
	if strings.HasSuffix(r.URL.Path, "/text") {
		sendText(w, text.String())
		return
	}
	sendJSON(w, http.StatusOK, out)
}

// everyFormCase is a run whose receiver echoes every form of every secret,
// once as JSON and once as text, and the check that each echo was masked.
func everyFormCase() leakCase {
	body := `"body": {"t": "{{ .secrets.TOKEN }}", "s": "{{ .secrets.SPECIAL }}", "m": "{{ .secrets.MULTI }}", "u": "{{ .secrets.URLISH }}"}`
	return leakCase{
		name: "receiver echoes every form of every secret",
		def: chain("every-form",
			hook("json", `"url": "@RCV@/json", `+body, ""),
			hook("text", `"url": "@RCV@/text", `+body, ""),
			hook("wait", `"url": "@RCV@/async", "synchronized": false, `+body, "")),
		secrets: everyFormSecrets,
		respond: everyFormEcho,
		// The remote system also posts every form as log lines, one call
		// per form and all in one call, and in its completion's output:
		// log lines are stored as text, not JSON.
		async: func(t *testing.T, d *driver) {
			nr := d.waiting("wait")
			forms := echoForms(d.s)
			var all []engine.LogLine
			for label, f := range forms {
				line := engine.LogLine{Level: "INFO", Message: "echo " + f + " (" + label + ")"}
				all = append(all, line)
				d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: []engine.LogLine{line}})
			}
			d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: all})
			// And as what a node run in progress keeps (decision 029's
			// context): its output, keys and values, its links, and its
			// log lines' tags, as an object (keys and values) and a list.
			progress := map[string]any{}
			tags := map[string]string{}
			var list []string
			for label, f := range forms {
				progress[label] = f
				progress["key "+f] = label
				tags[label] = f
				tags["tag "+f] = label
				list = append(list, f)
				d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Output: map[string]any{"echo": f}, Links: []string{"https://ci.example/" + f, f}})
			}
			d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Output: progress, Logs: []engine.LogLine{
				{Level: "INFO", Message: "tags", Tags: tags}, {Level: "INFO", Message: "tag list", TagList: list}}})
			out := map[string]any{}
			for label, f := range forms {
				out[label] = f
			}
			d.complete(nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: out})
		},
		result: "COMPLETED SUCCESS", sent: []string{"TOKEN", "SPECIAL", "MULTI", "URLISH"},
		check: func(t *testing.T, r *runOut) {
			data, _ := field(r.output(t, "json"), "response", "data").(map[string]any)
			if len(data) < 100 {
				t.Fatalf("only %d forms echoed", len(data))
			}
			for k, v := range data {
				if !masked(v) {
					t.Errorf("echo %s stored unmasked: %q", k, v)
				}
			}
		},
	}
}

// TestLeakEveryForm: every form the checker computes, of values that give
// each family of forms a text of its own, echoed by the remote system, is
// masked everywhere the run is stored or shown.
func TestLeakEveryForm(t *testing.T) {
	runCase(t, everyFormCase())
}

// TestDisablingAnyFormFails proves that the suite checks every family of
// forms the redactor registers: for each family (redact.FormFamilies), the
// suite, built with the leakprobe tag, runs TestLeakEveryForm and
// TestLeakTransitForms with that family switched off (redact.ProbeEnv), and
// at least one case must fail with a LEAK. The families whose every form
// contains another family's form (redact.SubsumedFormFamilies, proven by
// redact's TestSubsumedFamilies) cannot make a difference a checker sees
// and are run too: they must pass. A run with nothing switched off must
// pass, so the failures come from the switch. The families' runs are
// parallel subtests.
func TestDisablingAnyFormFails(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the suite once per family of forms; not with -short")
	}
	bin := probeSuite(t)
	run := func(family string) (string, bool) {
		cmd := exec.Command(bin, "-test.run", "^(TestLeakEveryForm|TestLeakTransitForms)$", "-test.count=1")
		cmd.Env = append(os.Environ(), redact.ProbeEnvName+"="+family)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err == nil
	}
	if out, ok := run(""); !ok {
		t.Fatalf("the probe suite fails with every family on:\n%s", out)
	}
	subsumed := redact.SubsumedFormFamilies()
	families := redact.FormFamilies()
	if len(families) < 10 {
		t.Fatalf("only %d families: %v", len(families), families)
	}
	for _, fam := range families {
		t.Run(fam, func(t *testing.T) {
			// Each family is a process of its own, sharing nothing with
			// the others: they run side by side (up to -test.parallel).
			t.Parallel()
			out, ok := run(fam)
			switch {
			case slices.Contains(subsumed, fam) && !ok:
				t.Errorf("family %s is said to be subsumed, yet switching it off fails the suite:\n%s", fam, out)
			case !slices.Contains(subsumed, fam) && ok:
				t.Errorf("with family %s switched off every case passes: the suite does not check it", fam)
			case !slices.Contains(subsumed, fam) && !strings.Contains(out, "LEAK"):
				t.Errorf("with family %s switched off the suite fails, but not with a LEAK:\n%s", fam, out)
			}
		})
	}
}
