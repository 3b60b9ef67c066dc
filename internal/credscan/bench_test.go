package credscan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluice-run/sluice/internal/workflow"
)

// benchDefinition is a 100-node workflow: a trigger and 99 WEBHOOK nodes,
// each with a url, headers (one a secret reference), a body of several
// fields, a title and a description — about 40 KB of JSON.
func benchDefinition() []byte {
	nodes := []any{map[string]any{"identifier": "trigger", "title": "Start", "config": map[string]any{"type": "SELF_SERVE_TRIGGER", "userInputs": map[string]any{}}}}
	var conns []any
	prev := "trigger"
	for i := 1; i < 100; i++ {
		id := fmt.Sprintf("call_%d", i)
		nodes = append(nodes, map[string]any{
			"identifier":  id,
			"title":       fmt.Sprintf("Call service number %d of the deployment", i),
			"description": "Posts the build result to the deployment service and records the answer for later steps.",
			"config": map[string]any{
				"type": "WEBHOOK", "method": "POST",
				"url": fmt.Sprintf("https://deploy.example.com/api/v2/services/%d/releases?notify=true", i),
				"headers": map[string]any{
					"Authorization": "Bearer {{ .secrets.DEPLOY_TOKEN }}",
					"Content-Type":  "application/json",
				},
				"body": map[string]any{
					"service":   fmt.Sprintf("service-%d", i),
					"version":   "{{ .outputs.trigger.version }}",
					"commit":    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
					"message":   "Release created by sluice for the production environment, please review.",
					"requestId": "123e4567-e89b-12d3-a456-426614174000",
				},
			},
			"variables": map[string]any{"status": "{{ .result.status }}"},
		})
		conns = append(conns, map[string]any{"sourceIdentifier": prev, "targetIdentifier": id})
		prev = id
	}
	b, err := json.Marshal(map[string]any{"identifier": "bench", "title": "Bench", "nodes": nodes, "connections": conns})
	if err != nil {
		panic(err)
	}
	return b
}

// benchIndex fingerprints 1,000 secrets of 16 to 80 random bytes.
func benchIndex(b *testing.B) *Index {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/+"
	secrets := make(map[string]string, 1000)
	for i := range 1000 {
		v := make([]byte, 16+r.IntN(65))
		for k := range v {
			v[k] = alphabet[r.IntN(len(alphabet))]
		}
		secrets[fmt.Sprintf("SECRET_%d", i)] = string(v)
	}
	return testIndex(b, secrets)
}

// BenchmarkScanDefinition is the check at save: every stored string of a
// 100-node definition against the formats and 1,000 organization secrets.
// Compare with BenchmarkBaselineJSONParse (the bare parse of the same bytes)
// and BenchmarkBaselineWorkflowParse (what a save already does).
func BenchmarkScanDefinition(b *testing.B) {
	def := benchDefinition()
	x := benchIndex(b)
	b.SetBytes(int64(len(def)))
	b.ReportMetric(float64(x.Len()), "fingerprints")
	b.ResetTimer()
	for b.Loop() {
		fs, err := ScanDefinition(def, x)
		if err != nil || len(fs) != 0 {
			b.Fatalf("ScanDefinition = %v, %v", fs, err)
		}
	}
}

// BenchmarkScanFormatsOnly is the check without organization secrets, as
// `sluice validate` runs without --data-dir.
func BenchmarkScanFormatsOnly(b *testing.B) {
	def := benchDefinition()
	b.SetBytes(int64(len(def)))
	for b.Loop() {
		if _, err := ScanDefinition(def, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineJSONParse is the baseline: encoding/json into any.
func BenchmarkBaselineJSONParse(b *testing.B) {
	def := benchDefinition()
	b.SetBytes(int64(len(def)))
	for b.Loop() {
		var v any
		if err := json.Unmarshal(def, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineWorkflowParse is the second baseline: workflow.Parse,
// which every save runs before the check.
func BenchmarkBaselineWorkflowParse(b *testing.B) {
	def := benchDefinition()
	b.SetBytes(int64(len(def)))
	for b.Loop() {
		if _, ps := workflow.Parse(def); ps.Err() != nil {
			b.Fatal(ps.Err())
		}
	}
}
