package upsert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/upsert"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// blueprints are service (stage, required; replicas 1..9; tier with a
// default) and deployment (version; a required relation to a service).
var blueprints = []string{
	`{"identifier": "service", "schema": {"properties": {
		"stage": {"type": "string", "enum": ["dev", "prod"]},
		"replicas": {"type": "number", "minimum": 1, "maximum": 9},
		"tier": {"type": "string", "default": "standard"}},
		"required": ["stage"]}}`,
	`{"identifier": "deployment", "schema": {"properties": {"version": {"type": "string"}}},
		"relations": {"service": {"target": "service", "required": true, "many": false}}}`,
}

// env is a catalog over a SQLite file in a temporary directory, with the
// two blueprints and a service entity "api".
type env struct {
	st  *sqlite.Store
	cat *catalog.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat := catalog.New(st, catalog.Options{})
	for _, def := range blueprints {
		var bp catalog.Blueprint
		if err := json.Unmarshal([]byte(def), &bp); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CreateBlueprint(ctx, bp, "test"); err != nil {
			t.Fatalf("create blueprint %s: %v", bp.Identifier, err)
		}
	}
	stage := "dev"
	if _, err := cat.WriteEntity(ctx, "service", catalog.EntityInput{Identifier: "api", Title: &stage, Properties: map[string]any{"stage": "dev"}}, catalog.Create, catalog.Origin{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, cat: cat}
}

// decode turns a JSON object into a node config as the engine renders it.
func decode(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("config %s: %v", js, err)
	}
	return m
}

// TestExecute runs the executor on rendered configs: each case is one
// node execution on the same catalog, in order, so that a case may update
// what an earlier one created. A failing case names the paths its error
// and its ERROR log lines must hold, and must change nothing stored.
func TestExecute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	x := upsert.New(e.cat)
	tests := []struct {
		name   string
		config string
		// On success: the entity as stored after the write.
		bp, id string
		check  func(t *testing.T, got catalog.Entity)
		// On failure: substrings of the error, and the problems' paths
		// each logged at ERROR.
		wantErr []string
		logged  []string
	}{
		{
			name: "create with every mapping field",
			config: `{"blueprintIdentifier": "service", "mapping": {"identifier": "web", "title": "Web", "icon": "Microservice",
				"team": ["platform", "sre"], "properties": {"stage": "dev", "replicas": 2}, "relations": {}}}`,
			bp: "service", id: "web",
			check: func(t *testing.T, got catalog.Entity) {
				if got.Title != "Web" || got.Icon != "Microservice" || strings.Join(got.Team, ",") != "platform,sre" {
					t.Errorf("title/icon/team = %q %q %v", got.Title, got.Icon, got.Team)
				}
				if got.Properties["stage"] != "dev" || got.Properties["replicas"] != float64(2) || got.Properties["tier"] != "standard" {
					t.Errorf("properties = %v (tier takes its default)", got.Properties)
				}
				if got.CreatedBy != "wfr_1" || got.UpdatedBy != "wfr_1" {
					t.Errorf("createdBy/updatedBy = %q/%q, want the run", got.CreatedBy, got.UpdatedBy)
				}
			},
		},
		{
			name:   "update merges: the given properties replace theirs, others stay",
			config: `{"blueprintIdentifier": "service", "mapping": {"identifier": "web", "properties": {"stage": "prod"}}}`,
			bp:     "service", id: "web",
			check: func(t *testing.T, got catalog.Entity) {
				if got.Properties["stage"] != "prod" || got.Properties["replicas"] != float64(2) || got.Title != "Web" || len(got.Team) != 2 {
					t.Errorf("after the update = %+v", got)
				}
				if got.CreatedBy != "wfr_1" || got.UpdatedBy != "wfr_2" || !got.UpdatedAt.After(got.CreatedAt) {
					t.Errorf("createdBy %q updatedBy %q created %v updated %v", got.CreatedBy, got.UpdatedBy, got.CreatedAt, got.UpdatedAt)
				}
			},
		},
		{
			name:   "team as one string",
			config: `{"blueprintIdentifier": "service", "mapping": {"identifier": "web", "team": "platform"}}`,
			bp:     "service", id: "web",
			check: func(t *testing.T, got catalog.Entity) {
				if len(got.Team) != 1 || got.Team[0] != "platform" {
					t.Errorf("team = %v", got.Team)
				}
			},
		},
		{
			name:   "a relation to an existing entity",
			config: `{"blueprintIdentifier": "deployment", "mapping": {"identifier": "web-1", "properties": {"version": "1.0"}, "relations": {"service": "web"}}}`,
			bp:     "deployment", id: "web-1",
			check: func(t *testing.T, got catalog.Entity) {
				if got.Relations["service"] != "web" || got.Blueprint != "deployment" {
					t.Errorf("relations = %v", got.Relations)
				}
			},
		},
		{
			name:    "validation failure lists each problem with its path",
			config:  `{"blueprintIdentifier": "service", "mapping": {"identifier": "bad", "properties": {"stage": "qa", "replicas": 10}}}`,
			wantErr: []string{"(422)", "config.mapping.properties.stage", "config.mapping.properties.replicas"},
			logged:  []string{"config.mapping.properties.replicas: ", "config.mapping.properties.stage: "},
		},
		{
			name:    "a required property missing",
			config:  `{"blueprintIdentifier": "service", "mapping": {"identifier": "bad", "properties": {}}}`,
			wantErr: []string{"(422)", "config.mapping.properties"},
			logged:  []string{"config.mapping.properties: "},
		},
		{
			name:    "a relation to a missing entity",
			config:  `{"blueprintIdentifier": "deployment", "mapping": {"identifier": "ghost-1", "relations": {"service": "ghost"}}}`,
			wantErr: []string{"(422)", "config.mapping.relations: a related entity does not exist"},
			logged:  []string{"config.mapping.relations: "},
		},
		{
			name:    "a required relation missing",
			config:  `{"blueprintIdentifier": "deployment", "mapping": {"identifier": "orphan"}}`,
			wantErr: []string{"(422)", "config.mapping.relations.service: is a required relation"},
			logged:  []string{"config.mapping.relations.service: "},
		},
		{
			name:    "an unknown relation",
			config:  `{"blueprintIdentifier": "deployment", "mapping": {"identifier": "d2", "relations": {"service": "web", "owner": "x"}}}`,
			wantErr: []string{"(422)", "config.mapping.relations.owner"},
			logged:  []string{"config.mapping.relations.owner: "},
		},
		{
			name:    "a missing blueprint",
			config:  `{"blueprintIdentifier": "nope", "mapping": {"identifier": "x"}}`,
			wantErr: []string{"blueprint nope", "not found"},
		},
		{
			name:    "a bad identifier",
			config:  `{"blueprintIdentifier": "service", "mapping": {"identifier": "a b/c", "properties": {"stage": "dev"}}}`,
			wantErr: []string{"(422)", "config.mapping.identifier"},
			logged:  []string{"config.mapping.identifier: "},
		},
		{name: "blueprintIdentifier missing", config: `{"mapping": {"identifier": "x"}}`, wantErr: []string{"config.blueprintIdentifier: must be a non-empty string"}},
		{name: "mapping not an object", config: `{"blueprintIdentifier": "service", "mapping": "x"}`, wantErr: []string{"config.mapping: must be an object"}},
		{name: "title not a string", config: `{"blueprintIdentifier": "service", "mapping": {"identifier": "web", "title": 3}}`, wantErr: []string{"config.mapping.title: must be a string"}},
		{name: "identifier not a string", config: `{"blueprintIdentifier": "service", "mapping": {"identifier": ["web"]}}`, wantErr: []string{"config.mapping.identifier: must be a string"}},
		{name: "properties not an object", config: `{"blueprintIdentifier": "service", "mapping": {"identifier": "web", "properties": "stage"}}`, wantErr: []string{"config.mapping.properties: must be an object"}},
		{name: "relations not an object", config: `{"blueprintIdentifier": "deployment", "mapping": {"identifier": "d", "relations": ["web"]}}`, wantErr: []string{"config.mapping.relations: must be an object"}},
	}
	runs := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs++
			runID := fmt.Sprintf("wfr_%d", runs)
			before := entityCount(t, e)
			var logs []string
			req := &node.Request{RunID: runID, NodeRunID: "wfnr_" + runID[4:], Config: decode(t, tc.config),
				Log: func(level, msg string) { logs = append(logs, level+" "+msg) }}
			res, err := x.Execute(ctx, req)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("accepted, want an error holding %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not hold %q", err, w)
					}
				}
				var errLines []string
				for _, l := range logs {
					if strings.HasPrefix(l, node.LevelError+" ") {
						errLines = append(errLines, l)
					}
				}
				if len(errLines) != len(tc.logged) {
					t.Errorf("ERROR log lines %q, want one per problem %q", errLines, tc.logged)
				}
				for i := range min(len(errLines), len(tc.logged)) {
					if !strings.HasPrefix(errLines[i], node.LevelError+" "+tc.logged[i]) {
						t.Errorf("log line %d = %q, want it to start with %q", i, errLines[i], tc.logged[i])
					}
				}
				if n := entityCount(t, e); n != before {
					t.Errorf("a failed write changed the catalog: %d entities, was %d", n, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			stored, gerr := e.cat.GetEntity(ctx, tc.bp, tc.id)
			if gerr != nil {
				t.Fatal(gerr)
			}
			tc.check(t, stored)
			// The output is {"response": {"data": <the entity as stored>}},
			// as JSON: the engine stores and templates see it so.
			assertOutput(t, res.Output, stored)
		})
	}
}

// assertOutput checks that out marshals as {"response": {"data": e}}.
func assertOutput(t *testing.T, out any, e catalog.Entity) {
	t.Helper()
	got, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(e)
	want := `{"response":{"data":` + string(data) + `}}`
	if string(got) != want {
		t.Errorf("output\n got %s\nwant %s", got, want)
	}
}

func entityCount(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	for _, bp := range []string{"service", "deployment"} {
		es, err := e.cat.ListEntities(context.Background(), bp)
		if err != nil {
			t.Fatal(err)
		}
		n += len(es)
	}
	return n
}

// mappingWorkflow takes a service's fields as inputs and upserts it, then
// records a deployment related to it, every mapping field templated.
const mappingWorkflow = `{"identifier": "record", "nodes": [
	{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {
		"name": {"type": "string"}, "stage": {"type": "string"}, "replicas": {"type": "number"},
		"team": {"type": "string"}, "icon": {"type": "string"}, "version": {"type": "string"}}}}},
	{"identifier": "service", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "service", "mapping": {
		"identifier": "{{ .outputs.trigger.name }}",
		"title": "{{ .outputs.trigger.name | ascii_upcase }} ({{ .outputs.trigger.stage }})",
		"icon": "{{ .outputs.trigger.icon }}",
		"team": ["{{ .outputs.trigger.team }}"],
		"properties": {"stage": "{{ .outputs.trigger.stage }}", "replicas": "{{ .outputs.trigger.replicas }}"}}}},
	{"identifier": "deploy", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "deployment", "mapping": {
		"identifier": "{{ .outputs.service.response.data.identifier }}-{{ .outputs.trigger.version }}",
		"properties": {"version": "{{ .outputs.trigger.version }}"},
		"relations": {"service": "{{ .outputs.service.response.data.identifier }}"}}}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "service"}, {"sourceIdentifier": "service", "targetIdentifier": "deploy"}]}`

// runWorkflow starts and drives one run of mappingWorkflow with inputs and
// returns it with its node runs.
func runWorkflow(t *testing.T, e *env, inputs map[string]any) (store.Run, []store.NodeRun) {
	t.Helper()
	ctx := context.Background()
	wf, problems := workflow.Parse([]byte(mappingWorkflow))
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := e.st.GetWorkflow(ctx, wf.Identifier)
	if errors.Is(err, store.ErrNotFound) {
		rec, err = e.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "test"})
	}
	if err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	upsert.Register(reg, e.cat)
	eng := engine.New(engine.Options{Store: e.st, Nodes: reg})
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: inputs, Actor: engine.Actor{ID: "usr_test"}})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	nrs, err := e.st.NodeRuns(ctx, run.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	return run, nrs
}

// TestMappingTemplates renders every mapping field from the run's context
// (the trigger's inputs, the previous node's output) through the engine,
// creates the entities, then updates them with a second run.
func TestMappingTemplates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name     string
		inputs   map[string]any
		wantTeam string
	}{
		{"create", map[string]any{"name": "shop", "stage": "dev", "replicas": 2, "team": "web", "icon": "Cart", "version": "1.0"}, "web"},
		{"update", map[string]any{"name": "shop", "stage": "prod", "replicas": 4, "team": "sre", "icon": "Cart", "version": "1.1"}, "sre"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run, nrs := runWorkflow(t, e, tc.inputs)
			if run.Result != store.ResultSuccess || len(nrs) != 3 {
				t.Fatalf("run %s result %q with %d node runs", run.Identifier, run.Result, len(nrs))
			}
			svc, err := e.cat.GetEntity(ctx, "service", "shop")
			if err != nil {
				t.Fatal(err)
			}
			wantTitle := "SHOP (" + tc.inputs["stage"].(string) + ")"
			if svc.Title != wantTitle || svc.Icon != "Cart" || len(svc.Team) != 1 || svc.Team[0] != tc.wantTeam {
				t.Errorf("service = title %q icon %q team %v", svc.Title, svc.Icon, svc.Team)
			}
			// A whole-string template keeps the value's type: replicas is
			// a number, as the blueprint requires.
			if svc.Properties["stage"] != tc.inputs["stage"] || svc.Properties["replicas"] != float64(tc.inputs["replicas"].(int)) {
				t.Errorf("service properties = %v", svc.Properties)
			}
			if svc.UpdatedBy != run.Identifier {
				t.Errorf("updatedBy = %q, want the run %s", svc.UpdatedBy, run.Identifier)
			}
			// The node's stored output is the entity as stored.
			var out struct {
				Response struct {
					Data catalog.Entity `json:"data"`
				} `json:"response"`
			}
			if err := json.Unmarshal(nrs[1].Output.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if out.Response.Data.Identifier != "shop" || !out.Response.Data.UpdatedAt.Equal(svc.UpdatedAt) || out.Response.Data.Title != svc.Title {
				t.Errorf("node output = %s, stored %+v", nrs[1].Output.Bytes(), svc)
			}
			dep, err := e.cat.GetEntity(ctx, "deployment", "shop-"+tc.inputs["version"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if dep.Relations["service"] != "shop" || dep.Properties["version"] != tc.inputs["version"] {
				t.Errorf("deployment = %+v", dep)
			}
		})
	}
	svc, _ := e.cat.GetEntity(ctx, "service", "shop")
	if svc.CreatedBy == svc.UpdatedBy {
		t.Errorf("after two runs createdBy and updatedBy are both %q", svc.CreatedBy)
	}
}

// TestFailedUpsertFailsTheRun: a rendered mapping the blueprint rejects
// fails the node, its log names each problem's path, and the run fails.
func TestFailedUpsertFailsTheRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	run, nrs := runWorkflow(t, e, map[string]any{"name": "shop", "stage": "qa", "replicas": 20, "team": "web", "icon": "x", "version": "1"})
	if run.Result != store.ResultFailed {
		t.Fatalf("run result %q, want %s", run.Result, store.ResultFailed)
	}
	if len(nrs) != 2 || nrs[1].Result != store.ResultFailed {
		t.Fatalf("node runs %+v", nrs)
	}
	logs, err := e.st.Logs(ctx, nrs[1].Identifier)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, l := range logs {
		all = append(all, l.Level+" "+l.Message.String())
	}
	text := strings.Join(all, "\n")
	for _, w := range []string{"ERROR config.mapping.properties.stage: ", "ERROR config.mapping.properties.replicas: ", "(422)"} {
		if !strings.Contains(text, w) {
			t.Errorf("logs do not hold %q:\n%s", w, text)
		}
	}
	if _, err := e.cat.GetEntity(ctx, "service", "shop"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("the rejected entity was stored: %v", err)
	}
}

// TestSecretInMappingRejected: mapping is stored in the catalog, so a
// secret there is refused when the workflow is validated, with its path.
func TestSecretInMappingRejected(t *testing.T) {
	tests := []struct{ name, mapping, path string }{
		{"identifier", `{"identifier": "{{ .secrets.TOKEN }}"}`, "nodes[1].config.mapping.identifier"},
		{"title", `{"identifier": "x", "title": "t {{ .secrets.TOKEN }}"}`, "nodes[1].config.mapping.title"},
		{"team", `{"identifier": "x", "team": ["{{ .secrets.TOKEN }}"]}`, "nodes[1].config.mapping.team"},
		{"property", `{"identifier": "x", "properties": {"k": "{{ .secrets.TOKEN }}"}}`, "nodes[1].config.mapping.properties.k"},
		{"relation", `{"identifier": "x", "relations": {"service": "{{ .secrets.TOKEN }}"}}`, "nodes[1].config.mapping.relations.service"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := `{"identifier": "w", "nodes": [{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {}}}},
				{"identifier": "u", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "service", "mapping": ` + tc.mapping + `}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "u"}]}`
			_, problems := workflow.Parse([]byte(def))
			err := problems.Err()
			if err == nil {
				t.Fatal("accepted a secret in mapping")
			}
			found := false
			for _, p := range problems.Errors {
				if strings.HasPrefix(p.Path, tc.path) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %s: %v", tc.path, err)
			}
		})
	}
}
