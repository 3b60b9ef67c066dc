package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/node/integration"
	"github.com/sluice-run/sluice/internal/store"
)

// agentKey is the value of the secret AGENT_KEY, which the integration's
// client receives rendered in the node's config (as claim-pending gives
// it); the env's own secretValue must never be answered.
const agentKey = "ag3nt-key-5e4d3c2b1a09"

// newOceanEnv is an env with the INTEGRATION_ACTION executor, the
// installation "agents" of an external provider, and a workflow "agent"
// whose INTEGRATION_ACTION node reads the trigger's input and a secret.
func newOceanEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, func(o *Options) {
		integration.Register(o.Nodes, integration.New(integration.Options{Installations: o.Store.(integration.Installations)}))
	})
	e.do("POST", "/v1/organization/secrets", e.admin, map[string]any{"secretName": "AGENT_KEY", "secretValue": agentKey}).expect(t, http.StatusCreated)
	e.do("POST", "/v1/integrations", e.admin, map[string]any{"installationId": "agents", "provider": "ai-agents"}).expect(t, http.StatusCreated)
	e.do("POST", "/v1/integrations", e.admin, map[string]any{"installationId": "others", "provider": "ai-agents"}).expect(t, http.StatusCreated)
	e.createWorkflow(map[string]any{
		"identifier": "agent", "title": "Agent",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER",
				"userInputs": map[string]any{"properties": map[string]any{"env": map[string]any{"type": "string", "default": "dev"}}}}},
			map[string]any{"identifier": "agent", "config": map[string]any{
				"type": "INTEGRATION_ACTION", "installationId": "agents", "integrationProvider": "ai-agents",
				"integrationInvocationType": "run_agent",
				"integrationActionExecutionProperties": map[string]any{
					"prompt":               "deploy {{ .outputs.trigger.env }}",
					"token":                "{{ .secrets.AGENT_KEY }}",
					"reportPipelineStatus": true,
				}}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "agent"}},
	})
	return e
}

// lookup is Ocean's get_wf_node_run_by_external_id: GET with
// external_run_id and include=nodeConfig; it returns nodeRuns.
func (e *env) lookup(t *testing.T, token, externalID string) []map[string]any {
	t.Helper()
	q := url.Values{"external_run_id": {externalID}, "include": {"nodeConfig"}}
	got := e.do("GET", "/v1/workflows/nodes/runs?"+q.Encode(), token, nil).expect(t, http.StatusOK)
	var out []map[string]any
	for _, n := range got.body["nodeRuns"].([]any) {
		out = append(out, n.(map[string]any))
	}
	return out
}

// TestOceanExternalRunFlow follows an Ocean integration's calls in their
// order (port_ocean/clients/port/mixins/workflow_nodes.py and
// actions_and_workflow_runs.py): claim-pending, ack, the PATCH of
// update_run_started with externalRunId, the lookup a provider's webhook
// makes (get_wf_node_run_by_external_id, include=nodeConfig), and the PATCH
// of report_run_completed. What it reads of each answer is what Ocean's
// WorkflowNodeRun model reads.
func TestOceanExternalRunFlow(t *testing.T) {
	t.Parallel()
	e := newOceanEnv(t)
	ocean := e.machine("integration:agents", "update:runs")
	runID := e.start("agent", e.admin)
	e.waiting(runID)

	claimed := e.do("POST", "/v1/workflows/runs/claim-pending", ocean,
		map[string]any{"installationId": "agents", "limit": 10, "visibilityTimeoutMs": 60000}).expect(t, http.StatusOK)
	nrs := claimed.body["nodeRuns"].([]any)
	if len(nrs) != 1 {
		t.Fatalf("claimed %d node runs, want 1: %s", len(nrs), claimed.raw)
	}
	wfnr := nrs[0].(map[string]any)["identifier"].(string)
	// Ocean's WorkflowNodeRun.WorkflowNode requires node.config.
	if cfg, _ := nrs[0].(map[string]any)["node"].(map[string]any)["config"].(map[string]any); cfg["integrationInvocationType"] == nil || cfg["installationId"] != "agents" {
		t.Errorf("claim-pending's node.config = %v, want the rendered config Ocean parses", cfg)
	}
	e.do("PATCH", "/v1/workflows/runs/ack", ocean, map[string]any{"nodeRunIdentifier": wfnr}).expect(t, http.StatusOK)

	// update_run_started.
	started := e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, ocean, map[string]any{
		"status": "IN_PROGRESS", "externalRunId": "42:1001",
		"output": map[string]any{"workflowRunUrl": "https://ci.example/42/1001"}, "links": []any{"https://ci.example/42/1001"},
	}).expect(t, http.StatusOK)
	if got := started.body["workflowNodeRun"].(map[string]any)["externalRunId"]; got != "42:1001" {
		t.Errorf("PATCH answer externalRunId = %v, want 42:1001: %s", got, started.raw)
	}

	// The run shows it on its INTEGRATION_ACTION node run.
	got := e.do("GET", "/v1/workflows/runs/"+runID, e.admin, nil).expect(t, http.StatusOK)
	var shown any
	for _, x := range got.body["workflowRun"].(map[string]any)["nodeRuns"].([]any) {
		if nr := x.(map[string]any); nr["identifier"] == wfnr {
			shown = nr["externalRunId"]
		}
	}
	if shown != "42:1001" {
		t.Errorf("the run's node run shows externalRunId %v, want 42:1001: %s", shown, got.raw)
	}

	// The provider's webhook: find the node run again.
	found := e.lookup(t, ocean, "42:1001")
	if len(found) != 1 {
		t.Fatalf("lookup found %d node runs, want 1", len(found))
	}
	nr := found[0]
	if nr["identifier"] != wfnr || nr["status"] != "IN_PROGRESS" || nr["externalRunId"] != "42:1001" || nr["workflowRunIdentifier"] != runID {
		t.Errorf("lookup answer = %v", nr)
	}
	if _, ok := nr["output"].(map[string]any); !ok {
		t.Errorf("output = %v, want an object (Ocean's model takes a dict)", nr["output"])
	}
	cfg, _ := nr["node"].(map[string]any)["config"].(map[string]any)
	for _, f := range []string{"type", "installationId", "integrationProvider", "integrationInvocationType", "integrationActionExecutionProperties"} {
		if _, ok := cfg[f]; !ok {
			t.Errorf("node.config lacks %s, which Ocean's WorkflowIntegrationActionConfig requires: %v", f, cfg)
		}
	}
	props, _ := cfg["integrationActionExecutionProperties"].(map[string]any)
	if props["prompt"] != "deploy prod" || props["token"] != agentKey || props["reportPipelineStatus"] != true {
		t.Errorf("node.config properties = %v, want them rendered as claim-pending renders them", props)
	}

	// report_run_completed.
	e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, ocean, map[string]any{"status": "COMPLETED", "result": "SUCCESS",
		"output": map[string]any{"workflowRunUrl": "https://ci.example/42/1001"}}).expect(t, http.StatusOK)
	if run := e.completed(runID); run.Result != store.ResultSuccess {
		t.Errorf("run result = %s, want SUCCESS", run.Result)
	}

	// A duplicate webhook finds the node run completed, its config as
	// defined: no secret is resolved for a finished node run.
	again := e.do("GET", "/v1/workflows/nodes/runs?external_run_id=42:1001&include=nodeConfig", ocean, nil).expect(t, http.StatusOK)
	if strings.Contains(again.raw, agentKey) || !strings.Contains(again.raw, `{{ .secrets.AGENT_KEY }}`) {
		t.Errorf("lookup of a completed node run: %s", again.raw)
	}
	if n := again.body["nodeRuns"].([]any)[0].(map[string]any); n["status"] != "COMPLETED" || n["result"] != "SUCCESS" {
		t.Errorf("lookup after completion = %v", n)
	}
}

// TestExternalRunIDLookupAccess checks who finds a tagged node run: the
// installation's integration client and an admin machine client with its
// config rendered, an Admin person with it as defined, everyone else an
// empty list (as for an unknown id, which is no 404: Ocean reads "no run"
// from an empty list and would fail on a 404).
func TestExternalRunIDLookupAccess(t *testing.T) {
	t.Parallel()
	e := newOceanEnv(t)
	runID := e.start("agent", e.admin)
	wfnr := e.waiting(runID)
	e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, e.admin, map[string]any{"externalRunId": "run-7"}).expect(t, http.StatusOK)

	tests := []struct {
		name     string
		token    string
		id       string
		found    bool
		rendered bool
	}{
		{"integration client", e.machine("integration:agents"), "run-7", true, true},
		{"admin machine client", e.machine("admin"), "run-7", true, true},
		{"admin person", e.user("ann@example.com", store.RoleAdmin), "run-7", true, false},
		{"another installation's client", e.machine("integration:others", "update:runs"), "run-7", false, false},
		{"update:runs only", e.machine("update:runs", "read:runs"), "run-7", false, false},
		{"member", e.user("bob@example.com", store.RoleMember), "run-7", false, false},
		{"unknown id", e.machine("integration:agents"), "run-8", false, false},
		{"prefix of the id", e.machine("integration:agents"), "run-", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.do("GET", "/v1/workflows/nodes/runs?external_run_id="+url.QueryEscape(tt.id)+"&include=nodeConfig", tt.token, nil).expect(t, http.StatusOK)
			nrs := got.body["nodeRuns"].([]any)
			if found := len(nrs) == 1; found != tt.found {
				t.Fatalf("found = %v, want %v: %s", found, tt.found, got.raw)
			}
			if tt.found && strings.Contains(got.raw, agentKey) != tt.rendered {
				t.Errorf("config rendered with its secret = %v, want %v: %s", !tt.rendered, tt.rendered, got.raw)
			}
		})
	}
	t.Run("without include no config", func(t *testing.T) {
		got := e.do("GET", "/v1/workflows/nodes/runs?external_run_id=run-7", e.machine("integration:agents"), nil).expect(t, http.StatusOK)
		if strings.Contains(got.raw, `"config"`) {
			t.Errorf("config given without include=nodeConfig: %s", got.raw)
		}
	})
}

// TestExternalRunIDBadInput: every bad input is refused naming where, and
// changes nothing stored.
func TestExternalRunIDBadInput(t *testing.T) {
	t.Parallel()
	e := newOceanEnv(t)
	runID := e.start("agent", e.admin)
	wfnr := e.waiting(runID)
	logsBefore, err := e.st.Logs(t.Context(), wfnr)
	if err != nil {
		t.Fatal(err)
	}

	patches := []struct {
		name string
		id   any
	}{
		{"empty", ""},
		{"too long", strings.Repeat("9", store.MaxExternalRunIDLen+1)},
		{"space", "run 7"},
		{"line break", "run-7\nINFO forged line"},
		{"not ASCII", "rün-7"},
		{"a number", 7},
	}
	for _, tt := range patches {
		t.Run("PATCH "+tt.name, func(t *testing.T) {
			got := e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, e.admin,
				map[string]any{"externalRunId": tt.id, "logs": []any{map[string]any{"logLevel": "INFO", "log": "started"}}},
				skipRequestValidation, "1").expect(t, http.StatusUnprocessableEntity)
			if !strings.Contains(got.raw, "externalRunId") || got.body["ok"] != false {
				t.Errorf("the 422 does not name externalRunId: %s", got.raw)
			}
		})
	}
	if logs, err := e.st.Logs(t.Context(), wfnr); err != nil || len(logs) != len(logsBefore) {
		t.Errorf("refused PATCHes added logs: %d lines, want %d (%v)", len(logs), len(logsBefore), err)
	}
	if m, err := e.st.ExternalRunIDs(t.Context(), []string{wfnr}); err != nil || len(m) != 0 {
		t.Errorf("refused PATCHes stored an external run id: %v, %v", m, err)
	}

	queries := []struct {
		name, query, names string
	}{
		{"unknown parameter", "external_run_id=run-7&externalRunId=run-7", "externalRunId"},
		{"misspelt include", "external_run_id=run-7&includes=nodeConfig", "includes"},
		{"missing id", "include=nodeConfig", "external_run_id"},
		{"id twice", "external_run_id=a&external_run_id=b", "external_run_id"},
		{"bad id", "external_run_id=run%207", "external_run_id"},
		{"bad include", "external_run_id=run-7&include=config", "include"},
	}
	for _, tt := range queries {
		t.Run("GET "+tt.name, func(t *testing.T) {
			got := e.do("GET", "/v1/workflows/nodes/runs?"+tt.query, e.admin, nil, skipRequestValidation, "1").expect(t, http.StatusBadRequest)
			if !strings.Contains(got.body["message"].(string), tt.names) {
				t.Errorf("the 400 does not name %s: %s", tt.names, got.raw)
			}
		})
	}
}

// TestExternalRunIDLifecycle: a second PATCH replaces the id, a finished
// node run takes none (409, nothing changed), and an id that holds a
// secret value the run used is stored masked, so it is neither shown nor
// found.
func TestExternalRunIDLifecycle(t *testing.T) {
	t.Parallel()
	e := newOceanEnv(t)
	ocean := e.machine("integration:agents", "update:runs")
	runID := e.start("agent", e.admin)
	wfnr := e.waiting(runID)
	patch := func(body map[string]any, status int) answer {
		t.Helper()
		return e.do("PATCH", "/v1/workflows/nodes/runs/"+wfnr, ocean, body).expect(t, status)
	}
	patch(map[string]any{"externalRunId": "first"}, http.StatusOK)
	patch(map[string]any{"externalRunId": "second"}, http.StatusOK)
	if len(e.lookup(t, ocean, "first")) != 0 || len(e.lookup(t, ocean, "second")) != 1 {
		t.Error("a second externalRunId did not replace the first")
	}
	got := patch(map[string]any{"externalRunId": "tok-" + agentKey}, http.StatusOK)
	if strings.Contains(got.raw, agentKey) {
		t.Errorf("the PATCH answer shows the secret value: %s", got.raw)
	}
	if len(e.lookup(t, ocean, "tok-"+agentKey)) != 0 {
		t.Error("an external run id holding a secret value was stored unmasked")
	}
	// Completing with an id in the same PATCH, as a one-shot integration may.
	patch(map[string]any{"status": "COMPLETED", "result": "SUCCESS", "externalRunId": "final"}, http.StatusOK)
	e.completed(runID)
	if n := e.lookup(t, ocean, "final"); len(n) != 1 || n[0]["status"] != "COMPLETED" {
		t.Errorf("lookup(final) = %v", n)
	}
	patch(map[string]any{"externalRunId": "late"}, http.StatusConflict)
	if len(e.lookup(t, ocean, "late")) != 0 {
		t.Error("an external run id was stored on a completed node run")
	}
}

// FuzzExternalRunID checks the external run id rule: what it accepts is 1
// to store.MaxExternalRunIDLen bytes of visible ASCII, and it never panics.
func FuzzExternalRunID(f *testing.F) {
	for _, s := range []string{"12345", "42:1001", "proj/7/9", "", "run 7", "a\nb", "rün", strings.Repeat("x", 257)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := checkExternalRunID("externalRunId", id)
		ok := len(id) >= 1 && len(id) <= store.MaxExternalRunIDLen
		for i := 0; i < len(id); i++ {
			ok = ok && id[i] > ' ' && id[i] <= '~'
		}
		if (err == nil) != ok {
			t.Fatalf("checkExternalRunID(%q) = %v, want accepted %v", id, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "externalRunId: ") {
			t.Errorf("error does not name the field: %v", err)
		}
	})
}
