package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// runsOf returns the runs of a workflow.
func runsOf(t *testing.T, e *env, wf string) []store.Run {
	t.Helper()
	rs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{WorkflowIDs: []string{wf}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// waitRuns waits until the workflow has n runs, all COMPLETED.
func waitRuns(t *testing.T, e *env, wf string, n int) []store.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing assertion
	for {
		rs := runsOf(t, e, wf)
		done := len(rs) == n
		for _, r := range rs {
			done = done && r.Status == store.StatusCompleted
		}
		if done {
			return rs
		}
		if len(rs) > n || time.Now().After(deadline) {
			t.Fatalf("workflow %s has %d runs, want %d", wf, len(rs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pendingEvents is how many catalog events wait in the outbox.
func pendingEvents(t *testing.T, e *env) int {
	evs, err := e.st.PendingCatalogEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func eventWorkflow(id, typ, bp string, exprs ...string) map[string]any {
	trig := map[string]any{"type": "EVENT_TRIGGER", "event": map[string]any{"type": typ, "blueprintIdentifier": bp}}
	if len(exprs) > 0 {
		trig["condition"] = map[string]any{"type": "JQ", "expressions": exprs, "combinator": "and"}
	}
	return map[string]any{"identifier": id, "nodes": []any{
		map[string]any{"identifier": "trigger", "config": trig},
		map[string]any{"identifier": "record", "config": map[string]any{"type": "UPSERT_ENTITY", "blueprintIdentifier": "deployment",
			"mapping": map[string]any{
				"identifier": "{{ .outputs.trigger.diff.after.identifier }}-{{ .outputs.trigger.diff.after.properties.stage }}",
				"title":      "{{ .outputs.trigger.action }}",
				"properties": map[string]any{"version": "{{ .outputs.trigger.diff.before.properties.stage // \"none\" }}"},
				"relations":  map[string]any{"service": "{{ .outputs.trigger.diff.after.identifier }}"},
			}}},
	}, "connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "record"}}}
}

func TestEventTrigger(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	e.do("POST", "/v1/blueprints", e.admin, serviceBP).expect(t, http.StatusCreated)
	e.do("POST", "/v1/blueprints", e.admin, deploymentBP).expect(t, http.StatusCreated)
	e.createWorkflow(eventWorkflow("on-promote", "ENTITY_UPDATED", "service", `.diff.after.properties.stage == "production"`, `.diff.before.properties.stage != "production"`))
	e.createWorkflow(eventWorkflow("on-create", "ENTITY_CREATED", "service"))
	deletes := map[string]any{"identifier": "on-any", "nodes": []any{
		map[string]any{"identifier": "trigger", "config": map[string]any{"type": "EVENT_TRIGGER", "event": map[string]any{"type": "ANY_ENTITY_CHANGE", "blueprintIdentifier": "deployment"},
			"condition": map[string]any{"type": "JQ", "expressions": []any{`.action == "DELETE"`}}}},
	}, "connections": []any{}}
	e.createWorkflow(deletes)

	e.do("POST", "/v1/blueprints/service/entities", e.admin, map[string]any{"identifier": "api", "properties": map[string]any{"stage": "staging"}}).expect(t, 201)
	runs := waitRuns(t, e, "on-create", 1)
	if runs[0].CreatedBy != "automation" {
		t.Errorf("createdBy = %q, want automation", runs[0].CreatedBy)
	}
	nrs, _ := e.st.NodeRuns(context.Background(), runs[0].Identifier)
	var out map[string]any
	_ = json.Unmarshal(nrs[0].Output.Bytes(), &out)
	if out["action"] != "CREATE" || out["diff"].(map[string]any)["before"] != nil || out["diff"].(map[string]any)["after"].(map[string]any)["identifier"] != "api" {
		t.Errorf("trigger output = %v", out)
	}
	// UPSERT_ENTITY created the deployment, linked to the service.
	d := e.do("GET", "/v1/blueprints/deployment/entities/api-staging", e.admin, nil).expect(t, 200).obj("entity")
	if d["title"] != "CREATE" || d["relations"].(map[string]any)["service"] != "api" || d["createdBy"] != runs[0].Identifier {
		t.Errorf("deployment = %v", d)
	}
	if nrs[1].Result != store.ResultSuccess || !strings.Contains(string(nrs[1].Output.Bytes()), `"data"`) {
		t.Errorf("UPSERT_ENTITY node = %s %s", nrs[1].Result, nrs[1].Output.Bytes())
	}

	// An update that the condition rejects starts nothing; the promotion
	// starts exactly one run.
	e.do("PATCH", "/v1/blueprints/service/entities/api", e.admin, map[string]any{"title": "API"}).expect(t, 200)
	e.do("PATCH", "/v1/blueprints/service/entities/api", e.admin, map[string]any{"properties": map[string]any{"stage": "production"}}).expect(t, 200)
	waitRuns(t, e, "on-promote", 1)
	waitOutbox(t, e)
	if n := len(runsOf(t, e, "on-promote")); n != 1 {
		t.Fatalf("on-promote has %d runs, want 1", n)
	}
	d = e.do("GET", "/v1/blueprints/deployment/entities/api-production", e.admin, nil).expect(t, 200).obj("entity")
	if d["title"] != "UPDATE" || d["properties"].(map[string]any)["version"] != "staging" {
		t.Errorf("deployment of the promotion = %v (diff.before is the staging entity)", d)
	}
	// The upserts of deployments were changes too: on-any reacts only to
	// deletes.
	if n := len(runsOf(t, e, "on-any")); n != 0 {
		t.Errorf("on-any ran %d times before any delete", n)
	}
	e.do("DELETE", "/v1/blueprints/deployment/entities/api-staging", e.admin, nil).expect(t, 200)
	runs = waitRuns(t, e, "on-any", 1)
	nrs, _ = e.st.NodeRuns(context.Background(), runs[0].Identifier)
	out = nil
	_ = json.Unmarshal(nrs[0].Output.Bytes(), &out)
	if out["action"] != "DELETE" || out["diff"].(map[string]any)["after"] != nil || out["diff"].(map[string]any)["before"].(map[string]any)["identifier"] != "api-staging" {
		t.Errorf("delete trigger output = %v", out)
	}
}

// waitOutbox waits until every catalog event was handled.
func waitOutbox(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for pendingEvents(t, e) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the outbox never drained")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventLoopGuard(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	counter := map[string]any{"identifier": "counter", "schema": map[string]any{"properties": map[string]any{"n": map[string]any{"type": "number"}}}}
	e.do("POST", "/v1/blueprints", e.admin, counter).expect(t, 201)
	// Each run updates the entity that triggered it: a loop.
	e.createWorkflow(map[string]any{"identifier": "loop", "nodes": []any{
		map[string]any{"identifier": "trigger", "config": map[string]any{"type": "EVENT_TRIGGER", "event": map[string]any{"type": "ANY_ENTITY_CHANGE", "blueprintIdentifier": "counter"}}},
		map[string]any{"identifier": "bump", "config": map[string]any{"type": "UPSERT_ENTITY", "blueprintIdentifier": "counter",
			"mapping": map[string]any{"identifier": "c", "properties": map[string]any{"n": "{{ .outputs.trigger.diff.after.properties.n + 1 }}"}}}},
	}, "connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "bump"}}})
	e.do("POST", "/v1/blueprints/counter/entities", e.admin, map[string]any{"identifier": "c", "properties": map[string]any{"n": 0}}).expect(t, 201)
	runs := waitRuns(t, e, "loop", 10)
	waitOutbox(t, e)
	if n := len(runsOf(t, e, "loop")); n != 10 {
		t.Fatalf("the loop ran %d times, want 10", n)
	}
	c := e.do("GET", "/v1/blueprints/counter/entities/c", e.admin, nil).expect(t, 200).obj("entity")
	if n, _ := c["properties"].(map[string]any)["n"].(float64); n != 10 {
		t.Errorf("n = %v, want 10", c["properties"])
	}
	// The last run's node carries the warning.
	var warned bool
	for _, r := range runs {
		nrs, _ := e.st.NodeRuns(context.Background(), r.Identifier)
		logs, _ := e.st.Logs(context.Background(), nrs[len(nrs)-1].Identifier)
		for _, l := range logs {
			if l.Level == "WARN" && strings.Contains(l.Message.String(), "starts no run") {
				warned = true
			}
		}
	}
	if !warned {
		t.Error("no run carries the loop guard's warning")
	}
}

// TestCatalogExample runs examples/catalog as the README shows it.
func TestCatalogExample(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "catalog", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	e.do("POST", "/v1/blueprints", e.admin, read("service.blueprint.json")).expect(t, 201)
	e.do("POST", "/v1/blueprints", e.admin, read("deployment.blueprint.json")).expect(t, 201)
	e.do("POST", "/v1/workflows", e.admin, read("record-promotion.workflow.json")).expect(t, 201)
	e.do("POST", "/v1/blueprints/service/entities", e.admin, map[string]any{"identifier": "api", "properties": map[string]any{"stage": "staging", "version": "1.4.0"}}).expect(t, 201)
	e.do("PATCH", "/v1/blueprints/service/entities/api", e.admin, map[string]any{"properties": map[string]any{"stage": "production"}}).expect(t, 200)
	runs := waitRuns(t, e, "record-promotion", 1)
	if runs[0].Result != store.ResultSuccess {
		nrs, _ := e.st.NodeRuns(context.Background(), runs[0].Identifier)
		t.Fatalf("the example's run ended %s: %s", runs[0].Result, nrs[len(nrs)-1].Output.Bytes())
	}
	e.do("GET", "/v1/blueprints/deployment/entities/api-1.4.0-production", e.admin, nil).expect(t, 200)
}
