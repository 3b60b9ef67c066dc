package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// newService returns a catalog over a SQLite file with two blueprints:
// service (stage enum, required; version; url; count with bounds) and
// deployment (a required single relation to service, a many relation to
// service, a date-time).
func newService(t *testing.T) *catalog.Service {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := catalog.New(st, catalog.Options{})
	for _, def := range []string{
		`{"identifier": "service", "schema": {"properties": {
			"stage": {"type": "string", "enum": ["dev", "prod"]},
			"version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+$"},
			"repo": {"type": "string", "format": "url"},
			"owner": {"type": "string", "format": "email"},
			"replicas": {"type": "number", "minimum": 1, "maximum": 9},
			"tier": {"type": "string", "default": "standard"},
			"tags": {"type": "array", "items": {"type": "string"}}},
			"required": ["stage"]}}`,
		`{"identifier": "deployment", "schema": {"properties": {"at": {"type": "string", "format": "date-time"}}},
			"relations": {"service": {"target": "service", "required": true, "many": false},
				"dependsOn": {"target": "service", "required": false, "many": true}}}`,
	} {
		var bp catalog.Blueprint
		if err := json.Unmarshal([]byte(def), &bp); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateBlueprint(context.Background(), bp, "test"); err != nil {
			t.Fatalf("create blueprint %s: %v", bp.Identifier, err)
		}
	}
	return s
}

func entity(t *testing.T, js string) catalog.EntityInput {
	t.Helper()
	var in catalog.EntityInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// problemPaths returns the paths of a *ValidationError's problems.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var ve *catalog.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.Path)
	}
	return out
}

// Each property rule of Port's JSON Schema subset, and each relation rule,
// rejects with the path of what is wrong; several problems are all listed.
func TestEntityValidation(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	o := catalog.Origin{Actor: "test"}
	if _, err := s.WriteEntity(ctx, "service", entity(t, `{"identifier": "api", "properties": {"stage": "dev"}}`), catalog.Create, o); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bp, body string
		want           []string // problem paths; nil means accepted
	}{
		{"valid", "service", `{"identifier": "ok1", "properties": {"stage": "prod", "version": "1.2", "repo": "https://x.example/r", "owner": "a@example.com", "replicas": 3, "tags": ["a"]}}`, nil},
		{"enum", "service", `{"identifier": "e1", "properties": {"stage": "qa"}}`, []string{"properties.stage"}},
		{"required", "service", `{"identifier": "e2", "properties": {}}`, []string{"properties"}},
		{"pattern", "service", `{"identifier": "e3", "properties": {"stage": "dev", "version": "v1"}}`, []string{"properties.version"}},
		{"url format", "service", `{"identifier": "e4", "properties": {"stage": "dev", "repo": "not a url"}}`, []string{"properties.repo"}},
		{"email format", "service", `{"identifier": "e5", "properties": {"stage": "dev", "owner": "nobody"}}`, []string{"properties.owner"}},
		{"maximum", "service", `{"identifier": "e6", "properties": {"stage": "dev", "replicas": 10}}`, []string{"properties.replicas"}},
		{"items", "service", `{"identifier": "e7", "properties": {"stage": "dev", "tags": [1]}}`, []string{"properties.tags[0]"}},
		{"unknown property", "service", `{"identifier": "e8", "properties": {"stage": "dev", "colour": "red"}}`, []string{"properties"}},
		{"two problems", "service", `{"identifier": "e9", "properties": {"stage": "qa", "replicas": 0}}`, []string{"properties.replicas", "properties.stage"}},
		{"date-time", "deployment", `{"identifier": "d1", "properties": {"at": "yesterday"}, "relations": {"service": "api"}}`, []string{"properties.at"}},
		{"required relation", "deployment", `{"identifier": "d2", "properties": {}}`, []string{"relations.service"}},
		{"unknown relation", "deployment", `{"identifier": "d3", "relations": {"service": "api", "owner": "x"}}`, []string{"relations.owner"}},
		{"single relation given a list", "deployment", `{"identifier": "d4", "relations": {"service": ["api"]}}`, []string{"relations.service"}},
		{"many relation given a string", "deployment", `{"identifier": "d5", "relations": {"service": "api", "dependsOn": "api"}}`, []string{"relations.dependsOn"}},
		{"relation to a missing entity", "deployment", `{"identifier": "d6", "relations": {"service": "ghost"}}`, []string{"relations"}},
		{"relations valid", "deployment", `{"identifier": "d7", "properties": {"at": "2024-05-01T10:00:00Z"}, "relations": {"service": "api", "dependsOn": ["api"]}}`, nil},
		{"bad identifier", "service", `{"identifier": "a b/c", "properties": {"stage": "dev"}}`, []string{"identifier"}},
		{"blueprint mismatch", "service", `{"identifier": "x", "blueprint": "deployment", "properties": {"stage": "dev"}}`, []string{"blueprint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.WriteEntity(ctx, tc.bp, entity(t, tc.body), catalog.Create, o)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			got := problemPaths(t, err)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problem paths %q, want %q (%v)", got, tc.want, err)
			}
			// Nothing stored.
			var in catalog.EntityInput
			_ = json.Unmarshal([]byte(tc.body), &in)
			if _, err := s.GetEntity(ctx, tc.bp, in.Identifier); !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("a rejected entity is stored (%v)", err)
			}
		})
	}
}

// Merge keeps what the input leaves out; replace drops it; both fail on a
// missing entity where they must, and defaults apply only to new or
// replaced entities.
func TestMergeVersusReplace(t *testing.T) {
	ctx := context.Background()
	o := catalog.Origin{Actor: "test"}
	base := `{"identifier": "api", "title": "API", "team": "core", "properties": {"stage": "dev", "version": "1.0", "tier": "gold"}}`
	tests := []struct {
		name      string
		mode      catalog.Mode
		body      string
		wantErr   error
		wantTitle string
		wantProps map[string]any
		wantTeam  []string
	}{
		{"patch keeps the rest", catalog.Patch, `{"identifier": "api", "properties": {"version": "1.1"}}`, nil, "API", map[string]any{"stage": "dev", "version": "1.1", "tier": "gold"}, []string{"core"}},
		{"upsert merge keeps the rest", catalog.UpsertMerge, `{"identifier": "api", "title": "New"}`, nil, "New", map[string]any{"stage": "dev", "version": "1.0", "tier": "gold"}, []string{"core"}},
		{"replace drops the rest, defaults again", catalog.Replace, `{"identifier": "api", "properties": {"stage": "prod"}}`, nil, "", map[string]any{"stage": "prod", "tier": "standard"}, []string{}},
		{"upsert replaces", catalog.Upsert, `{"identifier": "api", "properties": {"stage": "prod"}, "team": ["a", "b"]}`, nil, "", map[string]any{"stage": "prod", "tier": "standard"}, []string{"a", "b"}},
		{"create refuses an existing one", catalog.Create, `{"identifier": "api", "properties": {"stage": "prod"}}`, catalog.ErrExists, "", nil, nil},
		{"patch refuses a missing one", catalog.Patch, `{"identifier": "nope", "properties": {"stage": "prod"}}`, catalog.ErrNotFound, "", nil, nil},
		{"replace refuses a missing one", catalog.Replace, `{"identifier": "nope", "properties": {"stage": "prod"}}`, catalog.ErrNotFound, "", nil, nil},
		{"merge is validated whole", catalog.Patch, `{"identifier": "api", "properties": {"stage": null}}`, &catalog.ValidationError{}, "", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			if _, err := s.WriteEntity(ctx, "service", entity(t, base), catalog.Create, o); err != nil {
				t.Fatal(err)
			}
			got, err := s.WriteEntity(ctx, "service", entity(t, tc.body), tc.mode, o)
			if tc.wantErr != nil {
				var ve *catalog.ValidationError
				if _, isVE := tc.wantErr.(*catalog.ValidationError); isVE && errors.As(err, &ve) {
					return
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.GetEntity(ctx, "service", "api")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []catalog.Entity{got, stored} {
				gp, _ := json.Marshal(e.Properties)
				wp, _ := json.Marshal(tc.wantProps)
				if e.Title != tc.wantTitle || string(gp) != string(wp) || !slices.Equal(e.Team, tc.wantTeam) {
					t.Errorf("entity = title %q props %s team %q; want %q %s %q", e.Title, gp, e.Team, tc.wantTitle, wp, tc.wantTeam)
				}
			}
		})
	}
}

// Search: each operator and combinator over stored entities, relations
// included; a bad query names the rule.
func TestSearchRules(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	o := catalog.Origin{Actor: "test"}
	for _, e := range []string{
		`{"identifier": "api", "properties": {"stage": "prod", "version": "1.0", "replicas": 3}}`,
		`{"identifier": "web", "properties": {"stage": "dev", "version": "2.5", "replicas": 1}}`,
		`{"identifier": "worker", "properties": {"stage": "prod", "replicas": 7}}`,
	} {
		if _, err := s.WriteEntity(ctx, "service", entity(t, e), catalog.Create, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.WriteEntity(ctx, "deployment", entity(t, `{"identifier": "d1", "relations": {"service": "api", "dependsOn": ["web"]}}`), catalog.Create, o); err != nil {
		t.Fatal(err)
	}
	bp := `{"property": "$blueprint", "operator": "=", "value": "service"}`
	tests := []struct {
		name, query string
		want        []string
		bad         string // a problem path, for a rejected query
	}{
		{"equals", `{"combinator": "and", "rules": [` + bp + `, {"property": "stage", "operator": "=", "value": "prod"}]}`, []string{"api", "worker"}, ""},
		{"not equals", `{"combinator": "and", "rules": [` + bp + `, {"property": "stage", "operator": "!=", "value": "prod"}]}`, []string{"web"}, ""},
		{"in", `{"combinator": "and", "rules": [` + bp + `, {"property": "$identifier", "operator": "in", "value": ["api", "web"]}]}`, []string{"api", "web"}, ""},
		{"greater", `{"combinator": "and", "rules": [` + bp + `, {"property": "replicas", "operator": ">", "value": 2}]}`, []string{"api", "worker"}, ""},
		{"less", `{"combinator": "and", "rules": [` + bp + `, {"property": "replicas", "operator": "<", "value": 2}]}`, []string{"web"}, ""},
		{"contains", `{"combinator": "and", "rules": [` + bp + `, {"property": "$identifier", "operator": "contains", "value": "or"}]}`, []string{"worker"}, ""},
		{"isEmpty", `{"combinator": "and", "rules": [` + bp + `, {"property": "version", "operator": "isEmpty"}]}`, []string{"worker"}, ""},
		{"or", `{"combinator": "or", "rules": [{"property": "$identifier", "operator": "=", "value": "web"}, {"property": "$identifier", "operator": "=", "value": "d1"}]}`, []string{"d1", "web"}, ""},
		{"nested", `{"combinator": "and", "rules": [` + bp + `, {"combinator": "or", "rules": [{"property": "stage", "operator": "=", "value": "dev"}, {"property": "replicas", "operator": ">", "value": 5}]}]}`, []string{"web", "worker"}, ""},
		{"relation", `{"combinator": "and", "rules": [{"relation": "service", "operator": "=", "value": "api"}]}`, []string{"d1"}, ""},
		{"many relation in", `{"combinator": "and", "rules": [{"relation": "dependsOn", "operator": "in", "value": ["web"]}]}`, []string{"d1"}, ""},
		{"bad combinator", `{"combinator": "xor", "rules": []}`, nil, "combinator"},
		{"bad operator", `{"combinator": "and", "rules": [{"property": "stage", "operator": "~", "value": "x"}]}`, nil, "rules[0].operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q catalog.Query
			if err := json.Unmarshal([]byte(tc.query), &q); err != nil {
				t.Fatal(err)
			}
			es, err := s.Search(ctx, q)
			if tc.bad != "" {
				paths := problemPaths(t, err)
				if !slices.ContainsFunc(paths, func(p string) bool { return strings.HasSuffix(p, tc.bad) }) {
					t.Errorf("problems at %q, want one at %q", paths, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Identifier)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("search = %q, want %q", got, tc.want)
			}
		})
	}
}
