package credscan

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// testIndex fingerprints secrets (name → value) under one key.
func testIndex(t testing.TB, secrets map[string]string) *Index {
	t.Helper()
	fp, err := NewFingerprinter("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	for name, v := range secrets {
		for _, p := range fp.Prints(v) {
			entries = append(entries, Entry{Secret: name, KeyID: "k1", Print: p})
		}
	}
	x, skipped := NewIndex(entries, map[string]*Fingerprinter{"k1": fp})
	if skipped != 0 {
		t.Fatalf("NewIndex skipped %d entries", skipped)
	}
	return x
}

// definition builds a workflow definition with one WEBHOOK node whose
// header, body and url are given.
func definition(header, bodyField, u string) []byte {
	def := map[string]any{
		"identifier": "wf",
		"title":      "Deploy",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "title": "Start", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "userInputs": map[string]any{}}},
			map[string]any{"identifier": "call", "title": "Call", "config": map[string]any{
				"type": "WEBHOOK", "url": u, "method": "POST",
				"headers": map[string]any{"X-Token": header},
				"body":    map[string]any{"token": bodyField},
			}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "call"}},
	}
	b, _ := json.Marshal(def)
	return b
}

func TestScanOrgSecrets(t *testing.T) {
	const value = "Sup3r-S3cret/Value+42"
	x := testIndex(t, map[string]string{"DEPLOY_KEY": value, "OTHER": "another value entirely"})
	tests := []struct {
		name               string
		header, body, url  string
		wantPath, wantKind string
		wantSecret         string
	}{
		{name: "in a header", header: value, url: "https://example.com", wantPath: `nodes[1].config.headers["X-Token"]`, wantSecret: "DEPLOY_KEY"},
		{name: "in a body field", body: value, url: "https://example.com", wantPath: "nodes[1].config.body.token", wantSecret: "DEPLOY_KEY"},
		{name: "inside a longer string", header: "Bearer " + value + " trailing", url: "https://example.com", wantPath: `nodes[1].config.headers["X-Token"]`, wantSecret: "DEPLOY_KEY"},
		{name: "url-encoded in a url", url: "https://example.com/x?key=" + url.QueryEscape(value), wantPath: "nodes[1].config.url", wantSecret: "DEPLOY_KEY"},
		{name: "base64 basic auth", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+value)), url: "https://example.com", wantPath: `nodes[1].config.headers["X-Token"]`, wantSecret: "DEPLOY_KEY"},
		{name: "base64 inside a body", body: base64.StdEncoding.EncodeToString([]byte(`{"k":"` + value + `","n":1}`)), url: "https://example.com", wantPath: "nodes[1].config.body.token", wantSecret: "DEPLOY_KEY"},
		{name: "hex", body: fmt.Sprintf("%x", value), url: "https://example.com", wantPath: "nodes[1].config.body.token", wantSecret: "DEPLOY_KEY"},
		{name: "referenced, not pasted", header: "Bearer {{ .secrets.DEPLOY_KEY }}", url: "https://example.com"},
		{name: "a prefix alone", header: value[:10], url: "https://example.com"},
		{name: "unrelated text", header: "Bearer something-else", body: "nothing here", url: "https://example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanDefinition(definition(tt.header, tt.body, tt.url), x)
			if err != nil {
				t.Fatal(err)
			}
			var want []Finding
			if tt.wantSecret != "" {
				want = []Finding{{Path: tt.wantPath, Kind: KindOrgSecret, Secret: tt.wantSecret}}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings = %+v, want %+v", got, want)
			}
			for _, f := range got {
				if msg := f.Message(false); strings.Contains(msg, value) || !strings.Contains(msg, "{{ .secrets.DEPLOY_KEY }}") {
					t.Errorf("message %q: must name the fix and never the value", msg)
				}
				if msg := f.Message(true); strings.Contains(msg, "DEPLOY_KEY") {
					t.Errorf("message %q names the secret for a caller who may not see it", msg)
				}
			}
		})
	}
}

func TestScanOnlyLiteralText(t *testing.T) {
	tok := ghToken("ghp")
	tests := []struct {
		text string
		want int
	}{
		{"Bearer " + tok, 1},
		{"{{ .secrets.GH }}", 0},
		{"Bearer {{ .secrets.GH }} and " + tok, 1},
		{"{{ .x }" + tok, 1}, // not a template: all literal
	}
	for _, tt := range tests {
		got := Scan([]Field{{Path: "p", Text: tt.text}}, nil)
		if len(got) != tt.want {
			t.Errorf("Scan(%.20q...) = %+v, want %d finding(s)", tt.text, got, tt.want)
		}
		for _, f := range got {
			if strings.Contains(f.Message(false), tok) || f.Kind != KindGitHubToken || f.Path != "p" {
				t.Errorf("finding %+v", f)
			}
		}
	}
}

func TestIndexSkipsUnknownKeys(t *testing.T) {
	fp, err := NewFingerprinter("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewFingerprinter("k2", []byte("fedcba9876543210fedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	for _, p := range other.Prints("a value under k2") {
		entries = append(entries, Entry{Secret: "S", KeyID: "k2", Print: p})
	}
	x, skipped := NewIndex(entries, map[string]*Fingerprinter{"k1": fp})
	if skipped != len(entries) || x.Len() != 0 {
		t.Fatalf("skipped %d of %d, Len %d", skipped, len(entries), x.Len())
	}
	// A fingerprint under one key does not match with another.
	if got := fp.Prints("same"); len(got) > 0 && len(other.Prints("same")) > 0 && got[0].Sum == other.Prints("same")[0].Sum {
		t.Fatal("two keys give the same fingerprint")
	}
}

func FuzzScan(f *testing.F) {
	f.Add("Bearer " + ghToken("ghp"))
	f.Add("https://u:p@h/x")
	f.Add("-----BEGIN PRIVATE KEY-----\nAAAA")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.sig")
	f.Add("{{ .secrets.X }} AKIA")
	x := testIndex(f, map[string]string{"S": "fuzzing secret value"})
	f.Fuzz(func(t *testing.T, s string) {
		for _, fd := range Scan([]Field{{Path: "p", Text: s}}, x) {
			if fd.Path != "p" || fd.Kind == "" {
				t.Fatalf("bad finding %+v", fd)
			}
			if len(s) >= MinFormLen && strings.Contains(fd.Message(false), s) {
				t.Fatalf("message quotes the input")
			}
		}
		if strings.Contains(s, "fuzzing secret value") && !strings.Contains(s, "{{") {
			if got := x.Secrets(s); len(got) != 1 {
				t.Fatalf("Secrets = %v, want [S]", got)
			}
		}
	})
}
