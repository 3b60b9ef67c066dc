package leak_test

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
)

// probeAlphabet is what the oracle attack guesses from: the bytes of the
// tokens people store.
const probeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// probeLines returns the lines of the oracle attack on v: every proper
// prefix and suffix of v, and every one-byte extension of the prefixes of
// up to 5 bytes, each as "probe <guess>", as a poster who may add log lines
// but does not know v would send them to learn v from what comes back
// masked.
func probeLines(v string) []string {
	var lines []string
	for k := 1; k < len(v); k++ {
		lines = append(lines, "probe "+v[:k], "probe "+v[k:], v[k:]+" <- probe")
		if k <= 4 {
			for i := 0; i < len(probeAlphabet); i++ {
				lines = append(lines, "probe "+v[:k]+probeAlphabet[i:i+1])
			}
		}
	}
	return lines
}

// TestLeakOracle is the oracle attack of issue 7 through the engine's log and
// completion paths: a poster sends many guesses of the start (and the end)
// of a secret and reads the node run back. Were partial matches masked, the
// line that came back masked would say how the secret starts. What is stored
// must be byte for byte what was posted.
func TestLeakOracle(t *testing.T) {
	bearer := `"headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"}`
	asyncHook := hook("deploy", `"url": "@RCV@/async", "synchronized": false, `+bearer, "")
	var posted []string
	c := leakCase{
		name:    "log-masking oracle",
		def:     chain("oracle", asyncHook),
		secrets: map[string]string{"TOKEN": tok},
		async: func(t *testing.T, d *driver) {
			nr := d.waiting("deploy")
			probes := probeLines(d.s["TOKEN"])
			var logs []engine.LogLine
			for _, p := range probes {
				logs = append(logs, engine.LogLine{Level: "INFO", Message: p})
			}
			// One call with every guess, then one call per guess.
			d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: logs})
			posted = append(posted, probes...)
			for _, p := range probes[:40] {
				d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: []engine.LogLine{{Level: "INFO", Message: p}}})
				posted = append(posted, p)
			}
			out := map[string]any{}
			for i, p := range probes {
				out[fmt.Sprintf("p%04d", i)] = p
			}
			d.complete(nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: out})
		},
		result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
		// The probes are long pieces of the secret by construction: the
		// poster wrote them, and they are stored as they were posted.
		allowFragments: true,
		check: func(t *testing.T, r *runOut) {
			logs := r.logs(t, "deploy")
			if len(logs) < len(posted) {
				t.Fatalf("%d log lines stored, want the %d posted", len(logs), len(posted))
			}
			stored := logs[len(logs)-len(posted):]
			for i := range posted {
				if stored[i] != posted[i] {
					t.Errorf("posted %q, stored %q: what is stored depends on a partial match", posted[i], stored[i])
				}
			}
			out := r.output(t, "deploy")
			for i, p := range probeLines(tok) {
				if got := field(out, fmt.Sprintf("p%04d", i)); got != p {
					t.Errorf("completion output holds %q, stored %#v", p, got)
				}
			}
		},
	}
	runCase(t, c)
}

// wrapped returns the standard base64 of data wrapped at width columns with
// eol, as PEM (64) and MIME or GNU base64 (76) write it.
func wrapped(data string, width int, eol string) string {
	e := base64.StdEncoding.EncodeToString([]byte(data))
	var b strings.Builder
	for len(e) > width {
		b.WriteString(e[:width] + eol)
		e = e[width:]
	}
	b.WriteString(e)
	return b.String()
}

// transitEchoes returns the value v as receivers echo it in the transit
// encodings of issue 7: base64 wrapped at 64 and 76 columns with "\n" and
// "\r\n", the value at every offset of the encoded stream; HTML- and
// XML-escaped by several escapers; percent-encoded with lower-case hex, in
// the query form (+ for space) and the path form.
func transitEchoes(v string) map[string]string {
	out := map[string]string{}
	for _, width := range []int{64, 76} {
		for _, eol := range []string{"\n", "\r\n"} {
			for off := 0; off < 3*width/4+3; off++ {
				out[fmt.Sprintf("b64-%d-%q-%02d", width, eol, off)] = wrapped(strings.Repeat("x", off)+v+"\n", width, eol)
			}
		}
	}
	for _, e := range entityEscapes {
		if esc := e.r.Replace(v); esc != v {
			out["html "+e.name] = "<p title=\"" + esc + "\">"
		}
	}
	out["html stdlib"] = html.EscapeString(v)
	out["query lower"] = lowerHex(url.QueryEscape(v))
	out["path lower"] = lowerHex(url.PathEscape(v))
	return out
}

// TestLeakTransitForms: a receiver echoes secrets in the transit encodings
// of issue 7, in its response and in log lines posted to a waiting node; the
// harness checks that no form of them (wrapped base64 at any offset, HTML
// entities, lower-case percent-encoding) is stored or shown anywhere.
func TestLeakTransitForms(t *testing.T) {
	secrets := map[string]string{"TOKEN": tok, "SPECIAL": special, "URLISH": urlish, "HTMLISH": `k<3y>&"tok'en-9Zq`}
	body := `"body": {"t": "{{ .secrets.TOKEN }}", "s": "{{ .secrets.SPECIAL }}", "u": "{{ .secrets.URLISH }}", "h": "{{ .secrets.HTMLISH }}"}`
	echo := func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
		out := map[string]any{}
		for name, v := range s {
			for k, e := range transitEchoes(v) {
				out[name+" "+k] = e
			}
		}
		sendJSON(w, http.StatusOK, out)
	}
	cs := []leakCase{
		{
			name:    "receiver echoes wrapped base64, HTML entities, lower-case percent-encoding",
			def:     chain("transit-echo", hook("call", `"url": "@RCV@/echo", `+body, "")),
			secrets: secrets,
			respond: echo,
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN", "SPECIAL", "URLISH", "HTMLISH"},
			check: func(t *testing.T, r *runOut) {
				data, _ := field(r.output(t, "call"), "response", "data").(map[string]any)
				if len(data) == 0 {
					t.Fatalf("no echo stored: %v", r.output(t, "call"))
				}
				for k, v := range data {
					if !masked(v) {
						t.Errorf("echo %s stored unmasked: %q", k, v)
					}
				}
			},
		},
		{
			name:    "posted log lines carry wrapped base64 and escaped forms",
			def:     chain("transit-logs", hook("deploy", `"url": "@RCV@/async", "synchronized": false, `+body, "")),
			secrets: secrets,
			async: func(t *testing.T, d *driver) {
				nr := d.waiting("deploy")
				for name, v := range d.s {
					var logs []engine.LogLine
					for k, e := range transitEchoes(v) {
						// A wrapped block is posted as one line per
						// line of base64, all in one call.
						for _, l := range strings.Split(e, "\n") {
							logs = append(logs, engine.LogLine{Level: "INFO", Message: l})
						}
						logs = append(logs, engine.LogLine{Level: "INFO", Message: "end of " + name + " " + k})
					}
					d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: logs})
				}
				d.complete(nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"ok": true}})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN", "SPECIAL", "URLISH", "HTMLISH"},
			check: func(t *testing.T, r *runOut) { wantLog(t, r, "deploy", "***") },
		},
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c)
		})
	}
}
