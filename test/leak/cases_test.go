package leak_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
)

// Secret values shared by the cases. None is a real credential.
const (
	tok    = "tok-4Fq9Zx2Lm7Pw8Rs"  // 19 bytes
	digits = "481739265018374"      // echoed back as a JSON number
	host   = "db-7f3k9q2m-internal" // a DNS label
	user   = "svc-deployer"
	pass   = "pw-Hx8#Vq2!Lm5z"
	inner  = "inner-Zq81Lx0p"
	outer  = "outer-" + inner + "-tail-77Hk"
	// long is longer than the 30-byte previews of values in jq messages.
	long = "sk-live-9hQ2xZ7kLm4Pw8Rs3Tv6Yb1Nc5Dg0Jf"
	// hname is already in canonical header form, so it survives as a
	// response header name.
	hname = "Xk7tokenq9qz-Zp4m"
	// special needs JSON escaping (quotes, backslash, <, >, &, U+2028) and
	// holds non-ASCII text.
	special = "q\"uo\\te<tag>&amp;é☃\u2028end"
	// urlish needs URL escaping in both forms.
	urlish = "p@ss w/rd&x=1?#%+é"
	// urlsafe encodes to base64 with + and / (- and _ in base64url).
	urlsafe = "url~~~safe???>>>"
)

// trig is a self-serve trigger with one free-text input.
const trig = `{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"note": {"type": "string"}}}}}`

// chain returns a workflow whose nodes run one after the other, after trig.
func chain(id string, nodes ...string) string {
	ids := []string{"trigger"}
	for _, n := range nodes {
		var x struct{ Identifier string }
		if err := json.Unmarshal([]byte(n), &x); err != nil {
			panic(fmt.Sprintf("node %s: %v", n, err))
		}
		ids = append(ids, x.Identifier)
	}
	var conns []string
	for i := 0; i+1 < len(ids); i++ {
		conns = append(conns, fmt.Sprintf(`{"sourceIdentifier": %q, "targetIdentifier": %q}`, ids[i], ids[i+1]))
	}
	return fmt.Sprintf(`{"identifier": %q, "nodes": [%s, %s], "connections": [%s]}`,
		id, trig, strings.Join(nodes, ", "), strings.Join(conns, ", "))
}

// hook returns a WEBHOOK node; config holds the config fields after type,
// extra the node fields after config (verbose, variables, links).
func hook(id, config, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf(`{"identifier": %q, "config": {"type": "WEBHOOK", %s}%s}`, id, config, extra)
}

// responder is a receiver behaviour.
type responder = func(w http.ResponseWriter, r *http.Request, body []byte, s map[string]string)

// sendJSON answers status with v as JSON.
func sendJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// sendText answers 200 with text/plain.
func sendText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(text))
}

// echoJSON answers 200 with the JSON that f builds from the secrets.
func echoJSON(f func(s map[string]string) any) responder {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
		sendJSON(w, http.StatusOK, f(s))
	}
}

// echoHeader answers 200 {"echo": <the request header name>}.
func echoHeader(name string) responder {
	return func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
		sendJSON(w, http.StatusOK, map[string]any{"echo": r.Header.Get(name)})
	}
}

// echoBody answers 200 with the request body, as JSON.
func echoBody(w http.ResponseWriter, _ *http.Request, body []byte, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// encodings answers every common encoding of the secret named name.
func encodings(name string) responder {
	return echoJSON(func(s map[string]string) any {
		v := s[name]
		b64 := base64.StdEncoding.EncodeToString
		return map[string]any{
			"std":      b64([]byte(v)),
			"newline":  b64([]byte(v + "\n")), // echo "$V" | base64
			"unpadded": base64.RawStdEncoding.EncodeToString([]byte(v)),
			"basic":    b64([]byte("user:" + v)),
			"colon":    b64([]byte(v + ":")),
			"doc":      b64([]byte(`{"key":"` + v + `"}`)),
		}
	})
}

// byPath picks a responder by the request's path prefix.
func byPath(routes map[string]responder) responder {
	return func(w http.ResponseWriter, r *http.Request, body []byte, s map[string]string) {
		best := ""
		for p := range routes {
			if strings.HasPrefix(r.URL.Path, p) && len(p) > len(best) {
				best = p
			}
		}
		if f, ok := routes[best]; ok {
			f(w, r, body, s)
			return
		}
		sendJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
}

// allMasked fails unless every value at keys of node's response data holds
// the mask.
func allMasked(t *testing.T, r *runOut, nodeID string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		wantMasked(t, r, nodeID, "response", "data", k)
	}
}

// pemKey returns a fresh RSA private key in PEM, the kind of multi-line
// secret people store.
func pemKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// bulkSecrets returns n secrets BULK000... with distinct, deterministic
// values.
func bulkSecrets(n int) map[string]string {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make(map[string]string, n)
	for i := range n {
		r := mrand.New(mrand.NewPCG(42, uint64(i)))
		b := make([]byte, 12)
		for j := range b {
			b[j] = alnum[r.IntN(len(alnum))]
		}
		out[fmt.Sprintf("BULK%03d", i)] = fmt.Sprintf("bulk-%03d-%s", i, b)
	}
	return out
}

// cases returns the adversarial cases that must pass. pemValue is a PEM
// private key.
func cases(pemValue string) []leakCase {
	bulk := bulkSecrets(100)
	var bulkBody []string
	for name := range bulk {
		bulkBody = append(bulkBody, fmt.Sprintf(`%q: "{{ .secrets.%s }}"`, strings.ToLower(name), name))
	}
	slices.Sort(bulkBody)
	bearer := `"headers": {"Authorization": "Bearer {{ .secrets.TOKEN }}"}`
	asyncHook := hook("deploy", `"url": "@RCV@/async", "synchronized": false, `+bearer, "")

	return []leakCase{
		// Echoes in the response body.
		{
			name:    "echo in a JSON field",
			def:     chain("echo-field", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				sendJSON(w, 200, map[string]any{"echo": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "echo") },
		},
		{
			name:    "echo nested deep in objects and arrays",
			def:     chain("echo-nested", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{map[string]any{"d": s["TOKEN"]}}}}}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data", "a", "b", "c", 0, "d") },
		},
		{
			name:    "echo in an array among other values",
			def:     chain("echo-array", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{"items": []any{s["TOKEN"], "plain-item", "prefix " + s["TOKEN"] + " suffix"}}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantMasked(t, r, "call", "response", "data", "items", 0)
				wantMasked(t, r, "call", "response", "data", "items", 2)
				if got := field(r.output(t, "call"), "response", "data", "items", 1); got != "plain-item" {
					t.Errorf("items[1] = %v, want it kept", got)
				}
			},
		},
		{
			name:    "echo as a JSON object key",
			def:     chain("echo-key", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{s["TOKEN"]: "value-under-secret-key", "other": 1}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				data, _ := field(r.output(t, "call"), "response", "data").(map[string]any)
				if data["***"] != "value-under-secret-key" {
					t.Errorf("data = %v, want the key masked and its value kept", data)
				}
			},
		},
		{
			name:    "echo of a digits secret as a JSON number",
			def:     chain("echo-number", hook("call", `"url": "@RCV@/echo", "headers": {"X-Pin": "{{ .secrets.PIN }}"}`, "")),
			secrets: map[string]string{"PIN": digits},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"n": %s, "list": [%s, 7]}`, r.Header.Get("X-Pin"), r.Header.Get("X-Pin"))
			},
			result: "COMPLETED SUCCESS", sent: []string{"PIN"},
			check: func(t *testing.T, r *runOut) {
				wantMasked(t, r, "call", "response", "data", "n")
				wantMasked(t, r, "call", "response", "data", "list", 0)
				if got := field(r.output(t, "call"), "response", "data", "list", 1); got != float64(7) {
					t.Errorf("list[1] = %v, want the number 7 kept", got)
				}
			},
		},
		{
			name:    "echo in a text body",
			def:     chain("echo-text", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, s map[string]string) {
				sendText(w, "your token is "+s["TOKEN"]+", keep it safe\n")
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data") },
		},
		{
			name:    "echo in JSON with every character \\u-escaped",
			def:     chain("echo-uescape", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, s map[string]string) {
				var b strings.Builder
				for _, c := range s["TOKEN"] {
					fmt.Fprintf(&b, `\u%04x`, c)
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"echo": "%s"}`, b.String())
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "echo") },
		},
		{
			name:    "echo in response headers",
			def:     chain("echo-headers", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, s map[string]string) {
				v := s["TOKEN"]
				w.Header().Set("X-Echo-Token", v)
				w.Header().Add("Set-Cookie", "session="+v+"; Path=/; HttpOnly")
				w.Header().Add("Set-Cookie", "theme=dark")
				w.Header().Set("Link", "<https://api.example.com/next?t="+url.QueryEscape(v)+">; rel=next")
				sendJSON(w, 200, map[string]any{"ok": true})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				for _, h := range []string{"X-Echo-Token", "Set-Cookie", "Link"} {
					wantMasked(t, r, "call", "response", "headers", h)
				}
				if c, _ := field(r.output(t, "call"), "response", "headers", "Set-Cookie").(string); !strings.Contains(c, "theme=dark") {
					t.Errorf("Set-Cookie = %q, want the other cookie kept", c)
				}
			},
		},
		{
			name:    "secret as a response header name",
			def:     chain("echo-header-name", hook("call", `"url": "@RCV@/echo", "headers": {"X-Name": "{{ .secrets.HNAME }}"}`, "")),
			secrets: map[string]string{"HNAME": hname},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				w.Header()[r.Header.Get("X-Name")] = []string{"present"}
				sendJSON(w, 200, map[string]any{"ok": true})
			},
			result: "COMPLETED SUCCESS", sent: []string{"HNAME"},
			check: func(t *testing.T, r *runOut) {
				hs, _ := field(r.output(t, "call"), "response", "headers").(map[string]any)
				if hs["***"] != "present" {
					t.Errorf("headers = %v, want the name masked", hs)
				}
			},
		},

		// Redirects and transport errors.
		{
			name:    "302 whose Location holds the secret, then an echo of the path",
			def:     chain("redirect", hook("call", `"url": "@RCV@/start", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: byPath(map[string]responder{
				"/start": func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
					v := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
					w.Header().Set("Location", "/landing/"+url.PathEscape(v)+"?t="+url.QueryEscape(v))
					w.WriteHeader(http.StatusFound)
				},
				"/landing/": func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
					sendJSON(w, 200, map[string]any{"path": r.URL.Path, "rawQuery": r.URL.RawQuery, "uri": r.RequestURI})
				},
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "path", "rawQuery", "uri")
				if len(r.reqs) != 2 {
					t.Errorf("receiver got %d requests, want the redirect followed", len(r.reqs))
				}
			},
		},
		{
			name:    "redirect loop through URLs holding the secret",
			def:     chain("redirect-loop", hook("call", `"url": "@RCV@/loop?t={{ .secrets.TOKEN }}"`, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				w.Header().Set("Location", r.RequestURI)
				w.WriteHeader(http.StatusFound)
			},
			result: "COMPLETED FAILED", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "redirects")
				if len(r.reqs) < 10 {
					t.Errorf("receiver got %d requests, want a loop", len(r.reqs))
				}
			},
		},
		{
			name:    "redirect to a host named by the secret is another origin, not followed",
			def:     chain("redirect-dns", hook("call", `"url": "@RCV@/go", "headers": {"X-Host": "{{ .secrets.HOST }}"}`, `"verbose": true`)),
			secrets: map[string]string{"HOST": host},
			dnsFail: true,
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				w.Header().Set("Location", "http://"+r.Header.Get("X-Host")+".invalid/x")
				w.WriteHeader(http.StatusTemporaryRedirect)
			},
			result: "COMPLETED FAILED", sent: []string{"HOST"},
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "redirected to another origin; not followed")
				if len(r.dns) != 0 {
					t.Errorf("the redirect's host was looked up: %d DNS queries", len(r.dns))
				}
			},
		},
		{
			name:    "DNS failure for a host that is the secret",
			def:     chain("dns", hook("call", `"url": "http://{{ .secrets.HOST }}.invalid/hook?k={{ .secrets.TOKEN }}"`, `"verbose": true`)),
			secrets: map[string]string{"HOST": host, "TOKEN": tok},
			dnsFail: true,
			result:  "COMPLETED FAILED", sent: []string{"HOST"},
			check: func(t *testing.T, r *runOut) { wantFailed(t, r, "call", "DNS lookup failed: no such host") },
		},
		{
			name:    "TLS failure with the secret in path and query",
			def:     chain("tls", hook("call", `"url": "@TLS@/{{ .secrets.TOKEN }}/x?k={{ .secrets.TOKEN }}", `+bearer, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			result:  "COMPLETED FAILED",
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "TLS handshake failed", "unknown authority")
			},
		},
		{
			name:    "URL with the secret as userinfo password",
			def:     chain("userinfo", hook("call", `"url": "http://user:{{ .secrets.PASS | @uri }}@@RCVHOST@/echo"`, `"verbose": true`)),
			secrets: map[string]string{"PASS": pass},
			respond: echoHeader("Authorization"),
			result:  "COMPLETED SUCCESS", sent: []string{"PASS"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "echo")
				wantLog(t, r, "call", "POST http://user:xxxxx@")
			},
		},
		{
			name:    "connection refused to a URL whose query holds the secret",
			def:     chain("refused", hook("call", `"url": "http://@REFUSED@/hook?token={{ .secrets.TOKEN }}&u={{ .secrets.TOKEN | @uri }}"`, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			result:  "COMPLETED FAILED",
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "connection refused")
				// The whole URL is a value derived from the secret: masked whole.
				wantLog(t, r, "call", "POST ***")
			},
		},
		{
			name:    "500 answer echoing the secret, verbose",
			def:     chain("status-500", hook("call", `"url": "@RCV@/fail", `+bearer, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, s map[string]string) {
				sendJSON(w, 500, map[string]any{"error": "token " + s["TOKEN"] + " is revoked"})
			},
			result: "COMPLETED FAILED", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "500")
				wantLog(t, r, "call", "response body", "***")
			},
		},

		// Encoded echoes.
		{
			name:    "base64 echoes, secret length ≡ 0 mod 3",
			def:     chain("b64-0", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.B64 }}"}`, "")),
			secrets: map[string]string{"B64": "b64-len18-Qz7Wx9Lp"},
			respond: encodings("B64"),
			result:  "COMPLETED SUCCESS", sent: []string{"B64"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "std", "newline", "unpadded", "basic", "colon", "doc")
			},
		},
		{
			name:    "base64 echoes, secret length ≡ 1 mod 3",
			def:     chain("b64-1", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.B64 }}"}`, "")),
			secrets: map[string]string{"B64": "b64-len19-Qz7Wx9Lp1"},
			respond: encodings("B64"),
			result:  "COMPLETED SUCCESS", sent: []string{"B64"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "std", "newline", "unpadded", "basic", "colon", "doc")
			},
		},
		{
			name:    "base64 echoes, secret length ≡ 2 mod 3",
			def:     chain("b64-2", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.B64 }}"}`, "")),
			secrets: map[string]string{"B64": "b64-len20-Qz7Wx9Lp12"},
			respond: encodings("B64"),
			result:  "COMPLETED SUCCESS", sent: []string{"B64"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "std", "newline", "unpadded", "basic", "colon", "doc")
			},
		},
		{
			name:    "base64url echoes",
			def:     chain("b64url", hook("call", `"url": "@RCV@/echo", "body": {"k": "{{ .secrets.URLSAFE }}"}`, "")),
			secrets: map[string]string{"URLSAFE": urlsafe},
			respond: echoJSON(func(s map[string]string) any {
				v := []byte(s["URLSAFE"])
				return map[string]any{
					"url":   base64.URLEncoding.EncodeToString(v),
					"raw":   base64.RawURLEncoding.EncodeToString(v),
					"std":   base64.StdEncoding.EncodeToString(v),
					"basic": base64.URLEncoding.EncodeToString(append([]byte("u:"), v...)),
				}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"URLSAFE"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "url", "raw", "std", "basic")
			},
		},
		{
			name:    "hex echoes",
			def:     chain("hex", hook("call", `"url": "@RCV@/echo", `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any {
				h := hex.EncodeToString([]byte(s["TOKEN"]))
				return map[string]any{"hex": h, "HEX": strings.ToUpper(h), "prefixed": "0x" + h}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "hex", "HEX", "prefixed") },
		},
		{
			name:    "URL-encoded echoes",
			def:     chain("urlenc", hook("call", `"url": "@RCV@/echo", "body": {"pass": "{{ .secrets.URLISH }}"}`, "")),
			secrets: map[string]string{"URLISH": urlish},
			respond: echoJSON(func(s map[string]string) any {
				v := s["URLISH"]
				return map[string]any{"query": url.QueryEscape(v), "path": url.PathEscape(v), "form": "user=bob&pass=" + url.QueryEscape(v)}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"URLISH"},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "query", "path", "form") },
		},
		{
			name: "JSON-escaped echoes of a secret with quotes, backslash, <, >, & and unicode",
			def: chain("jsonesc",
				hook("text", `"url": "@RCV@/text", "body": {"v": "{{ .secrets.SPECIAL }}"}`, `"verbose": true`),
				hook("json", `"url": "@RCV@/json", "body": {"v": "{{ .secrets.SPECIAL }}"}`, `"verbose": true`)),
			secrets: map[string]string{"SPECIAL": special},
			respond: byPath(map[string]responder{
				"/text": func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
					sendText(w, "html="+jsonInner(s["SPECIAL"], true)+"\nplain="+jsonInner(s["SPECIAL"], false)+"\n")
				},
				"/json": echoBody,
			}),
			result: "COMPLETED SUCCESS", sent: []string{"SPECIAL"},
			check: func(t *testing.T, r *runOut) {
				data, _ := field(r.output(t, "text"), "response", "data").(string)
				if strings.Count(data, "***") != 2 {
					t.Errorf("text echo = %q, want both escaped forms masked", data)
				}
				allMasked(t, r, "json", "v")
			},
		},

		// Values derived by templates.
		{
			name:    "derived by @base64 and by reversing, echoed",
			def:     chain("derived-b64", hook("call", `"url": "@RCV@/echo", "headers": {"X-B64": "{{ .secrets.TOKEN | @base64 }}", "X-Rev": "{{ .secrets.TOKEN | explode | reverse | implode }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			derived: func(s map[string]string) []string {
				return []string{base64.StdEncoding.EncodeToString([]byte(s["TOKEN"])), reverse(s["TOKEN"])}
			},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				sendJSON(w, 200, map[string]any{"b64": r.Header.Get("X-B64"), "rev": r.Header.Get("X-Rev")})
			},
			result: "COMPLETED SUCCESS", sent: []string{"=" + reverse(tok)},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "b64", "rev") },
		},
		{
			name:    "derived by ascii_upcase and ascii_downcase, echoed",
			def:     chain("derived-case", hook("call", `"url": "@RCV@/echo", "body": {"up": "{{ .secrets.TOKEN | ascii_upcase }}", "down": "{{ .secrets.TOKEN | ascii_downcase }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			derived: func(s map[string]string) []string {
				return []string{strings.ToUpper(s["TOKEN"]), strings.ToLower(s["TOKEN"])}
			},
			respond: echoBody,
			result:  "COMPLETED SUCCESS", sent: []string{"=" + strings.ToUpper(tok)},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "up", "down") },
		},
		{
			// Review finding: only the whole object's JSON used to be
			// registered, so the one field echoed back stayed readable.
			name:    "derived inside an object result, one field echoed",
			def:     chain("derived-object", hook("call", `"url": "@RCV@/echo", "body": {"auth": "{{ {token: (.secrets.TOKEN | ascii_downcase), user: \"bob\"} }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			derived: func(s map[string]string) []string { return []string{strings.ToLower(s["TOKEN"])} },
			respond: echoBody,
			result:  "COMPLETED SUCCESS", sent: []string{"=" + strings.ToLower(tok)},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data", "auth", "token") },
		},
		{
			name:    `derived "U:P" concatenation, echoed`,
			def:     chain("derived-concat", hook("call", `"url": "@RCV@/echo", "body": {"cred": "{{ .secrets.USER }}:{{ .secrets.PASS }}"}`, "")),
			secrets: map[string]string{"USER": user, "PASS": pass},
			derived: func(s map[string]string) []string { return []string{s["USER"] + ":" + s["PASS"]} },
			respond: func(w http.ResponseWriter, _ *http.Request, body []byte, _ map[string]string) {
				var in map[string]string
				json.Unmarshal(body, &in)
				sendText(w, "you sent credentials "+in["cred"]+" from a trusted host")
			},
			result: "COMPLETED SUCCESS", sent: []string{"=" + user + ":" + pass},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data") },
		},
		{
			name:    "Basic auth header built by a template, echoed",
			def:     chain("derived-basic", hook("call", `"url": "@RCV@/echo", "headers": {"Authorization": "Basic {{ (.secrets.USER + \":\" + .secrets.PASS) | @base64 }}"}`, "")),
			secrets: map[string]string{"USER": user, "PASS": pass},
			derived: func(s map[string]string) []string {
				return []string{base64.StdEncoding.EncodeToString([]byte(s["USER"] + ":" + s["PASS"]))}
			},
			respond: echoHeader("Authorization"),
			result:  "COMPLETED SUCCESS", sent: []string{"=" + user + ":" + pass},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "echo") },
		},
		{
			name:    "template error over a secret (tonumber) withholds jq's message",
			def:     chain("tmpl-err", hook("call", `"url": "@RCV@/echo", "headers": {"X-N": "{{ .secrets.TOKEN | tonumber }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			result:  "COMPLETED FAILED",
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "call", "withheld")
				if len(r.reqs) != 0 {
					t.Errorf("the request was sent despite the template error")
				}
			},
		},
		{
			name:    "template raising the secret as a jq error",
			def:     chain("tmpl-error-fn", hook("call", `"url": "@RCV@/echo", "headers": {"X-N": "{{ .secrets.TOKEN | error }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			result:  "COMPLETED FAILED",
			check:   func(t *testing.T, r *runOut) { wantFailed(t, r, "call", "withheld") },
		},

		// Logs and completions from outside.
		{
			// Split across lines of one call: the call's lines are matched
			// as one text, so both parts are masked, whatever their length.
			// Split across two calls, both parts would stay as posted (see
			// docs/secrets.md, Known limits): masking a part alone is the
			// oracle of oracle_test.go.
			name:    "secret split across log lines of one call",
			def:     chain("split-logs", asyncHook),
			secrets: map[string]string{"TOKEN": tok},
			async: func(t *testing.T, d *driver) {
				v := d.s["TOKEN"]
				nr := d.waiting("deploy")
				for _, k := range []int{1, 2, 4, len(v) / 2, len(v) - 4, len(v) - 2, len(v) - 1} {
					d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: []engine.LogLine{
						{Level: "INFO", Message: "token part one: " + v[:k]}, {Level: "INFO", Message: v[k:] + " <- part two"}}})
				}
				d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: []engine.LogLine{
					{Level: "INFO", Message: "same write: " + v[:7]}, {Level: "INFO", Message: v[7:15]}, {Level: "INFO", Message: v[15:] + " done"}}})
				d.complete(nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{"ok": true}})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				logs := r.logs(t, "deploy")
				n := 0
				for _, l := range logs {
					if strings.Contains(l, "part two") {
						n++
					}
				}
				if n != 7 {
					t.Errorf("stored %d second halves, want 7; logs %q", n, logs)
				}
				for _, l := range logs {
					if strings.Contains(l, "part") && l != "token part one: ***" && l != "*** <- part two" {
						t.Errorf("stored %q, want both parts masked", l)
					}
				}
			},
		},
		{
			name:    "logs posted with the secret and its encodings",
			def:     chain("posted-logs", asyncHook),
			secrets: map[string]string{"TOKEN": tok},
			async: func(t *testing.T, d *driver) {
				v := d.s["TOKEN"]
				nr := d.waiting("deploy")
				d.complete(nr, engine.Completion{Status: "IN_PROGRESS", Logs: []engine.LogLine{
					{Level: "INFO", Message: "using token " + v},
					{Level: "DEBUG", Message: "auth: Basic " + base64.StdEncoding.EncodeToString([]byte("ci:"+v))},
					{Level: "WARN", Message: "hex " + hex.EncodeToString([]byte(v))},
					{Level: "ERROR", Message: `{"token":"` + v + `","q":"` + url.QueryEscape(v) + `"}`},
				}})
				d.complete(nr, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Logs: []engine.LogLine{{Message: "done with " + v}}})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				logs := r.logs(t, "deploy")
				if len(logs) < 5 {
					t.Fatalf("logs = %q, want the 5 posted lines", logs)
				}
				for _, l := range logs[len(logs)-5:] {
					if !strings.Contains(l, "***") {
						t.Errorf("posted line %q holds no mask", l)
					}
				}
			},
		},
		{
			name:    "completion output echoing the secret",
			def:     chain("completion-output", asyncHook),
			secrets: map[string]string{"TOKEN": tok},
			async: func(t *testing.T, d *driver) {
				v := d.s["TOKEN"]
				d.complete(d.waiting("deploy"), engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
					Output: map[string]any{"echo": v, "nested": map[string]any{"k": []any{v, "kept"}}, v: "key"}})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				out := r.output(t, "deploy")
				if !masked(field(out, "echo")) || !masked(field(out, "nested", "k", 0)) || field(out, "***") != "key" {
					t.Errorf("output = %v, want every echo masked", out)
				}
				if field(out, "nested", "k", 1) != "kept" {
					t.Errorf("output = %v, want the plain value kept", out)
				}
			},
		},
		{
			name:    "completion FAILED with the secret in its error message",
			def:     chain("completion-failed", asyncHook),
			secrets: map[string]string{"TOKEN": tok},
			async: func(t *testing.T, d *driver) {
				d.complete(d.waiting("deploy"), engine.Completion{Status: "COMPLETED", Result: "FAILED",
					Output: map[string]any{"error": map[string]any{"message": "deploy refused token " + d.s["TOKEN"]}}})
			},
			result: "COMPLETED FAILED", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) { wantFailed(t, r, "deploy", "deploy refused token ***") },
		},

		// Multi-line values.
		{
			name:    "PEM private key echoed whole, verbose",
			def:     chain("pem-whole", hook("call", `"url": "@RCV@/echo", "body": {"key": "{{ .secrets.PEM }}"}`, `"verbose": true`)),
			secrets: map[string]string{"PEM": pemValue},
			respond: func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
				sendText(w, "stored key:\n"+s["PEM"])
			},
			result: "COMPLETED SUCCESS", sent: []string{"PEM"},
			check: func(t *testing.T, r *runOut) {
				wantMasked(t, r, "call", "response", "data")
				wantLog(t, r, "call", "request body", "***")
			},
		},
		{
			name:    "PEM private key echoed line by line",
			def:     chain("pem-lines", hook("call", `"url": "@RCV@/echo", "body": {"key": "{{ .secrets.PEM }}"}`, "")),
			secrets: map[string]string{"PEM": pemValue},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{"lines": strings.Split(s["PEM"], "\n")}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"PEM"},
			check: func(t *testing.T, r *runOut) {
				lines, _ := field(r.output(t, "call"), "response", "data", "lines").([]any)
				if len(lines) < 5 {
					t.Fatalf("lines = %v", lines)
				}
				for i, l := range lines {
					if s, _ := l.(string); len(s) >= minLine && s != "***" {
						t.Errorf("line %d = %q, want it masked", i, s)
					}
				}
			},
		},
		{
			name:    "PEM private key echoed with CRLF line endings",
			def:     chain("pem-crlf", hook("call", `"url": "@RCV@/echo", "body": {"key": "{{ .secrets.PEM }}"}`, `"verbose": true`)),
			secrets: map[string]string{"PEM": pemValue},
			respond: func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
				sendText(w, strings.ReplaceAll(s["PEM"], "\n", "\r\n"))
			},
			result: "COMPLETED SUCCESS", sent: []string{"PEM"},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data") },
		},

		// Many secrets.
		{
			name:    "two secrets where one contains the other",
			def:     chain("nested-secrets", hook("call", `"url": "@RCV@/echo", "body": {"i": "{{ .secrets.INNER }}", "o": "{{ .secrets.OUTER }}"}`, `"verbose": true`)),
			secrets: map[string]string{"INNER": inner, "OUTER": outer},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{"outer": s["OUTER"], "inner": s["INNER"], "both": s["INNER"] + s["OUTER"] + s["INNER"], "overlap": s["OUTER"][:20] + s["OUTER"]}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"INNER", "OUTER"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "outer", "inner", "both", "overlap")
				for _, piece := range []string{"tail-77Hk", "outer-inner"} {
					if strings.Contains(string(r.json), piece) {
						t.Errorf("run JSON holds %q, a piece of the outer secret", piece)
					}
				}
			},
		},
		{
			name:    "100 secrets at once, all echoed",
			def:     chain("bulk", hook("call", `"url": "@RCV@/echo", "body": {`+strings.Join(bulkBody, ", ")+`}`, `"verbose": true`)),
			secrets: bulk,
			respond: echoBody,
			result:  "COMPLETED SUCCESS", sent: []string{"BULK000", "BULK042", "BULK099"},
			check: func(t *testing.T, r *runOut) {
				data, _ := field(r.output(t, "call"), "response", "data").(map[string]any)
				if len(data) != 100 {
					t.Fatalf("echoed %d fields, want 100", len(data))
				}
				for k, v := range data {
					if v != "***" {
						t.Errorf("%s = %v, want the mask", k, v)
					}
				}
			},
		},

		// Secrets arriving through other doors.
		{
			name:    "secret typed into a trigger input",
			def:     chain("input", hook("call", `"url": "@RCV@/echo", "body": {"note": "{{ .outputs.trigger.note }}"}, `+bearer, "")),
			secrets: map[string]string{"TOKEN": tok},
			inputs:  map[string]any{"note": "my token is " + tok},
			respond: echoBody,
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				if n := field(r.output(t, "trigger"), "note"); n != "my token is ***" {
					t.Errorf("trigger output note = %v, want it masked", n)
				}
				allMasked(t, r, "call", "note")
				if strings.Contains(string(r.reqs[0].Body), tok) {
					t.Errorf("the masked input was sent on with the secret in it")
				}
			},
		},
		{
			name:    "verbose webhook logs request and response bodies",
			def:     chain("verbose", hook("call", `"url": "@RCV@/echo?k={{ .secrets.TOKEN }}", "body": {"token": "{{ .secrets.TOKEN }}", "list": ["{{ .secrets.TOKEN }}"]}, `+bearer, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoBody,
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantLog(t, r, "call", "request body", "***")
				wantLog(t, r, "call", "response body", "***")
				wantLog(t, r, "call", "POST ***")
			},
		},
		{
			name: "variables reading the echoed response",
			def: chain("variables", hook("call", `"url": "@RCV@/echo", `+bearer, `"variables": {"echo": "{{ .result.response.data.echo }}", "wrapped": "got {{ .result.response.data.echo }}!", "obj": "{{ .result.response.data }}", "status": "{{ .result.response.status }}"}`),
				hook("next", `"url": "@RCV@/next", "body": {"v": "{{ .outputs.call.echo }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: byPath(map[string]responder{"/echo": echoJSON(func(s map[string]string) any { return map[string]any{"echo": s["TOKEN"]} })}),
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				out := r.output(t, "call")
				if field(out, "echo") != "***" || field(out, "wrapped") != "got ***!" || field(out, "obj", "echo") != "***" || field(out, "status") != float64(200) {
					t.Errorf("variables = %v", out)
				}
				if last := r.reqs[len(r.reqs)-1]; !strings.Contains(string(last.Body), `"***"`) {
					t.Errorf("next node sent %s, want the masked variable", last.Body)
				}
			},
		},
		{
			name:    "links built from an echoed value",
			def:     chain("links", hook("call", `"url": "@RCV@/echo", `+bearer, `"links": ["https://ci.example.com/runs/{{ .result.response.data.id }}", "https://ci.example.com/?t={{ .result.response.data.id | @uri }}", "https://ci.example.com/{{ .result.response.data.id | @base64 }}"]`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any { return map[string]any{"id": s["TOKEN"]} }),
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				// Links render over the redacted result, so what they
				// encode is the mask itself.
				links := r.nodeRun(t, "call").Links
				want := []string{"https://ci.example.com/runs/***", "https://ci.example.com/?t=%2A%2A%2A", "https://ci.example.com/Kioq"}
				if strings.Join(links, " ") != strings.Join(want, " ") {
					t.Errorf("links = %q, want %q", links, want)
				}
			},
		},
		{
			name: "onFailure continue: an error message holding the echo is sent onward",
			def: chain("continue",
				hook("bad", `"url": "@RCV@/echo", "onFailure": "continue", `+bearer, `"variables": {"x": "{{ .result.response.data.echo | error }}"}`),
				hook("report", `"url": "@RCV@/report", "body": {"err": "{{ .outputs.bad.error.message }}"}`, "")),
			secrets: map[string]string{"TOKEN": tok},
			respond: byPath(map[string]responder{"/echo": echoJSON(func(s map[string]string) any { return map[string]any{"echo": "rejected " + s["TOKEN"]} })}),
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantFailed(t, r, "bad", "***")
				last := r.reqs[len(r.reqs)-1]
				if !strings.HasPrefix(last.URI, "/report") || !strings.Contains(string(last.Body), "***") || strings.Contains(last.dump(), tok) {
					t.Errorf("report got %s %s, want the masked message", last.URI, last.Body)
				}
			},
		},
		{
			name: "CONDITION routing on an output that holds a masked secret",
			def: `{"identifier": "route", "nodes": [` + trig + `,
				` + hook("call", `"url": "@RCV@/echo", `+bearer, "") + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [
					{"identifier": "masked", "expression": ".outputs.call.response.data.echo == \"***\""},
					{"identifier": "plain", "expression": ".outputs.call.response.data.echo != \"***\""}]}},
				` + hook("on_masked", `"url": "@RCV@/masked", "body": {"seen": "{{ .outputs.call.response.data.echo }}"}`, "") + `,
				` + hook("on_plain", `"url": "@RCV@/plain"`, "") + `],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "call"},
					{"sourceIdentifier": "call", "targetIdentifier": "route"},
					{"sourceIdentifier": "route", "sourceOutletIdentifier": "masked", "targetIdentifier": "on_masked"},
					{"sourceIdentifier": "route", "sourceOutletIdentifier": "plain", "targetIdentifier": "on_plain"}]}`,
			secrets: map[string]string{"TOKEN": tok},
			respond: byPath(map[string]responder{"/echo": echoJSON(func(s map[string]string) any { return map[string]any{"echo": s["TOKEN"]} })}),
			result:  "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				if got := strings.Join(r.path(), ","); got != "trigger,call,route,on_masked" {
					t.Errorf("path = %s, want the masked outlet", got)
				}
				if last := r.reqs[len(r.reqs)-1]; last.URI != "/masked" || !strings.Contains(string(last.Body), `"***"`) {
					t.Errorf("last request = %s %s", last.URI, last.Body)
				}
			},
		},

		{
			name:    "a secret that contains the mask itself",
			def:     chain("star", hook("call", `"url": "@RCV@/echo", "headers": {"X-K": "{{ .secrets.STAR }}"}`, `"verbose": true`)),
			secrets: map[string]string{"STAR": "ab***cd-Zq9x***"},
			respond: echoJSON(func(s map[string]string) any {
				v := s["STAR"]
				return map[string]any{"echo": v, "twice": v + v, "glued": "ab" + v + "cd"}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"STAR"},
			check: func(t *testing.T, r *runOut) { allMasked(t, r, "call", "echo", "twice", "glued") },
		},
		{
			name:    "echo deep inside a 1 MiB response",
			def:     chain("large", hook("call", `"url": "@RCV@/echo", `+bearer, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: func(w http.ResponseWriter, _ *http.Request, _ []byte, s map[string]string) {
				pad := strings.Repeat("0123456789abcdef", 1<<16)
				sendJSON(w, 200, map[string]any{"pad": pad, "echo": pad[:12345] + s["TOKEN"] + pad[:777]})
			},
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				wantMasked(t, r, "call", "response", "data", "echo")
				wantLog(t, r, "call", "response body", "not logged")
			},
		},
		{
			name:    "echo as JSON text inside a JSON string",
			def:     chain("double-json", hook("call", `"url": "@RCV@/echo", "body": {"v": "{{ .secrets.SPECIAL }}"}`, "")),
			secrets: map[string]string{"SPECIAL": special},
			respond: func(w http.ResponseWriter, _ *http.Request, body []byte, _ map[string]string) {
				sendJSON(w, 200, map[string]any{"payload": string(body)})
			},
			result: "COMPLETED SUCCESS", sent: []string{"SPECIAL"},
			check: func(t *testing.T, r *runOut) { wantMasked(t, r, "call", "response", "data", "payload") },
		},
		{
			name: "secret typed into an input, referenced only by a node the run never reaches",
			def: `{"identifier": "unreached", "nodes": [` + trig + `,
				{"identifier": "route", "config": {"type": "CONDITION", "outlets": [{"identifier": "never", "expression": "false"}]}},
				` + hook("echo", `"url": "@RCV@/echo", "body": {"note": "{{ .outputs.trigger.note }}"}`, `"verbose": true`) + `,
				` + hook("never", `"url": "@RCV@/never", "headers": {"X-Other": "{{ .secrets.OTHER }}"}`, "") + `],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "route"},
					{"sourceIdentifier": "route", "sourceOutletIdentifier": "never", "targetIdentifier": "never"},
					{"sourceIdentifier": "route", "fallback": true, "targetIdentifier": "echo"}]}`,
			secrets: map[string]string{"OTHER": "other-Lk2Vb8Qm4Zr"},
			inputs:  map[string]any{"note": "pasted other-Lk2Vb8Qm4Zr by mistake"},
			respond: echoBody,
			result:  "COMPLETED SUCCESS",
			check: func(t *testing.T, r *runOut) {
				if got := strings.Join(r.path(), ","); got != "trigger,route,echo" {
					t.Errorf("path = %s", got)
				}
				if n := field(r.output(t, "trigger"), "note"); n != "pasted *** by mistake" {
					t.Errorf("trigger output note = %v, want it masked", n)
				}
				allMasked(t, r, "echo", "note")
			},
		},
		{
			name:    "variables raising the whole echoed object as a jq error",
			def:     chain("var-error-obj", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.LONG }}"}`, `"variables": {"x": "{{ .result.response.data | error }}"}`)),
			secrets: map[string]string{"LONG": long},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				sendJSON(w, 200, map[string]any{"a": "padding-before-the-secret", "echo": r.Header.Get("X-Key")})
			},
			result: "COMPLETED FAILED", sent: []string{"LONG"},
			check: func(t *testing.T, r *runOut) { wantFailed(t, r, "call", "***") },
		},
		// The vault path: secrets encrypted in the run's own database.
		{
			name:    "vault secret echoed in body and base64",
			def:     chain("vault-echo", hook("call", `"url": "@RCV@/echo", "headers": {"X-Api-Key": "{{ .secrets.VKEY }}"}`, `"verbose": true`)),
			vault:   map[string]string{"VKEY": "vault-Kp3Xm9Qw2Lz7"},
			respond: encodings("VKEY"),
			result:  "COMPLETED SUCCESS", sent: []string{"VKEY"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "std", "newline", "basic", "colon", "doc")
				wantAudit(t, r, "VKEY")
			},
		},
		{
			name:    "vault and map secrets together, userinfo and query",
			def:     chain("vault-mixed", hook("call", `"url": "http://{{ .secrets.VUSER }}:{{ .secrets.VPASS }}@@RCVHOST@/echo?k={{ .secrets.TOKEN }}"`, `"verbose": true`)),
			secrets: map[string]string{"TOKEN": tok},
			vault:   map[string]string{"VUSER": "vu-svc-x9Qm2z", "VPASS": "vault-Pw7Zq2Lm4Xk"},
			respond: func(w http.ResponseWriter, r *http.Request, _ []byte, _ map[string]string) {
				sendJSON(w, 200, map[string]any{"auth": r.Header.Get("Authorization"), "uri": r.RequestURI})
			},
			result: "COMPLETED SUCCESS", sent: []string{"VPASS", "TOKEN"},
			check: func(t *testing.T, r *runOut) {
				allMasked(t, r, "call", "auth", "uri")
				wantAudit(t, r, "VPASS")
			},
		},

		// Negative sanity: what is not secret is kept.
		{
			name:    "non-secret data next to an echo is kept as it was",
			def:     chain("keep-public", hook("call", `"url": "@RCV@/echo", `+bearer, `"links": ["https://ci.example.com/{{ .result.response.data.public }}"]`)),
			secrets: map[string]string{"TOKEN": tok},
			respond: echoJSON(func(s map[string]string) any {
				return map[string]any{"echo": s["TOKEN"], "public": "release-2026.1", "count": 42, "ok": true, "list": []any{"a-public-string", nil, 3.5}}
			}),
			result: "COMPLETED SUCCESS", sent: []string{"TOKEN"},
			check: func(t *testing.T, r *runOut) {
				data := field(r.output(t, "call"), "response", "data")
				want := map[string]any{"echo": "***", "public": "release-2026.1", "count": float64(42), "ok": true, "list": []any{"a-public-string", nil, 3.5}}
				if !jsonEqual(data, want) {
					t.Errorf("data = %v, want %v", data, want)
				}
				if s := field(r.output(t, "call"), "response", "status"); s != float64(200) {
					t.Errorf("status = %v", s)
				}
				if l := r.nodeRun(t, "call").Links; len(l) != 1 || l[0] != "https://ci.example.com/release-2026.1" {
					t.Errorf("links = %q", l)
				}
			},
		},
		{
			name:    "near-misses of a secret are not masked",
			def:     chain("near-miss", hook("call", `"url": "@RCV@/echo", "headers": {"X-K": "{{ .secrets.NEAR }}"}`, "")),
			secrets: map[string]string{"NEAR": "ghp_live_7Hq2Zr9Xw4Kd"},
			respond: echoJSON(func(s map[string]string) any {
				v := s["NEAR"]
				return map[string]any{"echo": v, "last": v[:len(v)-1] + "X", "first": "X" + v[1:], "upper": strings.ToUpper(v), "half": v[:10]}
			}),
			allowFragments: true,
			result:         "COMPLETED SUCCESS", sent: []string{"NEAR"},
			check: func(t *testing.T, r *runOut) {
				v := "ghp_live_7Hq2Zr9Xw4Kd"
				data := field(r.output(t, "call"), "response", "data")
				want := map[string]any{"echo": "***", "last": v[:len(v)-1] + "X", "first": "X" + v[1:], "upper": strings.ToUpper(v), "half": v[:10]}
				if !jsonEqual(data, want) {
					t.Errorf("data = %v, want %v", data, want)
				}
			},
		},
		{
			name:    "a workflow without secrets keeps its output intact",
			def:     chain("no-secrets", hook("call", `"url": "@RCV@/echo", "body": {"service": "billing", "replicas": 3, "tags": ["a", "b"], "token-like": "tok-notasecret-1234"}`, `"verbose": true`)),
			respond: echoBody,
			result:  "COMPLETED SUCCESS",
			check: func(t *testing.T, r *runOut) {
				data := field(r.output(t, "call"), "response", "data")
				want := map[string]any{"service": "billing", "replicas": float64(3), "tags": []any{"a", "b"}, "token-like": "tok-notasecret-1234"}
				if !jsonEqual(data, want) {
					t.Errorf("data = %v, want %v", data, want)
				}
				if strings.Contains(string(r.json), "***") {
					t.Errorf("something was masked in a run without secrets: %s", r.json)
				}
				wantLog(t, r, "call", "POST answered 200")
			},
		},
	}
}

// reverse returns s with its characters in reverse order.
func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// wantAudit fails unless the run resolved the vault secret name (so the case
// really went through the encrypted store).
func wantAudit(t *testing.T, r *runOut, name string) {
	t.Helper()
	for _, ev := range r.audit {
		if ev.Action == "secret.resolve" && ev.Secret == name && ev.RunID == r.view.Identifier {
			return
		}
	}
	t.Errorf("no secret.resolve audit event for %s in run %s", name, r.view.Identifier)
}

// jsonEqual compares two decoded JSON values through their encoding.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// TestLeaks runs every adversarial case and checks that no secret came back.
func TestLeaks(t *testing.T) {
	cs := append(cases(pemKey(t)), jqPreviewCases()...)
	if len(cs) < 40 {
		t.Fatalf("only %d cases; the suite promises at least 40", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c)
		})
	}
}

// jqPreviewCases found a leak that is now fixed: gojq quotes a preview of
// the value it failed on (the first ~25 bytes of a string, then "...") in
// its error messages, and a preview cut short does not match the redactor.
// Variables and links used to render over the raw result; they now render
// over the redacted one (engine.finishNode), so a preview is of "***".
func jqPreviewCases() []leakCase {
	return []leakCase{
		{
			name:    "variables failing on a long echoed secret (jq quotes a preview of the value)",
			def:     chain("var-preview", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.LONG }}"}`, `"variables": {"n": "{{ .result.response.data.echo | tonumber }}"}`)),
			secrets: map[string]string{"LONG": long},
			respond: echoHeader("X-Key"),
			result:  "COMPLETED FAILED", sent: []string{"LONG"},
			check: func(t *testing.T, r *runOut) { wantFailed(t, r, "call", "tonumber") },
		},
		{
			name:    "links failing on a long echoed secret (jq quotes a preview of the value)",
			def:     chain("link-preview", hook("call", `"url": "@RCV@/echo", "headers": {"X-Key": "{{ .secrets.LONG }}"}`, `"links": ["https://ci.example.com/{{ .result.response.data.echo | keys }}"]`)),
			secrets: map[string]string{"LONG": long},
			respond: echoHeader("X-Key"),
			result:  "COMPLETED FAILED", sent: []string{"LONG"},
			check: func(t *testing.T, r *runOut) { wantFailed(t, r, "call", "links[0]") },
		},
	}
}
