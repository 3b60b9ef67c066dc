package ai

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/catalog"
)

// emptyCatalog is a Catalog with one blueprint and no entities, for the
// fuzz target's tool calls.
type emptyCatalog struct{}

func (emptyCatalog) ListBlueprints(context.Context) ([]catalog.Blueprint, error) {
	return []catalog.Blueprint{{Identifier: "service"}}, nil
}
func (emptyCatalog) ListEntities(context.Context, string) ([]catalog.Entity, error) { return nil, nil }
func (emptyCatalog) GetEntity(context.Context, string, string) (catalog.Entity, error) {
	return catalog.Entity{}, catalog.ErrNotFound
}
func (emptyCatalog) Search(context.Context, catalog.Query) ([]catalog.Entity, error) {
	return nil, nil
}

// fuzzSchema is the output schema the fuzzed answers are checked against.
var fuzzSchema = map[string]any{"type": "object", "properties": map[string]any{
	"summary": map[string]any{"type": "string", "maxLength": 50}, "severity": map[string]any{"enum": []any{"low", "high"}},
	"items": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}},
	"required": []any{"summary"}}

// FuzzModelAnswer feeds untrusted provider text to everything that parses
// it: a chat completion (decodeAnswer), its tool calls' arguments
// (runTool), its content as structured output (outputSchema.check), an
// error body (errorMessage), and, for output schemas, the schema itself
// (compileSchema). None may panic; a message is bounded and valid UTF-8; an
// answer that passes the schema check is JSON that the schema accepts.
func FuzzModelAnswer(f *testing.F) {
	seeds := []string{
		`{"model":"m","choices":[{"message":{"role":"assistant","content":"{\"summary\":\"s\",\"severity\":\"low\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
		`{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"list_entities","arguments":"{\"blueprint\":\"service\",\"limit\":2}"}}]}}]}`,
		`{"choices":[{"message":{"tool_calls":[{"function":{"name":"search_entities","arguments":"{\"blueprint\":\"service\",\"query\":{\"combinator\":\"and\",\"rules\":[{\"property\":\"tier\",\"operator\":\"=\",\"value\":1}]}}"}},{"function":{"name":"get_entity","arguments":"[]"}}]}}]}`,
		"{\"choices\":[{\"message\":{\"content\":\"```json\\n{\\\"summary\\\": \\\"x\\\"}\\n```\"}}]}",
		`{"error":{"message":"Incorrect API key provided: sk-abc","type":"invalid_request_error"}}`,
		`{"error":"model not found"}`,
		`{"choices":[]}`,
		`<html>502</html>`,
		`{"type":"object","properties":{"a":{"type":"string","pattern":"^x+$"}},"required":["a"]}`,
		`{"type":"object","$ref":"#/$defs/x","$defs":{"x":{"minProperties":1}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	sch, err := compileSchema(fuzzSchema)
	if err != nil {
		f.Fatal(err)
	}
	id := func(s string) string { return s }
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg := errorMessage(raw, id)
		if len(msg) > maxErrorMessage+len("...") || !utf8.ValidString(msg) {
			t.Fatalf("errorMessage = %d bytes, valid UTF-8 %v", len(msg), utf8.ValidString(msg))
		}
		if masked := errorMessage(raw, func(string) string { return "***" }); masked != "***" {
			t.Fatalf("errorMessage with a masker that masks all = %q", masked)
		}
		if cr, err := decodeAnswer(raw); err == nil {
			if len(cr.Choices) == 0 {
				t.Fatal("decodeAnswer accepted an answer without choices")
			}
			for _, c := range cr.Choices {
				for _, call := range c.Message.ToolCalls {
					out, _ := runTool(context.Background(), emptyCatalog{}, ToolNames(), call)
					if !json.Valid([]byte(out)) {
						t.Fatalf("runTool answered the model with invalid JSON: %q", out)
					}
				}
				if c.Message.Content != nil {
					checkAnswer(t, sch, *c.Message.Content)
				}
			}
		}
		checkAnswer(t, sch, string(raw))
		var doc any
		if json.Unmarshal(raw, &doc) == nil {
			if s, err := compileSchema(doc); err == nil {
				_, _ = s.check(`{"a":"x"}`, id)
			}
		}
	})
}

// checkAnswer checks answer against sch: an accepted answer is JSON the
// schema validates; problems are bounded in number and length.
func checkAnswer(t *testing.T, sch *outputSchema, answer string) {
	t.Helper()
	doc, problems := sch.check(answer, func(s string) string { return s })
	if len(problems) == 0 {
		var v map[string]any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("check accepted %q, which is not a JSON object: %v", doc, err)
		}
		if _, ok := v["summary"].(string); !ok {
			t.Fatalf("check accepted %q without its required summary", doc)
		}
		return
	}
	if len(problems) > 21 {
		t.Fatalf("%d problems", len(problems))
	}
	for _, p := range problems {
		if len(p) > 400 || strings.TrimSpace(p) == "" {
			t.Fatalf("problem of %d bytes: %q", len(p), p)
		}
	}
}
