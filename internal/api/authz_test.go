package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// The actors of the authorization matrix.
const (
	actNone    = "no token"
	actExpired = "expired token"
	actCreator = "Member who created the run"
	actOther   = "another Member"
	actTeam    = "Member of an allowed team"
	actAdmin   = "Admin"
	actMachine = "machine client"
	// Machine clients with one scope each: the async receiver (update:runs),
	// a dashboard (read:runs), a trigger (execute:workflows).
	actUpdater  = "machine with update:runs only"
	actReader   = "machine with read:runs only"
	actExecutor = "machine with execute:workflows only"
)

var matrixActors = []string{actNone, actExpired, actCreator, actOther, actTeam, actAdmin, actMachine, actUpdater, actReader, actExecutor}

// call is one request of the matrix, built per cell so that mutating
// endpoints get fresh objects.
type call struct {
	method, path string
	body         any
}

// TestAuthorizationMatrix checks the status of every endpoint for every kind
// of caller, on a workflow that allows anyone to view runs and on one that
// does not, against a real server on loopback.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// The expired token is issued first, then the clock moves past its
	// lifetime; every other token is issued after.
	expired := e.user("late@example.com", store.RoleAdmin)
	e.clk.advance(2 * time.Hour)
	e.admin = e.token(e.adminCred)
	tokens := map[string]string{
		actNone:     "",
		actExpired:  expired,
		actCreator:  e.user("creator@example.com", store.RoleMember),
		actOther:    e.user("other@example.com", store.RoleMember, "web"),
		actTeam:     e.user("teammate@example.com", store.RoleMember, "platform"),
		actAdmin:    e.user("admin@example.com", store.RoleAdmin),
		actMachine:  e.machine(authz.ScopeExecute, authz.ScopeReadWorkflows, authz.ScopeReadRuns, authz.ScopeUpdateRuns),
		actUpdater:  e.machine(authz.ScopeUpdateRuns),
		actReader:   e.machine(authz.ScopeReadRuns),
		actExecutor: e.machine(authz.ScopeExecute),
	}
	creator := tokens[actCreator]
	users, teams := []string{"creator@example.com"}, []string{"platform"}

	var seq atomic.Int64
	fresh := func(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }
	wfID := map[bool]string{true: "open", false: "closed"}
	sharedRun := map[bool]string{}
	for _, anyone := range []bool{true, false} {
		e.createWorkflow(workflowDef(wfID[anyone], anyone, e.rcv.URL+"/async", users, teams))
		sharedRun[anyone] = e.start(wfID[anyone], creator)
	}
	newWorkflow := func(anyone bool) string {
		id := fresh("wf")
		e.createWorkflow(workflowDef(id, anyone, e.rcv.URL+"/async", users, teams))
		return id
	}
	newRun := func(anyone bool) string { return e.start(wfID[anyone], creator) }
	newSecret := func() string {
		name := strings.ReplaceAll(fresh("S"), "-", "_")
		e.do("POST", "/v1/organization/secrets", e.admin, map[string]any{"secretName": name, "secretValue": "value-" + name}).expect(t, http.StatusCreated)
		return name
	}

	newInstallation := func() string {
		id := fresh("inst")
		e.do("POST", "/v1/integrations", e.admin, map[string]any{"installationId": id, "provider": "ai-agents"}).expect(t, http.StatusCreated)
		return id
	}
	e.do("POST", "/v1/integrations", e.admin, map[string]any{"installationId": "agents", "provider": "ai-agents"}).expect(t, http.StatusCreated)

	// Expected statuses. The first two actors always get 401.
	all := func(code int) func(string, bool) int { return func(string, bool) int { return code } }
	only := func(code int, who ...string) func(string, bool) int {
		return func(a string, _ bool) int {
			if slices.Contains(who, a) {
				return code
			}
			return http.StatusForbidden
		}
	}
	executors := func(code int) func(string, bool) int {
		return func(a string, _ bool) int {
			if a == actOther || a == actUpdater || a == actReader {
				return http.StatusNotFound // hidden: may not execute it
			}
			return code
		}
	}
	// Those who see a run only when its workflow allows anyone to.
	viewsIfPublic := func(a string) bool {
		return a == actOther || a == actTeam || a == actUpdater || a == actExecutor
	}
	viewRun := func(a string, anyone bool) int {
		if viewsIfPublic(a) && !anyone {
			return http.StatusNotFound
		}
		return http.StatusOK
	}
	// Cancelling: the run's creator, Admins and update:runs, whatever the
	// run's visibility; the others get 403 if they may view it, else 404.
	cancelRun := func(a string, anyone bool) int {
		switch {
		case a == actCreator || a == actAdmin || a == actMachine || a == actUpdater:
			return http.StatusOK
		case viewsIfPublic(a) && !anyone:
			return http.StatusNotFound
		default:
			return http.StatusForbidden
		}
	}
	// Completing a node run and adding logs to it: Admins and update:runs,
	// whatever the run's visibility (an async receiver need not read runs).
	// Not the run's creator: a completion is the remote system's verdict,
	// and posted lines were a secret oracle. The others get 403 if they may
	// view the run, else 404.
	updateNodeRun := func(a string, anyone bool) int {
		switch {
		case a == actAdmin || a == actMachine || a == actUpdater:
			return http.StatusOK
		case viewsIfPublic(a) && !anyone:
			return http.StatusNotFound
		default:
			return http.StatusForbidden
		}
	}

	endpoints := []struct {
		name  string
		build func(anyone bool) call
		want  func(actor string, anyone bool) int
	}{
		{"list workflows", func(bool) call { return call{"GET", "/v1/workflows", nil} }, all(200)},
		{"create workflow", func(anyone bool) call {
			return call{"POST", "/v1/workflows", workflowDef(fresh("new"), anyone, e.rcv.URL+"/async", users, teams)}
		}, only(201, actAdmin)},
		{"get workflow", func(anyone bool) call { return call{"GET", "/v1/workflows/" + wfID[anyone], nil} }, executors(200)},
		{"get node", func(anyone bool) call { return call{"GET", "/v1/workflows/" + wfID[anyone] + "/nodes/trigger", nil} }, executors(200)},
		{"replace workflow", func(anyone bool) call {
			id := newWorkflow(anyone)
			return call{"PUT", "/v1/workflows/" + id, workflowDef(id, anyone, e.rcv.URL+"/async2", users, teams)}
		}, only(200, actAdmin)},
		{"delete workflow", func(anyone bool) call { return call{"DELETE", "/v1/workflows/" + newWorkflow(anyone), nil} }, only(200, actAdmin)},
		{"start run", func(anyone bool) call {
			return call{"POST", "/v1/workflows/" + wfID[anyone] + "/runs", map[string]any{"inputs": map[string]any{}}}
		}, executors(201)},
		{"list runs", func(bool) call { return call{"GET", "/v1/workflows/runs?limit=5", nil} }, all(200)},
		{"get run", func(anyone bool) call { return call{"GET", "/v1/workflows/runs/" + sharedRun[anyone], nil} }, viewRun},
		{"wait for a run", func(anyone bool) call {
			return call{"GET", "/v1/workflows/runs/" + sharedRun[anyone] + "?wait=1ms", nil}
		}, viewRun},
		{"run events", func(anyone bool) call {
			// A finished run, so that the stream ends.
			id := newRun(anyone)
			if _, err := e.srv.Engine().Cancel(context.Background(), id); err != nil {
				t.Fatal(err)
			}
			return call{"GET", "/v1/workflows/runs/" + id + "/events", nil}
		}, viewRun},
		{"cancel run", func(anyone bool) call { return call{"POST", "/v1/workflows/runs/" + newRun(anyone) + "/cancel", nil} }, cancelRun},
		{"complete node run", func(anyone bool) call {
			return call{"PATCH", "/v1/workflows/nodes/runs/" + e.waiting(newRun(anyone)), map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"done": true}}}
		}, updateNodeRun},
		{"complete node run under its run (Port's other path)", func(anyone bool) call {
			run := newRun(anyone)
			return call{"PATCH", "/v1/workflows/runs/" + run + "/nodes/" + e.waiting(run), map[string]any{"status": "COMPLETED", "result": "SUCCESS"}}
		}, updateNodeRun},
		{"add node run logs", func(anyone bool) call {
			return call{"POST", "/v1/workflows/nodes/runs/" + e.waiting(newRun(anyone)) + "/logs", map[string]any{"logs": []any{map[string]any{"level": "INFO", "message": "step 1"}}}}
		}, updateNodeRun},
		// The matrix's workflows have no INPUT node: a node run that is not
		// an INPUT node's takes no responses (404 to everyone); who may
		// respond to one is in inputs_test.go.
		{"respond to a node run", func(anyone bool) call {
			return call{"POST", "/v1/workflows/nodes/runs/" + e.waiting(newRun(anyone)) + "/responses", map[string]any{"button": "approve"}}
		}, all(404)},
		{"list secrets", func(bool) call { return call{"GET", "/v1/organization/secrets", nil} }, only(200, actAdmin)},
		{"create secret", func(bool) call {
			return call{"POST", "/v1/organization/secrets", map[string]any{"secretName": strings.ReplaceAll(fresh("N"), "-", "_"), "secretValue": "abcd-1234"}}
		}, only(201, actAdmin)},
		{"get secret", func(bool) call { return call{"GET", "/v1/organization/secrets/API_TOKEN", nil} }, only(200, actAdmin)},
		{"update secret", func(bool) call {
			return call{"PATCH", "/v1/organization/secrets/" + newSecret(), map[string]any{"description": "changed"}}
		}, only(200, actAdmin)},
		{"delete secret", func(bool) call { return call{"DELETE", "/v1/organization/secrets/" + newSecret(), nil} }, only(200, actAdmin)},
		{"read audit", func(bool) call { return call{"GET", "/v1/audit?limit=10", nil} }, only(200, actAdmin)},
		{"list integrations", func(bool) call { return call{"GET", "/v1/integrations", nil} }, only(200, actAdmin)},
		{"create integration", func(bool) call {
			return call{"POST", "/v1/integrations", map[string]any{"installationId": fresh("gh"), "provider": "github-ocean", "tokenSecret": "API_TOKEN"}}
		}, only(201, actAdmin)},
		{"get integration", func(bool) call { return call{"GET", "/v1/integrations/agents", nil} }, only(200, actAdmin)},
		{"delete integration", func(bool) call { return call{"DELETE", "/v1/integrations/" + newInstallation(), nil} }, only(200, actAdmin)},
		// Claims take a machine client with integration:<id>, which no
		// actor of the matrix has (Admin users included: people never
		// receive rendered secrets); an unclaimed node run is a 404.
		// Everyone may ask; each sees only the node runs they may act for,
		// and an unknown id is an empty list.
		{"find node runs by external run id", func(bool) call {
			return call{"GET", "/v1/workflows/nodes/runs?external_run_id=none&include=nodeConfig", nil}
		}, all(http.StatusOK)},
		{"claim pending", func(bool) call {
			return call{"POST", "/v1/workflows/runs/claim-pending", map[string]any{"installationId": "agents", "limit": 1, "visibilityTimeoutMs": 1000}}
		}, all(http.StatusForbidden)},
		{"ack", func(bool) call {
			return call{"PATCH", "/v1/workflows/runs/ack", map[string]any{"nodeRunIdentifier": "wfnr_0000000000000000"}}
		}, all(http.StatusNotFound)},
		{"claim pending (Port's organization path)", func(bool) call {
			return call{"POST", "/v1/org/org_1/workflows/runs/claim-pending", map[string]any{"installationId": "agents", "limit": 1, "visibilityTimeoutMs": 1000}}
		}, all(http.StatusForbidden)},
		{"ack (Port's organization path)", func(bool) call {
			return call{"PATCH", "/v1/org/org_1/workflows/runs/ack", map[string]any{"nodeRunIdentifier": "wfnr_0000000000000000"}}
		}, all(http.StatusNotFound)},
	}

	for _, ep := range endpoints {
		for _, anyone := range []bool{true, false} {
			for _, actor := range matrixActors {
				want := http.StatusUnauthorized
				if actor != actNone && actor != actExpired {
					want = ep.want(actor, anyone)
				}
				t.Run(fmt.Sprintf("%s/allowAnyoneToViewRuns=%v/%s", ep.name, anyone, actor), func(t *testing.T) {
					c := ep.build(anyone)
					got := e.do(c.method, c.path, tokens[actor], c.body)
					if got.status != want {
						t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, got.status, want, got.raw)
					}
					if got.status >= 400 && got.body["ok"] != false {
						t.Errorf("error answer without the envelope: %s", got.raw)
					}
					if got.status == http.StatusUnauthorized && got.header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
				})
			}
		}
	}

	t.Run("members see only the workflows they may execute", func(t *testing.T) {
		names := func(token string) []string {
			var out []string
			for _, w := range e.do("GET", "/v1/workflows", token, nil).expect(t, 200).body["workflows"].([]any) {
				out = append(out, w.(map[string]any)["identifier"].(string))
			}
			return out
		}
		if got := names(tokens[actOther]); len(got) != 0 {
			t.Errorf("another Member sees %v", got)
		}
		if got, all := names(tokens[actTeam]), names(tokens[actAdmin]); !slices.Equal(got, all) || len(all) < 2 {
			t.Errorf("a Member of the allowed team sees %v, the Admin %v", got, all)
		}
	})

	// Every operation of the document (but the operational ones) was
	// exercised through the validating client.
	var missing []string
	for _, op := range operations(t) {
		// The catalog's operations are called by TestCatalogAPI, the AI
		// providers' by TestAIProvidersAPI.
		if strings.Contains(op, "/v1/auth/") || !strings.Contains(op, "/v1/") || strings.HasSuffix(op, "/openapi.json") ||
			strings.Contains(op, "/v1/blueprints") || strings.Contains(op, "/v1/entities/") ||
			strings.Contains(op, "/v1/ai/") { // TestAIProvidersAPI calls these
			continue
		}
		if !e.val.seen[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations the matrix never called: %v", missing)
	}
}
