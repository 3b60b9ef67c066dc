package catalog

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzSearchQuery checks that any search body either is rejected with
// problems or matches entities without panicking.
func FuzzSearchQuery(f *testing.F) {
	f.Add(`{"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"service"}]}`)
	f.Add(`{"combinator":"or","rules":[{"relation":"env","operator":"in","value":["a"]},{"combinator":"and","rules":[]}]}`)
	f.Add(`{"combinator":"and","rules":[{"property":"at","operator":"between","value":{"from":"2026-01-01T00:00:00Z","to":"x"}}]}`)
	e := Entity{Identifier: "api", Blueprint: "service", Team: []string{"core"}, Properties: map[string]any{"at": "2026-01-02T00:00:00Z", "n": 3.0, "tags": []any{"a"}},
		Relations: map[string]any{"env": "a", "many": []any{"b"}}, CreatedAt: time.Unix(0, 0).UTC(), UpdatedAt: time.Unix(0, 0).UTC()}
	f.Fuzz(func(t *testing.T, body string) {
		var q Query
		if json.Unmarshal([]byte(body), &q) != nil {
			return
		}
		if probs := q.check(""); len(probs) > 0 {
			for _, p := range probs {
				if p.Message == "" {
					t.Fatalf("a problem without a message: %+v", p)
				}
			}
			return
		}
		_ = q.match(e)
	})
}
