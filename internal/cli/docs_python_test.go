package cli

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDocsPythonIntegration runs the external integration written in
// Python in docs/integrations.md, as a reader would copy it, against a
// real `sluice serve`: it claims the node run handed to its installation,
// acknowledges it and completes it, and the run ends with its answer.
func TestDocsPythonIntegration(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to check the example in docs/integrations.md (apt-get install python3): %v", err)
	}
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "### A minimal external integration in Python")
	if ok {
		_, rest, ok = strings.Cut(rest, "```python\n")
	}
	script, _, closed := strings.Cut(rest, "```")
	if !ok || !closed || !strings.Contains(script, "claim-pending") {
		t.Fatal("docs/integrations.md: no python block under \"A minimal external integration in Python\"")
	}

	dir := dataDir(t)
	if r := sluice(t, "", "--data-dir", dir, "integrations", "add", "agents", "--provider", "ai-agents"); r.code != 0 {
		t.Fatalf("integrations add: %d %s", r.code, r.stderr)
	}
	// The client the docs tell the reader to create.
	r := sluice(t, "", "--data-dir", dir, "clients", "create", "--name", "agents-runner", "--scope", "integration:agents", "--scope", "update:runs")
	if r.code != 0 {
		t.Fatalf("clients create: %d %s", r.code, r.stderr)
	}
	runnerID, runnerSecret := credentials(t, r.stdout)

	r = sluice(t, "", "--data-dir", dir, "clients", "create", "--name", "admin", "--scope", "admin")
	if r.code != 0 {
		t.Fatalf("clients create: %d %s", r.code, r.stderr)
	}
	id, secret := credentials(t, r.stdout)
	srv := startServer(t, "--data-dir", dir)
	token, status := srv.token(t, id, secret)
	if status != http.StatusOK {
		t.Fatalf("token exchange: %d", status)
	}
	def := map[string]any{
		"identifier": "ask-agent",
		"nodes": []any{
			map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER",
				"userInputs": map[string]any{"properties": map[string]any{"question": map[string]any{"type": "string"}}}}},
			map[string]any{"identifier": "agent", "config": map[string]any{"type": "INTEGRATION_ACTION", "installationId": "agents",
				"integrationProvider": "ai-agents", "integrationInvocationType": "run_agent",
				"integrationActionExecutionProperties": map[string]any{"prompt": "{{ .outputs.trigger.question }}"}}},
		},
		"connections": []any{map[string]any{"sourceIdentifier": "trigger", "targetIdentifier": "agent"}},
	}
	if code, v := srv.apiCall(t, "POST", "/v1/workflows", token, def); code != http.StatusCreated {
		t.Fatalf("POST /v1/workflows: %d %v", code, v)
	}
	code, v := srv.apiCall(t, "POST", "/v1/workflows/ask-agent/runs", token, map[string]any{"inputs": map[string]any{"question": "ship it?"}})
	if code != http.StatusCreated {
		t.Fatalf("POST runs: %d %v", code, v)
	}
	runID, _ := v["workflowRun"].(map[string]any)["identifier"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	py := exec.CommandContext(ctx, python, "-c", script)
	py.Env = append(os.Environ(), "SLUICE_URL="+srv.url, "CLIENT_ID="+runnerID, "CLIENT_SECRET="+runnerSecret)
	var pyOut strings.Builder
	py.Stdout, py.Stderr = &pyOut, &pyOut
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- py.Wait() }()
	defer func() { cancel(); <-exited }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		code, v := srv.apiCall(t, "GET", "/v1/workflows/runs/"+runID+"?wait=5s", token, nil)
		if code != http.StatusOK {
			t.Fatalf("GET run: %d %v", code, v)
		}
		run, _ := v["workflowRun"].(map[string]any)
		if run["status"] == "COMPLETED" {
			if run["result"] != "SUCCESS" {
				t.Fatalf("the run ended %v: %v", run["result"], v)
			}
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the python integration exited (%v) before the run completed:\n%s", err, pyOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never completed: %v\npython:\n%s\nserver:\n%s", v, pyOut.String(), srv.logs())
		}
	}
	code, v = srv.apiCall(t, "GET", "/v1/workflows/runs/"+runID, token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET run: %d %v", code, v)
	}
	if got := nodeOutput(v, "agent"); got["answer"] != "did: ship it?" {
		t.Errorf("the agent node's output = %v, want the answer the python integration made; run: %v", got, v)
	}
}

// nodeOutput returns the output of the node run of node in a run answer.
func nodeOutput(v map[string]any, node string) map[string]any {
	run, _ := v["workflowRun"].(map[string]any)
	nrs, _ := run["nodeRuns"].([]any)
	for _, x := range nrs {
		nr, _ := x.(map[string]any)
		if n, _ := nr["node"].(map[string]any); n["identifier"] == node {
			out, _ := nr["output"].(map[string]any)
			return out
		}
	}
	return nil
}
