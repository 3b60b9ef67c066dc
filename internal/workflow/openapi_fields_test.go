package workflow

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIPath is the API's OpenAPI document (internal/api embeds it).
const openAPIPath = "../api/openapi.yaml"

// loadOpenAPI loads and validates the API's OpenAPI document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(openAPIPath)
	if err != nil {
		t.Fatalf("load %s: %v", openAPIPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", openAPIPath, err)
	}
	return doc
}

// scopeSchemas returns the schema each Fields scope starts from: the
// definition, a node, a connection, and each node type's config (by the
// discriminator of Node.config).
func scopeSchemas(t *testing.T, doc *openapi3.T) map[string]*openapi3.Schema {
	t.Helper()
	schemas := doc.Components.Schemas
	for _, name := range []string{"Definition", "Node", "Connection"} {
		if schemas[name] == nil {
			t.Fatalf("the document has no schema %s", name)
		}
	}
	out := map[string]*openapi3.Schema{
		"workflow":   schemas["Definition"].Value,
		"node":       schemas["Node"].Value,
		"connection": schemas["Connection"].Value,
	}
	cfg := schemas["Node"].Value.Properties["config"]
	if cfg == nil || cfg.Value.Discriminator == nil || cfg.Value.Discriminator.PropertyName != "type" {
		t.Fatal("Node.config is not discriminated by type")
	}
	for typ, ref := range cfg.Value.Discriminator.Mapping {
		name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
		if schemas[name] == nil {
			t.Fatalf("Node.config's discriminator maps %s to %s, which is not a schema", typ, ref.Ref)
		}
		out[typ] = schemas[name].Value
	}
	return out
}

// resolve returns the schemas seg leads to from s, looking through oneOf,
// anyOf and allOf branches: a field is described when one branch has it.
func resolve(s *openapi3.Schema, seg string) []*openapi3.Schema {
	var out []*openapi3.Schema
	for _, b := range branches(s) {
		switch seg {
		case ArrayElem:
			if b.Items != nil {
				out = append(out, b.Items.Value)
			}
		case MapKey:
			if ap := b.AdditionalProperties.Schema; ap != nil {
				out = append(out, ap.Value)
			}
		default:
			if p := b.Properties[seg]; p != nil {
				out = append(out, p.Value)
			}
		}
	}
	return out
}

// branches returns s and, recursively, the schemas of its combinators.
func branches(s *openapi3.Schema) []*openapi3.Schema {
	out := []*openapi3.Schema{s}
	for _, refs := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
		for _, r := range refs {
			out = append(out, branches(r.Value)...)
		}
	}
	return out
}

// describes reports whether the document describes p from root: the field
// exists, is listed as required when the parser requires it, and allows
// null when the parser does.
func describes(root *openapi3.Schema, p FieldPath) (ok bool, why string) {
	parents := []*openapi3.Schema{root}
	for i, seg := range p.Segments {
		var next []*openapi3.Schema
		for _, s := range parents {
			next = append(next, resolve(s, seg)...)
		}
		if len(next) == 0 {
			return false, "missing at " + strings.Join(p.Segments[:i+1], ".")
		}
		if i == len(p.Segments)-1 {
			if p.Required && !slices.ContainsFunc(parents, func(s *openapi3.Schema) bool { return requires(s, seg) }) {
				return false, "not listed as required"
			}
			if p.Nullable && !slices.ContainsFunc(next, func(s *openapi3.Schema) bool { return s.Nullable }) {
				return false, "not nullable"
			}
		}
		parents = next
	}
	return true, ""
}

// requires reports whether s or one of its branches requires name.
func requires(s *openapi3.Schema, name string) bool {
	for _, b := range branches(s) {
		if slices.Contains(b.Required, name) {
			return true
		}
	}
	return false
}

// documented lists the fields the document describes under s, as paths of
// Fields' segments, stopping at free-form values.
func documented(s *openapi3.Schema, prefix []string, depth int, out map[string]bool) {
	if depth > 12 {
		return
	}
	for _, b := range branches(s) {
		for name, p := range b.Properties {
			path := append(slices.Clone(prefix), name)
			out[strings.Join(path, ".")] = true
			documented(p.Value, path, depth+1, out)
		}
		if b.Items != nil {
			documented(b.Items.Value, append(slices.Clone(prefix), ArrayElem), depth+1, out)
		}
		if ap := b.AdditionalProperties.Schema; ap != nil {
			documented(ap.Value, append(slices.Clone(prefix), MapKey), depth+1, out)
		}
	}
}

// TestOpenAPIDescribesEveryField walks the parser's field tables and fails
// when the OpenAPI document lacks a field (or does not mark it required or
// nullable as the parser does), or describes a config field the parser
// would reject: the two cannot drift.
func TestOpenAPIDescribesEveryField(t *testing.T) {
	doc := loadOpenAPI(t)
	roots := scopeSchemas(t, doc)
	var types []string
	for typ := range nodeTypes {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		if roots[typ] == nil {
			t.Errorf("Node.config's discriminator has no schema for node type %s", typ)
		}
	}
	for typ := range roots {
		if _, ok := nodeTypes[typ]; !ok && !slices.Contains([]string{"workflow", "node", "connection"}, typ) {
			t.Errorf("Node.config's discriminator maps %s, which the parser does not know", typ)
		}
	}
	accepted := map[string]map[string]bool{}
	fields := Fields()
	if len(fields) < 100 {
		t.Fatalf("Fields listed only %d fields; the walk is broken", len(fields))
	}
	for _, p := range fields {
		if accepted[p.Scope] == nil {
			accepted[p.Scope] = map[string]bool{}
		}
		accepted[p.Scope][strings.Join(p.Segments, ".")] = true
		root := roots[p.Scope]
		if root == nil {
			continue // reported above
		}
		if ok, why := describes(root, p); !ok {
			t.Errorf("%s: the OpenAPI document does not describe this field: %s", p, why)
		}
	}
	// The other way: a documented config field the parser rejects would
	// lead a client to a 422. Free-form members (a webhook's body, a
	// form input's own properties) are not walked by Fields, so only
	// paths whose parent the parser describes field by field count.
	for _, typ := range append(types, "node", "connection") {
		got := map[string]bool{}
		documented(roots[typ], nil, 0, got)
		for path := range got {
			if accepted[typ][path] {
				continue
			}
			parent := path[:max(0, strings.LastIndex(path, "."))]
			if parent != "" && !walkedObject(accepted[typ], parent) {
				continue
			}
			t.Errorf("%s:%s is in the OpenAPI document but the parser does not accept it", typ, path)
		}
	}
}

// walkedObject reports whether the parser lists members under path, that
// is, whether it checks that object field by field.
func walkedObject(accepted map[string]bool, path string) bool {
	for p := range accepted {
		if strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// TestOpenAPIConfigSchemas checks that the document's config schemas are
// strict where the parser is: a definition the parser accepts validates
// against Definition, and one with an unknown config field or the wrong
// type does not.
func TestOpenAPIConfigSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	definition := doc.Components.Schemas["Definition"].Value
	tests := []struct {
		name  string
		def   string
		valid bool
	}{
		{"Port export", `{"id":"wf_1","orgId":"org_1","identifier":"w","title":null,"icon":null,"description":null,` +
			`"nodes":[{"identifier":"trigger","title":null,"config":{"type":"SELF_SERVE_TRIGGER","userInputs":{"properties":{"env":{"type":"string","enum":["a","b"],"enumColors":{"a":"red"},"default":{"jqQuery":"\"a\""},"visible":{"jqQuery":"true"}}},"required":["env"]},"actionCardButtonText":"Go"},"variables":{}},` +
			`{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io","agent":true,"onFailure":"continue"},"variables":{},"links":[]},` +
			`{"identifier":"c","config":{"type":"CONDITION","outlets":[{"identifier":"y","expression":"true","statusLabel":{"text":"ok","variant":"success"}}]}},` +
			`{"identifier":"i","config":{"type":"INPUT","userInputs":{"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},"outlets":[{"identifier":"ok","evaluationMethod":"button"}],"responders":{"usersQuery":{"combinator":"and","rules":[]}}}},` +
			`{"identifier":"ai","config":{"type":"AI","userPrompt":"hi","outputSchema":{"type":"object"}}}],` +
			`"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"a","description":null}],"version":3}`, true},
		{"unknown config field", `{"identifier":"w","nodes":[{"identifier":"a","config":{"type":"WEBHOOK","url":"https://x.io","methd":"GET"}}]}`, false},
		{"field of another type", `{"identifier":"w","nodes":[{"identifier":"a","config":{"type":"KAFKA","payload":{},"url":"https://x.io"}}]}`, false},
		{"missing required", `{"identifier":"w","nodes":[{"identifier":"a","config":{"type":"WEBHOOK"}}]}`, false},
		{"unknown type", `{"identifier":"w","nodes":[{"identifier":"a","config":{"type":"WEBHOK","url":"https://x.io"}}]}`, false},
		{"input without buttons", `{"identifier":"w","nodes":[{"identifier":"i","config":{"type":"INPUT","userInputs":{}}}]}`, false},
		{"null variant", `{"identifier":"w","nodes":[{"identifier":"t","config":{"type":"SELF_SERVE_TRIGGER","variant":null}}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.def), &v); err != nil {
				t.Fatal(err)
			}
			err := definition.VisitJSON(v)
			if tt.valid && err != nil {
				t.Fatalf("the document rejects it: %v", err)
			}
			if !tt.valid && err == nil {
				t.Fatal("the document accepts it")
			}
			// The parser checks more (the graph, rules across fields), so
			// only what the document accepts must parse.
			if _, probs := Parse([]byte(tt.def)); tt.valid && probs.Err() != nil {
				t.Fatalf("the parser rejects it: %v", probs.Err())
			}
		})
	}
}

// TestOpenAPIAcceptsPortCorpus checks every real Port definition the parser
// accepts (TestPortCorpus) against the document's Definition schema: a
// client validating with the document accepts what the server does.
func TestOpenAPIAcceptsPortCorpus(t *testing.T) {
	definition := loadOpenAPI(t).Components.Schemas["Definition"].Value
	files, err := filepath.Glob(filepath.Join(portCorpus, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		if _, reject := corpusRejects[name]; reject {
			continue
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			if err := definition.VisitJSON(v, openapi3.MultiErrors()); err != nil {
				t.Fatalf("the OpenAPI document rejects a definition the server accepts: %v", err)
			}
		})
	}
}
