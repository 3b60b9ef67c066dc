package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// portCorpus holds workflow definitions transcribed from Port's public
// material; testdata/port/README.md names the source of each.
const portCorpus = "testdata/port"

// corpusRejects lists the corpus definitions that Port's docs publish with a
// template that is not jq (Go-template or sprig syntax): sluice rejects
// them, naming the field.
var corpusRejects = map[string]struct{ path, msg string }{
	"docs-examples-scaffold-service.json": {"nodes[2].config.mapping.properties.createdAt", "invalid template"},
	"docs-examples-deploy-service.json":   {"nodes[4].config.mapping.properties.lastDeployedAt", "invalid template"},
}

// TestPortCorpus checks that every real Port definition validates as it is
// published, and that the few with non-jq templates are rejected at the
// field that holds one. What validates must also round-trip through Source.
func TestPortCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(portCorpus, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("the corpus holds %d definitions; expected at least 10", len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wf, probs := Parse(data)
			if want, reject := corpusRejects[name]; reject {
				if wf != nil {
					t.Fatalf("Parse accepted a definition with a non-jq template")
				}
				if !find(probs.Errors, want.path, want.msg) {
					t.Fatalf("no error %q at %s; errors: %v", want.msg, want.path, probs.Errors)
				}
				return
			}
			if err := probs.Err(); err != nil {
				t.Fatalf("Port publishes this definition, sluice rejects it: %v", err)
			}
			again, probs2 := Parse(wf.Source)
			if err := probs2.Err(); err != nil {
				t.Fatalf("Source does not parse again: %v", err)
			}
			if string(again.Source) != string(wf.Source) {
				t.Fatalf("Source is not stable")
			}
		})
	}
}
