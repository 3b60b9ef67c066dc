package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/integration"
	"github.com/sluice-run/sluice/internal/node/integration/fakes"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Tokens of the installations; they must never be stored.
const (
	ghToken      = "ghp_T0kenValue4a7c9e1b3d5f"
	glToken      = "glpat-Xy9TokenValue8b2d4f6h"
	triggerToken = "glptt-TriggerValue3c5e7g9i"
)

// rig is an engine over a SQLite file with the INTEGRATION_ACTION executor
// and secrets; newRig over the same dir is a restart.
type rig struct {
	t   *testing.T
	dir string
	st  *sqlite.Store
	eng *engine.Engine
}

func newRig(t *testing.T, dir string) *rig {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := sqlitetest.Open(context.Background(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := node.NewRegistry()
	integration.Register(reg, integration.New(integration.Options{Installations: st,
		PollMin: time.Millisecond, PollMax: 4 * time.Millisecond, RetryMin: time.Millisecond, MaxInline: 5 * time.Second}))
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Secrets: secret.MapSource{"GH_TOKEN": ghToken, "GL_TOKEN": glToken, "GL_TRIGGER": triggerToken}})
	return &rig{t: t, dir: dir, st: st, eng: eng}
}

func (r *rig) install(in store.Installation) {
	r.t.Helper()
	if err := r.st.CreateInstallation(context.Background(), in); err != nil {
		r.t.Fatal(err)
	}
}

// start saves a workflow whose only action is an INTEGRATION_ACTION with
// config and starts a run of it, executing until it completes or waits.
func (r *rig) start(config string) store.Run {
	r.t.Helper()
	def := `{"identifier": "ci", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER", "userInputs": {"properties": {"env": {"type": "string"}, "count": {"type": "number"}}}}},
		{"identifier": "ci", "config": ` + config + `}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "ci"}]}`
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		r.t.Fatalf("parse: %v", err)
	}
	ctx := context.Background()
	rec, err := r.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: []byte(def)})
	if err != nil {
		r.t.Fatal(err)
	}
	run, err := r.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Inputs: map[string]any{"env": "prod", "count": 3}})
	if err != nil {
		r.t.Fatal(err)
	}
	run, err = r.eng.Execute(ctx, run.Identifier)
	if err != nil {
		r.t.Fatal(err)
	}
	return run
}

// drive wakes the run's polls until it completes or waits for nothing it
// can poll, as sluice run does; at most polls wakes.
func (r *rig) drive(runID string, polls int) store.Run {
	r.t.Helper()
	ctx := context.Background()
	for range polls {
		run, err := r.st.GetRun(ctx, runID)
		if err != nil {
			r.t.Fatal(err)
		}
		if run.Status != store.StatusInProgress {
			return run
		}
		at, ok, err := r.eng.NextWake(ctx, runID)
		if err != nil {
			r.t.Fatal(err)
		}
		if !ok {
			return run
		}
		time.Sleep(time.Until(at))
		if _, err := r.eng.WakeRun(ctx, runID); err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.eng.Execute(ctx, runID); err != nil {
			r.t.Fatal(err)
		}
	}
	if polls > 1 {
		r.t.Fatalf("run %s still in progress after %d polls", runID, polls)
	}
	run, _ := r.st.GetRun(ctx, runID)
	return run
}

// node returns the INTEGRATION_ACTION node run's output and its logs.
func (r *rig) node(runID string) (store.NodeRun, map[string]any, string) {
	r.t.Helper()
	ctx := context.Background()
	nrs, err := r.st.NodeRuns(ctx, runID)
	if err != nil {
		r.t.Fatal(err)
	}
	nr := nrs[len(nrs)-1]
	var out map[string]any
	if !nr.Output.IsZero() {
		if err := json.Unmarshal(nr.Output.Bytes(), &out); err != nil {
			r.t.Fatal(err)
		}
	}
	logs, err := r.st.Logs(ctx, nr.Identifier)
	if err != nil {
		r.t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range logs {
		b.WriteString(l.Message.String() + "\n")
	}
	return nr, out, b.String()
}

// noTokens fails when a token is anywhere in the data dir's database.
func (r *rig) noTokens() {
	r.t.Helper()
	ctx := context.Background()
	runs, _, err := r.st.ListRuns(ctx, store.RunFilter{Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	for _, run := range runs {
		nrs, _ := r.st.NodeRuns(ctx, run.Identifier)
		for _, nr := range nrs {
			logs, _ := r.st.Logs(ctx, nr.Identifier)
			text := string(nr.Output.Bytes())
			for _, l := range logs {
				text += l.Message.String()
			}
			for _, tok := range []string{ghToken, glToken, triggerToken} {
				if strings.Contains(text, tok) {
					r.t.Errorf("node run %s stores a token: %s", nr.Identifier, text)
				}
			}
		}
	}
	// The file itself: WAL included.
	for _, f := range []string{"sluice.db", "sluice.db-wal"} {
		b, _ := readFile(filepath.Join(r.dir, f))
		for _, tok := range []string{ghToken, glToken, triggerToken} {
			if bytes.Contains(b, []byte(tok)) {
				r.t.Errorf("%s holds a token", f)
			}
		}
	}
}

func ghConfig(extra string) string {
	return `{"type": "INTEGRATION_ACTION", "installationId": "gh", "integrationProvider": "github-ocean", "integrationInvocationType": "dispatch_workflow",
		"integrationActionExecutionProperties": {"org": "acme", "repo": "api", "workflow": "deploy.yml",
		"workflowInputs": {"env": "{{ .outputs.trigger.env }}", "count": "{{ .outputs.trigger.count | tostring }}"}` + extra + `}}`
}

func TestGitHub(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(g *fakes.GitHub)
		extra  string
		result string
		check  func(t *testing.T, g *fakes.GitHub, out map[string]any, logs string)
	}{
		{"SuccessReported", func(g *fakes.GitHub) { g.PollsToComplete = 2 }, `, "reportWorkflowStatus": true`, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, _ string) {
				if out["workflowStatus"] != "success" || out["workflowRunId"] == nil || !strings.Contains(fmt.Sprint(out["workflowRunUrl"]), "/acme/api/actions/runs/") {
					t.Errorf("output = %v", out)
				}
				d := g.Dispatches[0]
				if d.Ref != "main" || d.Inputs["env"] != "prod" || d.Inputs["count"] != "3" {
					t.Errorf("dispatch = %+v, want ref main (the default branch) and string inputs", d)
				}
			}},
		{"NotReportedSucceedsOnDispatch", func(g *fakes.GitHub) {}, `, "ref": "release"`, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, _ string) {
				if _, has := out["workflowStatus"]; has || out["workflowRunUrl"] == nil {
					t.Errorf("output = %v, want the run without a status", out)
				}
				if g.Dispatches[0].Ref != "release" {
					t.Errorf("ref = %s, want release", g.Dispatches[0].Ref)
				}
			}},
		{"WorkflowFails", func(g *fakes.GitHub) { g.Conclusion = "failure" }, `, "reportWorkflowStatus": true`, store.ResultFailed,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, _ string) {
				if msg := errMsg(out); !strings.Contains(msg, "ended failure") {
					t.Errorf("error = %q, want the provider's conclusion", msg)
				}
			}},
		{"MissingRepository", func(g *fakes.GitHub) { g.AddRepo("acme/other", "main", "deploy.yml") }, `, "x": "repo:gone"`, store.ResultFailed,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, _ string) {
				if msg := errMsg(out); !strings.Contains(msg, "404") || !strings.Contains(msg, "Not Found") {
					t.Errorf("error = %q, want GitHub's 404", msg)
				}
			}},
		{"BadTokenEchoIsRedacted", func(g *fakes.GitHub) { g.Token, g.EchoCredentials = "another-token", true }, ``, store.ResultFailed,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, logs string) {
				if msg := errMsg(out); !strings.Contains(msg, "401") || !strings.Contains(msg, "Bad credentials (received: Bearer ") {
					t.Errorf("error = %q, want GitHub's 401 with its echo (masked)", msg)
				}
			}},
		{"RateLimitedThenDispatched", func(g *fakes.GitHub) {
			g.Fail.Add(fakes.Failure{Method: http.MethodPost, Path: "/dispatches", Status: http.StatusTooManyRequests,
				Header: http.Header{"Retry-After": {"1"}}, Body: `{"message": "You have exceeded a secondary rate limit"}`})
		}, ``, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, _ string) {
				if g.DispatchCount() != 1 {
					t.Errorf("%d dispatches, want 1", g.DispatchCount())
				}
			}},
		{"ServerErrorWhilePollingRetried", func(g *fakes.GitHub) {
			g.PollsToComplete = 1
			g.Fail.Add(fakes.Failure{Method: http.MethodGet, Path: "/actions/runs/", Status: http.StatusBadGateway, Body: `{"message": "Server Error"}`})
		}, `, "reportWorkflowStatus": true`, store.ResultSuccess, nil},
		{"FoundOnTheSecondListing", func(g *fakes.GitHub) { g.ReturnRunDetails, g.HideListings = false, 1 }, `, "reportWorkflowStatus": true`, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitHub, out map[string]any, logs string) {
				if out["workflowStatus"] != "success" || out["workflowRunId"] == nil {
					t.Errorf("output = %v", out)
				}
				if !strings.Contains(logs, "does not list the run yet") {
					t.Errorf("logs = %q, want the first listing's miss", logs)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := fakes.NewGitHub(ghToken)
			defer g.Server.Close()
			g.AddRepo("acme/api", "main", "deploy.yml")
			tc.setup(g)
			r := newRig(t, "")
			r.install(store.Installation{ID: "gh", Provider: "github-ocean", BaseURL: g.URL(), TokenSecret: "GH_TOKEN"})
			run := r.start(override(ghConfig(tc.extra)))
			run = r.drive(run.Identifier, 100)
			_, out, logs := r.node(run.Identifier)
			if run.Result != tc.result {
				t.Fatalf("run ended %s, want %s; output %v; logs %s", run.Result, tc.result, out, logs)
			}
			if tc.check != nil {
				tc.check(t, g, out, logs)
			}
			r.noTokens()
		})
	}
}

// override applies an "x": "field:value" marker of a test case to the
// execution properties (a field named twice would be a duplicate key).
func override(config string) string {
	i := strings.Index(config, `, "x": "`)
	if i < 0 {
		return config
	}
	rest := config[i+len(`, "x": "`):]
	marker, after, _ := strings.Cut(rest, `"`)
	field, value, _ := strings.Cut(marker, ":")
	config = config[:i] + after
	if field == "projectId" && value == "42" {
		return strings.Replace(config, `"projectId": "acme/api"`, `"projectId": 42`, 1)
	}
	old := map[string]string{"repo": `"repo": "api"`, "projectId": `"projectId": "acme/api"`}[field]
	return strings.Replace(config, old, fmt.Sprintf("%q: %q", field, value), 1)
}

func errMsg(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func TestGitHubRestartWhilePollingDoesNotDispatchAgain(t *testing.T) {
	g := fakes.NewGitHub(ghToken)
	defer g.Server.Close()
	g.AddRepo("acme/api", "main", "deploy.yml")
	g.PollsToComplete = 3
	r := newRig(t, "")
	r.install(store.Installation{ID: "gh", Provider: "github-ocean", BaseURL: g.URL(), TokenSecret: "GH_TOKEN"})
	run := r.start(ghConfig(`, "reportWorkflowStatus": true`))
	if run.Status != store.StatusInProgress {
		t.Fatalf("run is %s after the dispatch, want IN_PROGRESS (polling)", run.Status)
	}
	// One poll, then the process stops.
	r.drive(run.Identifier, 1)
	r.st.Close()

	r2 := newRig(t, r.dir)
	// A restarted server resumes every run: the polling node is not
	// executed again, it waits for its wake.
	if _, err := r2.eng.Execute(context.Background(), run.Identifier); err != nil {
		t.Fatal(err)
	}
	done := r2.drive(run.Identifier, 100)
	if done.Result != store.ResultSuccess {
		_, out, logs := r2.node(run.Identifier)
		t.Fatalf("run ended %s: %v %s", done.Result, out, logs)
	}
	if n := g.DispatchCount(); n != 1 {
		t.Fatalf("%d dispatches, want 1: a restart while polling must not dispatch again", n)
	}
}

func TestGitHubInputNotStringFailsWithHint(t *testing.T) {
	g := fakes.NewGitHub(ghToken)
	defer g.Server.Close()
	g.AddRepo("acme/api", "main", "deploy.yml")
	r := newRig(t, "")
	r.install(store.Installation{ID: "gh", Provider: "github-ocean", BaseURL: g.URL(), TokenSecret: "GH_TOKEN"})
	run := r.start(strings.Replace(ghConfig(""), `| tostring }}`, `}}`, 1))
	_, out, _ := r.node(run.Identifier)
	msg := errMsg(out)
	if run.Result != store.ResultFailed || !strings.Contains(msg, "workflowInputs.count") || !strings.Contains(msg, "| tostring") {
		t.Fatalf("run %s, error %q: want a failure naming workflowInputs.count with the | tostring hint", run.Result, msg)
	}
	if g.DispatchCount() != 0 {
		t.Errorf("dispatched anyway")
	}
}

func TestMissingInstallationFailsNamingIt(t *testing.T) {
	r := newRig(t, "")
	run := r.start(ghConfig(""))
	_, out, _ := r.node(run.Identifier)
	if msg := errMsg(out); run.Result != store.ResultFailed || !strings.Contains(msg, "installation gh") || !strings.Contains(msg, "sluice integrations add gh") {
		t.Fatalf("run %s, error %q: want a failure naming installation gh", run.Result, msg)
	}
}

func glConfig(extra string) string {
	return `{"type": "INTEGRATION_ACTION", "installationId": "gl", "integrationProvider": "gitlab", "integrationInvocationType": "trigger_pipeline",
		"integrationActionExecutionProperties": {"projectId": "acme/api",
		"pipelineVariables": {"ENV": "{{ .outputs.trigger.env }}", "COUNT": "{{ .outputs.trigger.count }}"}` + extra + `}}`
}

func TestGitLab(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(g *fakes.GitLab)
		extra  string
		result string
		check  func(t *testing.T, g *fakes.GitLab, out map[string]any)
	}{
		{"SuccessReported", func(g *fakes.GitLab) { g.PollsToComplete = 2 }, `, "reportWorkflowStatus": true`, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if out["workflowStatus"] != "success" || !strings.Contains(fmt.Sprint(out["workflowRunUrl"]), "/acme/api/-/pipelines/") {
					t.Errorf("output = %v", out)
				}
				c := g.Created[0]
				if c.Ref != "main" || c.Trigger || c.Variables["ENV"] != "prod" || c.Variables["COUNT"] != "3" {
					t.Errorf("created = %+v, want ref main, variables as strings", c)
				}
			}},
		{"NumericProjectAndTriggerToken", func(g *fakes.GitLab) {}, `, "x": "projectId:42", "ref": "main", "triggerToken": "{{ .secrets.GL_TRIGGER }}"`, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if c := g.Created[0]; !c.Trigger || c.Ref != "main" {
					t.Errorf("created = %+v, want through the trigger token", c)
				}
			}},
		{"PipelineFails", func(g *fakes.GitLab) { g.Final = "failed" }, `, "reportWorkflowStatus": true`, store.ResultFailed,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if msg := errMsg(out); !strings.Contains(msg, "ended failed") {
					t.Errorf("error = %q", msg)
				}
			}},
		{"MissingProject", func(g *fakes.GitLab) {}, `, "x": "projectId:acme/gone"`, store.ResultFailed,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if msg := errMsg(out); !strings.Contains(msg, "404") {
					t.Errorf("error = %q", msg)
				}
			}},
		{"BadTokenEchoIsRedacted", func(g *fakes.GitLab) { g.Token, g.EchoCredentials = "another", true }, ``, store.ResultFailed,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if msg := errMsg(out); !strings.Contains(msg, "401") {
					t.Errorf("error = %q", msg)
				}
			}},
		{"RateLimitedThenCreated", func(g *fakes.GitLab) {
			g.Fail.Add(fakes.Failure{Method: http.MethodPost, Path: "/pipeline", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}, Body: `{"message": "Retry later"}`})
		}, ``, store.ResultSuccess,
			func(t *testing.T, g *fakes.GitLab, out map[string]any) {
				if g.CreateCount() != 1 {
					t.Errorf("%d pipelines, want 1", g.CreateCount())
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := fakes.NewGitLab(glToken, triggerToken)
			defer g.Server.Close()
			g.AddProject(42, "acme/api", "main")
			tc.setup(g)
			r := newRig(t, "")
			r.install(store.Installation{ID: "gl", Provider: "gitlab", BaseURL: g.URL(), TokenSecret: "GL_TOKEN"})
			run := r.start(override(glConfig(tc.extra)))
			run = r.drive(run.Identifier, 100)
			_, out, logs := r.node(run.Identifier)
			if run.Result != tc.result {
				t.Fatalf("run ended %s, want %s; output %v; logs %s", run.Result, tc.result, out, logs)
			}
			tc.check(t, g, out)
			r.noTokens()
		})
	}
}

func TestGitLabRestartWhilePollingDoesNotCreateAgain(t *testing.T) {
	g := fakes.NewGitLab(glToken, triggerToken)
	defer g.Server.Close()
	g.AddProject(42, "acme/api", "main")
	g.PollsToComplete = 3
	r := newRig(t, "")
	r.install(store.Installation{ID: "gl", Provider: "gitlab", BaseURL: g.URL(), TokenSecret: "GL_TOKEN"})
	run := r.start(glConfig(`, "reportWorkflowStatus": true`))
	r.drive(run.Identifier, 1)
	r.st.Close()
	r2 := newRig(t, r.dir)
	if _, err := r2.eng.Execute(context.Background(), run.Identifier); err != nil {
		t.Fatal(err)
	}
	if done := r2.drive(run.Identifier, 100); done.Result != store.ResultSuccess {
		t.Fatalf("run ended %s", done.Result)
	}
	if n := g.CreateCount(); n != 1 {
		t.Fatalf("%d pipelines created, want 1", n)
	}
}

func TestOtherProviderIsHandedOff(t *testing.T) {
	r := newRig(t, "")
	r.install(store.Installation{ID: "agents", Provider: "ai-agents"})
	run := r.start(`{"type": "INTEGRATION_ACTION", "installationId": "agents", "integrationProvider": "ai-agents", "integrationInvocationType": "run_agent",
		"integrationActionExecutionProperties": {"prompt": "deploy {{ .outputs.trigger.env }}"}}`)
	nr, _, logs := r.node(run.Identifier)
	if run.Status != store.StatusInProgress || !nr.Waiting || !strings.Contains(logs, "claim-pending") {
		t.Fatalf("run %s, node run waiting %v, logs %q: want it handed to the external integration", run.Status, nr.Waiting, logs)
	}
	cs, err := r.st.ClaimNodeRuns(context.Background(), "agents", "c1", time.Now(), time.Now().Add(time.Minute), 10)
	if err != nil || len(cs) != 1 || cs[0].NodeRunID != nr.Identifier {
		t.Fatalf("claims = %+v, %v; want the node run", cs, err)
	}
}
