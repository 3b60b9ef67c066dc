package workflow

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts round-trips through Source.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	corpus, _ := filepath.Glob(filepath.Join(portCorpus, "*.json"))
	for _, file := range append(files, corpus...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(inputsWorkflow))
	f.Add([]byte(`{"identifier":"w","nodes":[{"identifier":"t","config":{"type":"SCHEDULE_TRIGGER","cron":"*/5 * * * MON-FRI"}}]}`))
	f.Add([]byte(`{"identifier":"w","nodes":[],"connections":[{"sourceIdentifier":"a","targetIdentifier":"a","sourceOptionIdentifier":"x"}]}`))
	f.Add([]byte(`[[[[{"a":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, probs := Parse(data)
		if probs == nil {
			t.Fatal("nil problems")
		}
		if wf == nil {
			if probs.Err() == nil {
				t.Fatal("no workflow and no error")
			}
			return
		}
		again, probs2 := Parse(wf.Source)
		if err := probs2.Err(); err != nil {
			t.Fatalf("Source does not parse: %v\n%s", err, wf.Source)
		}
		if string(again.Source) != string(wf.Source) {
			t.Fatalf("Source is not stable:\n%s\n%s", wf.Source, again.Source)
		}
	})
}

// BenchmarkParse measures parsing, validating and compiling a typical
// definition (the condition-branches example: 5 nodes, 5 connections).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "condition-branches.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, probs := Parse(data); probs.Err() != nil {
			b.Fatal(probs.Err())
		}
	}
}
