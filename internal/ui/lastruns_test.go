package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// rowRe matches a row of /workflows: the workflow's link, then the rest
// of the row up to its end.
var rowRe = regexp.MustCompile(`(?s)<tr>\s*<td><a href="/workflows/([^"]+)">(.*?)</tr>`)

// lastRunRe matches the link to a row's last run.
var lastRunRe = regexp.MustCompile(`href="/runs/([^"]+)"`)

// workflowRows returns each row of a /workflows page: the workflow's
// identifier and its last run's ("" for none).
func workflowRows(t *testing.T, page string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
		run := ""
		if r := lastRunRe.FindStringSubmatch(m[2]); r != nil {
			run = r[1]
		}
		rows[m[1]] = run
	}
	return rows
}

// TestWorkflowsPageLastRuns: each row of /workflows shows the newest run
// its reader may view, read in one store read (store.LatestRunsReader) or,
// on a store without it, one API run list per workflow: the same page
// either way. A Member sees neither a workflow hidden from them nor a run
// they may not view (another's run of a private version), even when it is
// the newest; an Admin sees the newest of every run.
func TestWorkflowsPageLastRuns(t *testing.T) {
	e := newEnv(t)
	// "secretive": Members may run it; its runs are private.
	e.mustAPI(e.admin, http.MethodPost, "/v1/workflows", map[string]any{"identifier": "secretive", "title": "Secretive", "allowAnyoneToViewRuns": false,
		"nodes": []any{map[string]any{"identifier": "trigger", "config": map[string]any{"type": "SELF_SERVE_TRIGGER",
			"permissions": map[string]any{"roles": []string{"Member"}}, "userInputs": map[string]any{"properties": map[string]any{}}}}}}, http.StatusCreated)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(id, wf, by string, sec int) {
		t.Helper()
		at := base.Add(time.Duration(sec) * time.Second)
		r := store.Run{Identifier: id, WorkflowID: wf, WorkflowVersion: 1, Status: store.StatusCompleted, Result: store.ResultFailed,
			CreatedBy: by, TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusCompleted,
			Result: store.ResultSuccess, CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		if err := e.st.CreateRun(context.Background(), r, first, nil); err != nil {
			t.Fatal(err)
		}
	}
	add("wfr_sec_ann", "secretive", e.member.ID, 1)
	add("wfr_sec_root", "secretive", e.admin.ID, 2) // newest, not the Member's to view
	add("wfr_sec_root_b", "secretive", "usr_other", 2)
	add("wfr_dep_other1", "deploy", "usr_other", 3)
	add("wfr_dep_other2", "deploy", "usr_other", 3) // a tie in time: the greater identifier is the newest
	add("wfr_priv_root", "private", e.admin.ID, 4)
	// waiter has no run.

	old, err := New(Options{Store: perWorkflowStore{e.st, e.st}, API: e.srv.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	oldSrv := httptest.NewServer(old.Handler())
	defer oldSrv.Close()

	tests := []struct {
		email string
		want  map[string]string
	}{
		{"ann@example.com", map[string]string{"deploy": "wfr_dep_other2", "waiter": "", "secretive": "wfr_sec_ann"}},
		{"root@example.com", map[string]string{"deploy": "wfr_dep_other2", "waiter": "", "secretive": "wfr_sec_root_b", "private": "wfr_priv_root"}},
	}
	for _, tc := range tests {
		for _, srv := range []struct{ name, url string }{{"one read", e.hs.URL}, {"per workflow", oldSrv.URL}} {
			t.Run(tc.email+"/"+srv.name, func(t *testing.T) {
				b := newBrowser(t, srv.url)
				if res, _ := b.signIn(tc.email, password); res.StatusCode != http.StatusSeeOther {
					t.Fatalf("sign in: %d", res.StatusCode)
				}
				res, page := b.do("GET", "/workflows", nil, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET /workflows: %d", res.StatusCode)
				}
				got := workflowRows(t, page)
				if len(got) != len(tc.want) {
					t.Errorf("rows %v, want %v", got, tc.want)
				}
				for wf, run := range tc.want {
					if r, ok := got[wf]; !ok || r != run {
						t.Errorf("row %s: last run %q (listed %v), want %q", wf, r, ok, run)
					}
				}
				if tc.email == "ann@example.com" {
					for _, hidden := range []string{"wfr_sec_root", "wfr_priv_root", "Private job"} {
						if strings.Contains(page, hidden) {
							t.Errorf("a Member's page shows %s", hidden)
						}
					}
				}
			})
		}
	}
}
