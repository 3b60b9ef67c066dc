package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// addWorkflows adds n more workflows (wf000...) that Members may run, every
// fourth with allowAnyoneToViewRuns false, and spreads runs over them and
// the env's own three, created by the Admin, the Member and two others
// (direct store writes: the page reads them, no engine needs to run them).
// Run i is created at base+i seconds, so later runs are newer.
func (e *env) addWorkflows(n, runs int) []string {
	e.t.Helper()
	ids := []string{"deploy", "waiter", "private"}
	for i := range n {
		id := fmt.Sprintf("wf%03d", i)
		def := map[string]any{"identifier": id, "title": "Workflow " + id,
			"nodes": []any{map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER",
				"permissions": map[string]any{"roles": []string{"Member"}}, "userInputs": map[string]any{"properties": map[string]any{}}}}}}
		if i%4 == 3 {
			def["allowAnyoneToViewRuns"] = false
		}
		e.mustAPI(e.admin, http.MethodPost, "/v1/workflows", def, http.StatusCreated)
		ids = append(ids, id)
	}
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	by := []string{e.admin.ID, e.member.ID, "usr_other1", "usr_other2"}
	for i := range runs {
		at := base.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("wfr_bench%06d", i)
		r := store.Run{Identifier: id, WorkflowID: ids[i%len(ids)], WorkflowVersion: 1, Status: store.StatusCompleted,
			Result: store.ResultSuccess, CreatedBy: by[(i/len(ids))%len(by)], TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusCompleted,
			Result: store.ResultSuccess, CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		if err := e.st.CreateRun(ctx, r, first, nil); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

// perWorkflowStore is the store without store.LatestRunsReader: a UI on it
// reads the last runs as it did before that capability, one run list (with
// its count) per workflow through the API.
type perWorkflowStore struct {
	store.Store
	store.SessionStore
}

// BenchmarkWorkflowsPage renders /workflows over HTTP on loopback, signed
// in, with 10 and 200 workflows and 50,000 runs spread over them, for an
// Admin (every run) and a Member (their own runs and those of public
// versions): "page" reads the last runs in one read
// (store.LatestRunsReader), "page-per-workflow" one API run list per
// workflow, as before it, on the same data in the same run. The other
// baseline is GET /v1/workflows alone, in-process: the list the page is
// built from.
func BenchmarkWorkflowsPage(b *testing.B) {
	const runs = 50_000
	for _, n := range []int{10, 200} {
		e := newEnv(b)
		e.addWorkflows(n-3, runs)
		old, err := New(Options{Store: perWorkflowStore{e.st, e.st}, API: e.srv.Handler()})
		if err != nil {
			b.Fatal(err)
		}
		oldSrv := httptest.NewServer(old.Handler())
		b.Cleanup(oldSrv.Close)
		signed := func(base, email string) *browser {
			c := newBrowser(b, base)
			if res, _ := c.signIn(email, password); res.StatusCode != http.StatusSeeOther {
				b.Fatalf("sign in %s: %d", email, res.StatusCode)
			}
			return c
		}
		admin, member := signed(e.hs.URL, "root@example.com"), signed(e.hs.URL, "ann@example.com")
		oldAdmin, oldMember := signed(oldSrv.URL, "root@example.com"), signed(oldSrv.URL, "ann@example.com")
		for _, tc := range []struct {
			name, path string
			who        *browser
		}{
			{"admin/page", "/workflows", admin},
			{"admin/page-per-workflow", "/workflows", oldAdmin},
			{"member/page", "/workflows", member},
			{"member/page-per-workflow", "/workflows", oldMember},
			{"list-baseline", "/v1/workflows", nil},
		} {
			b.Run(fmt.Sprintf("workflows=%d/%s", n, tc.name), func(b *testing.B) {
				if tc.path == "/v1/workflows" {
					// The API answers machine clients (a bearer token), not
					// sessions: the baseline is the in-process call the
					// page makes first.
					for b.Loop() {
						e.mustAPI(e.admin, http.MethodGet, "/v1/workflows", nil, http.StatusOK)
					}
					return
				}
				for b.Loop() {
					res, page := tc.who.do("GET", tc.path, nil, nil)
					if res.StatusCode != http.StatusOK || !strings.Contains(page, "wf000") {
						b.Fatalf("GET %s: %d", tc.path, res.StatusCode)
					}
				}
			})
		}
	}
}
