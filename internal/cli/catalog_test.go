package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const catalogExamples = "../../examples/catalog"

// catalogEntities is a YAML manifest: a deployment listed before the
// service it relates to, so that apply must order them.
const catalogEntities = `
entities:
  - blueprint: deployment
    identifier: checkout-v2
    properties: {version: "2.0", environment: production, promotedAt: "2024-05-01T10:00:00Z"}
    relations: {service: checkout}
  - blueprint: service
    identifier: checkout
    title: Checkout
    properties: {stage: production, version: "2.0"}
`

// apply, apply again, change one entity, read back: created, unchanged,
// updated; get prints Port's entity shape.
func TestCatalogApplyIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	ents := filepath.Join(dir, "entities.yaml")
	if err := os.WriteFile(ents, []byte(catalogEntities), 0o600); err != nil {
		t.Fatal(err)
	}
	// The deployment blueprint relates to service and is given first.
	files := []string{"-f", catalogExamples + "/deployment.blueprint.json", "-f", catalogExamples + "/service.blueprint.json", "-f", ents}
	steps := []struct {
		name string
		want []string
	}{
		{"first", []string{"blueprint service created", "blueprint deployment created", "entity service/checkout created", "entity deployment/checkout-v2 created"}},
		{"again", []string{"blueprint service unchanged", "blueprint deployment unchanged", "entity service/checkout unchanged", "entity deployment/checkout-v2 unchanged"}},
	}
	for _, s := range steps {
		r := sluice(t, "", append([]string{"catalog", "apply", "--data-dir", dir}, files...)...)
		if r.code != 0 {
			t.Fatalf("%s apply: exit %d: %s", s.name, r.code, r.stderr)
		}
		if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); strings.Join(got, "|") != strings.Join(s.want, "|") {
			t.Errorf("%s apply printed %q, want %q", s.name, got, s.want)
		}
	}
	changed := strings.Replace(catalogEntities, `version: "2.0"}`, `version: "2.1"}`, 1)
	r := sluice(t, changed, "catalog", "apply", "--data-dir", dir, "-f", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "entity service/checkout updated") || !strings.Contains(r.stdout, "entity deployment/checkout-v2 unchanged") {
		t.Errorf("apply of a changed entity: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = sluice(t, "", "catalog", "get", "service", "checkout", "--data-dir", dir)
	var e map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || r.code != 0 {
		t.Fatalf("get: exit %d, %v: %s%s", r.code, err, r.stdout, r.stderr)
	}
	if e["title"] != "Checkout" || e["blueprint"] != "service" || e["createdBy"] != "cli" || field(e, "properties", "version") != "2.1" {
		t.Errorf("get service checkout = %v", e)
	}
	r = sluice(t, "", "catalog", "get", "deployment", "--data-dir", dir)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || field(list[0], "relations", "service") != "checkout" {
		t.Errorf("get deployment: exit %d, %v: %s", r.code, err, r.stdout)
	}
	for _, args := range [][]string{{"nope"}, {"service", "nope"}} {
		r := sluice(t, "", append([]string{"catalog", "get", "--data-dir", dir}, args...)...)
		if r.code != ExitFailed || !strings.Contains(r.stderr, "nope") || !strings.Contains(r.stderr, "not found") {
			t.Errorf("get %v: exit %d, stderr %q; want 1 naming what is missing", args, r.code, r.stderr)
		}
	}
}

// field walks a decoded JSON object.
func field(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// Every bad file exits 2 naming the file and the path, and changes
// nothing: the blueprints of a bad file are not created either.
func TestCatalogApplyRejects(t *testing.T) {
	t.Parallel()
	service, err := os.ReadFile(catalogExamples + "/service.blueprint.json")
	if err != nil {
		t.Fatal(err)
	}
	withService := func(entities string) string {
		return `{"blueprints": [` + string(service) + `], "entities": ` + entities + `}`
	}
	tests := []struct {
		name, file string
		want       []string
	}{
		{"not JSON or YAML", "{", []string{"m.yaml: ", "neither JSON nor YAML"}},
		{"a list", "[1]", []string{"m.yaml: ", "must be an object"}},
		{"unknown top-level field", `{"blueprint": []}`, []string{"m.yaml: blueprint: unknown field"}},
		{"unknown blueprint field", `{"blueprints": [{"identifier": "x", "schema": {"properties": {}}, "colour": 1}]}`, []string{"m.yaml: blueprints[0]: does not decode", "colour"}},
		{"bad property type", `{"blueprints": [{"identifier": "x", "schema": {"properties": {"a": {"type": "str"}}}}]}`, []string{"m.yaml: blueprints[0].schema.properties.a.type: must be one of"}},
		{"relation to no blueprint", `{"blueprints": [{"identifier": "x", "schema": {"properties": {}}, "relations": {"r": {"target": "nope"}}}]}`, []string{`m.yaml: blueprints[0].relations.r.target: no blueprint "nope"`}},
		{"blueprint cycle", `{"blueprints": [{"identifier": "a", "schema": {"properties": {}}, "relations": {"b": {"target": "b"}}}, {"identifier": "b", "schema": {"properties": {}}, "relations": {"a": {"target": "a"}}}]}`, []string{"m.yaml: blueprints[0]: the relations of blueprints a, b form a cycle"}},
		{"entity without identifier", withService(`[{"blueprint": "service", "properties": {"stage": "staging"}}]`), []string{"m.yaml: entities[0].identifier: is required"}},
		{"entity without blueprint", withService(`[{"identifier": "a", "properties": {"stage": "staging"}}]`), []string{"m.yaml: entities[0].blueprint: is required"}},
		{"entity of no blueprint", withService(`[{"blueprint": "nope", "identifier": "a"}]`), []string{`m.yaml: entities[0].blueprint: no blueprint "nope"`}},
		{"property outside its enum", withService(`[{"blueprint": "service", "identifier": "a", "properties": {"stage": "prod"}}]`), []string{"m.yaml: entities[0].properties.stage"}},
		{"missing required property", withService(`[{"blueprint": "service", "identifier": "a"}]`), []string{"m.yaml: entities[0].properties", "stage"}},
		{"entity twice", withService(`[{"blueprint": "service", "identifier": "a", "properties": {"stage": "staging"}}, {"blueprint": "service", "identifier": "a", "properties": {"stage": "staging"}}]`), []string{"m.yaml: entities[1].identifier: entity service/a is given twice"}},
		{"relation to no entity", `{"blueprints": [` + string(service) + `, {"identifier": "d", "schema": {"properties": {}}, "relations": {"service": {"target": "service"}}}], "entities": [{"blueprint": "d", "identifier": "d1", "relations": {"service": "ghost"}}]}`, []string{"m.yaml: entities[0].relations: no entity service/ghost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDir(t)
			path := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			r := sluice(t, "", "catalog", "apply", "--data-dir", dir, "-f", path)
			if r.code != ExitInvalid {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, ExitInvalid, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, strings.Replace(w, "m.yaml", path, 1)) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			if r.stdout != "" {
				t.Errorf("something was applied: %s", r.stdout)
			}
			for _, bp := range []string{"service", "x", "a"} {
				if g := sluice(t, "", "catalog", "get", bp, "--data-dir", dir); g.code == 0 {
					t.Errorf("blueprint %s exists after a rejected apply: %s", bp, g.stdout)
				}
			}
		})
	}
}
