package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// runSummary is a run as lists show it.
type runSummary = view.Run

type workflowRow struct {
	Identifier, Title string
	Triggers          []string
	LastRun           *runSummary
	CanRun            bool
}

func (u *UI) listRuns(r *http.Request, s *session, q url.Values) ([]runSummary, int, error) {
	l, err := u.listRunPage(r, s, q)
	return l.WorkflowRuns, l.Total, err
}

// runList is the API's answer to a run list.
type runList struct {
	WorkflowRuns []runSummary `json:"workflowRuns"`
	Total        int          `json:"total"`
	Next         string       `json:"next"` // the cursor of the next page; "" on the last
	Prev         string       `json:"prev"` // the cursor of the page before; "" on the first
}

func (u *UI) listRunPage(r *http.Request, s *session, q url.Values) (runList, error) {
	var out runList
	err := u.call(r, s, http.MethodGet, "/v1/workflows/runs?"+q.Encode(), nil, &out)
	return out, err
}

func (u *UI) getDefinition(r *http.Request, s *session, id string) (definition, json.RawMessage, error) {
	var out struct {
		Workflow json.RawMessage `json:"workflow"`
	}
	if err := u.call(r, s, http.MethodGet, "/v1/workflows/"+url.PathEscape(id), nil, &out); err != nil {
		return definition{}, nil, err
	}
	var d definition
	if err := json.Unmarshal(out.Workflow, &d); err != nil {
		return definition{}, nil, fmt.Errorf("read workflow %s: %w", id, err)
	}
	return d, out.Workflow, nil
}

// selfServe returns the first self-serve trigger of d, if any.
func (d definition) selfServe() (defNode, bool) {
	for _, n := range d.Nodes {
		if n.Config.Type == "SELF_SERVE_TRIGGER" {
			return n, true
		}
	}
	return defNode{}, false
}

func (u *UI) workflows(w http.ResponseWriter, r *http.Request, s *session) error {
	var out struct {
		Workflows []definition `json:"workflows"`
	}
	if err := u.call(r, s, http.MethodGet, "/v1/workflows", nil, &out); err != nil {
		return err
	}
	last, err := u.lastRuns(r, s, out.Workflows)
	if err != nil {
		return err
	}
	rows := make([]workflowRow, 0, len(out.Workflows))
	for _, d := range out.Workflows {
		row := workflowRow{Identifier: d.Identifier, Title: d.Title, Triggers: d.triggerTypes()}
		if row.Title == "" {
			row.Title = d.Identifier
		}
		_, row.CanRun = d.selfServe()
		if run, ok := last[d.Identifier]; ok {
			row.LastRun = &run
		}
		rows = append(rows, row)
	}
	u.renderPage(w, r, s, http.StatusOK, "workflows", "Workflows", rows)
	return nil
}

type workflowPage struct {
	Def        definition
	Graph      graph
	JSON       string
	Runs       []runSummary
	Trigger    string
	Fields     []field
	FormErrors []string
	HasForm    bool
}

func (u *UI) workflowData(r *http.Request, s *session, id string) (workflowPage, error) {
	d, raw, err := u.getDefinition(r, s, id)
	if err != nil {
		return workflowPage{}, err
	}
	p := workflowPage{Def: d, Graph: layout(d, nil, nil), JSON: funcs["pretty"].(func(json.RawMessage) string)(raw)}
	if t, ok := d.selfServe(); ok {
		p.HasForm, p.Trigger = true, t.Identifier
		if p.Fields, err = formFields(t.Config.UserInputs); err != nil {
			return workflowPage{}, err
		}
	}
	p.Runs, _, err = u.listRuns(r, s, url.Values{"workflowIdentifiers": {id}, "limit": {"10"}})
	return p, err
}

func (u *UI) workflow(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := u.workflowData(r, s, r.PathValue("id"))
	if err != nil {
		return err
	}
	u.renderPage(w, r, s, http.StatusOK, "workflow", p.Def.Title, p)
	return nil
}

func (u *UI) startRun(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	p, err := u.workflowData(r, s, id)
	if err != nil {
		return err
	}
	if !p.HasForm {
		return &apiError{Status: http.StatusBadRequest, Message: "this workflow has no self-serve trigger"}
	}
	inputs, ok := readForm(p.Fields, r.PostForm)
	if ok {
		var out struct {
			WorkflowRun runSummary `json:"workflowRun"`
		}
		err = u.call(r, s, http.MethodPost, "/v1/workflows/"+url.PathEscape(id)+"/runs", map[string]any{"inputs": inputs, "trigger": p.Trigger}, &out)
		if err == nil {
			http.Redirect(w, r, "/runs/"+url.PathEscape(out.WorkflowRun.Identifier), http.StatusSeeOther)
			return nil
		}
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusNotFound {
			return err
		}
		p.FormErrors = fieldErrors(p.Fields, e.Details)
		if len(e.Details) == 0 {
			p.FormErrors = append(p.FormErrors, e.Message)
		}
	}
	u.renderPage(w, r, s, http.StatusBadRequest, "workflow", p.Def.Title, p)
	return nil
}

const runsPerPage = 20

type runsPage struct {
	Runs                     []runSummary
	Workflow, Status, Result string
	Page, Pages, Total       int
	Workflows                []string
	// NewestQuery, NewerQuery and NextQuery are the query strings of the
	// first page, the page before and the page after ("" when there is
	// none).
	NewestQuery, NewerQuery, NextQuery string
	Statuses, Results                  []string
}

func (u *UI) runs(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	p := runsPage{Workflow: q.Get("workflow"), Status: q.Get("status"), Result: q.Get("result"),
		Statuses: []string{store.StatusInProgress, store.StatusCompleted},
		Results:  []string{store.ResultSuccess, store.ResultFailed, store.ResultCancelled}}
	// Pages go both ways by the API's cursors (next for Older, prev for
	// Newer), so that runs started while someone reads the list neither
	// shift nor repeat the pages; page is only the number shown, and
	// counts only with a cursor.
	p.Page = 1
	api := url.Values{"limit": {strconv.Itoa(runsPerPage)}}
	cursor := q.Get("cursor")
	if cursor != "" {
		api.Set("cursor", cursor)
	}
	if p.Workflow != "" {
		api.Set("workflowIdentifiers", p.Workflow)
	}
	if p.Status != "" {
		api.Set("statuses", p.Status)
	}
	if p.Result != "" {
		api.Set("results", p.Result)
	}
	page := func(n int, cursor string) string {
		v := url.Values{}
		for k, x := range map[string]string{"workflow": p.Workflow, "status": p.Status, "result": p.Result} {
			if x != "" {
				v.Set(k, x)
			}
		}
		if cursor != "" {
			v.Set("cursor", cursor)
			v.Set("page", strconv.Itoa(n))
		}
		return "?" + v.Encode()
	}
	list, err := u.listRunPage(r, s, api)
	var e *apiError
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && len(e.Details) == 1 && e.Details[0].Path == "cursor" {
		msg := "The link to this page of runs is damaged, or was made for other filters (" + e.Details[0].Message + ")."
		u.renderPage(w, r, s, http.StatusBadRequest, "error", "Bad link", errorData{Status: e.Status, Title: "Bad link", Message: msg,
			Back: "/runs" + page(1, ""), BackText: "Start again from the newest runs"})
		return nil
	}
	if err != nil {
		return err
	}
	// A cursor's page with no run newer than it is the first page (Newer
	// led back to the top, or the runs after the cursor are gone): show
	// the first page itself, full and at its own address.
	if cursor != "" && list.Prev == "" {
		http.Redirect(w, r, "/runs"+page(1, ""), http.StatusSeeOther)
		return nil
	}
	if cursor != "" {
		p.Page = 2 // runs are newer than this page: not the first
		if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 2 {
			p.Page = n
		}
	}
	p.Runs, p.Total = list.WorkflowRuns, list.Total
	p.Pages = (p.Total + runsPerPage - 1) / runsPerPage
	if list.Prev != "" {
		p.NewestQuery = page(1, "")
		p.NewerQuery = page(p.Page-1, list.Prev)
	}
	if list.Next != "" {
		p.NextQuery = page(p.Page+1, list.Next)
	}
	if p.Pages < p.Page || list.Next != "" && p.Pages <= p.Page {
		p.Pages = 0 // more runs than when counted, or fewer: no "of N"
	}
	var wfs struct {
		Workflows []definition `json:"workflows"`
	}
	if err := u.call(r, s, http.MethodGet, "/v1/workflows", nil, &wfs); err != nil {
		return err
	}
	for _, d := range wfs.Workflows {
		p.Workflows = append(p.Workflows, d.Identifier)
	}
	u.renderPage(w, r, s, http.StatusOK, "runs", "Runs", p)
	return nil
}

type runPage struct {
	Run       view.Run
	Title     string
	Graph     graph
	Nodes     []nodeRunView
	Active    bool
	CanCancel bool
	CSRF      string
}

type nodeRunView struct {
	view.NodeRun
	Title, Type string
	Duration    string
	Waiting     bool
}

func statusClass(status string, result *string) string {
	switch {
	case status == store.StatusInProgress:
		return "running"
	case result == nil:
		return "done"
	}
	return strings.ToLower(*result)
}

func (u *UI) runData(r *http.Request, s *session, id string) (runPage, error) {
	var out struct {
		WorkflowRun view.Run `json:"workflowRun"`
	}
	if err := u.call(r, s, http.MethodGet, "/v1/workflows/runs/"+url.PathEscape(id), nil, &out); err != nil {
		return runPage{}, err
	}
	run := out.WorkflowRun
	p := runPage{Run: run, Active: run.Status == store.StatusInProgress, CSRF: s.csrf,
		CanCancel: run.Status == store.StatusInProgress && authz.CanCancelRun(s.actor, store.Run{CreatedBy: run.CreatedBy})}
	// The API said the caller may view the run; its version's definition
	// (which never holds a secret value) is drawn.
	var d definition
	if rec, err := u.st.GetWorkflowVersion(r.Context(), run.Workflow.Identifier, run.Workflow.Version); err == nil {
		_ = json.Unmarshal(rec.Definition, &d)
	}
	p.Title = d.Title
	if p.Title == "" {
		p.Title = run.Workflow.Identifier
	}
	nodes := map[string]defNode{}
	for _, n := range d.Nodes {
		nodes[n.Identifier] = n
	}
	status, anchors := map[string]string{}, map[string]string{}
	for _, nr := range run.NodeRuns {
		n := nodes[nr.Node.Identifier]
		v := nodeRunView{NodeRun: nr, Title: n.Title, Type: n.Config.Type}
		if v.Title == "" {
			v.Title = nr.Node.Identifier
		}
		if nr.CompletedAt != nil {
			v.Duration = nr.CompletedAt.Sub(nr.CreatedAt).Round(1000).String()
		}
		v.Waiting = nr.Status == store.StatusInProgress && !n.isTrigger()
		status[nr.Node.Identifier] = statusClass(nr.Status, nr.Result)
		anchors[nr.Node.Identifier] = "#nr-" + nr.Identifier
		p.Nodes = append(p.Nodes, v)
	}
	p.Graph = layout(d, status, anchors)
	return p, nil
}

func (u *UI) run(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := u.runData(r, s, r.PathValue("wfr"))
	if err != nil {
		return err
	}
	u.renderPage(w, r, s, http.StatusOK, "run", "Run "+p.Run.Identifier, p)
	return nil
}

// runLive answers the live part of a run page, which live.js swaps in.
func (u *UI) runLive(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := u.runData(r, s, r.PathValue("wfr"))
	if err != nil {
		return err
	}
	u.execute(w, http.StatusOK, "run", "live", p)
	return nil
}

func (u *UI) cancelRun(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("wfr")
	if err := u.call(r, s, http.MethodPost, "/v1/workflows/runs/"+url.PathEscape(id)+"/cancel", nil, nil); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status != http.StatusConflict {
			return err
		}
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

type secretsPage struct {
	Secrets                         []secretRow
	CanCreate, CanUpdate, CanDelete bool
	Error, Notice                   string
	Name, Description               string // the create form, posted again
}

type secretRow struct {
	Name        string    `json:"secretName"`
	Description string    `json:"description"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func (u *UI) secretsData(r *http.Request, s *session) (secretsPage, error) {
	var out struct {
		Secrets []secretRow `json:"secrets"`
	}
	if err := u.call(r, s, http.MethodGet, "/v1/organization/secrets", nil, &out); err != nil {
		return secretsPage{}, err
	}
	return secretsPage{Secrets: out.Secrets,
		CanCreate: authz.CanManageSecrets(s.actor, authz.Create),
		CanUpdate: authz.CanManageSecrets(s.actor, authz.Update),
		CanDelete: authz.CanManageSecrets(s.actor, authz.Delete)}, nil
}

func (u *UI) secrets(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := u.secretsData(r, s)
	if err != nil {
		return err
	}
	p.Notice = noticeText(r.URL.Query().Get("done"))
	u.renderPage(w, r, s, http.StatusOK, "secrets", "Secrets", p)
	return nil
}

func noticeText(done string) string {
	switch done {
	case "created":
		return "Secret created."
	case "updated":
		return "Secret updated."
	case "deleted":
		return "Secret deleted."
	}
	return ""
}

// secretFailed shows the secrets page again with the API's error; the
// value posted is never shown back.
func (u *UI) secretFailed(w http.ResponseWriter, r *http.Request, s *session, err error, name, desc string) error {
	var e *apiError
	if !errors.As(err, &e) || e.Status >= 500 {
		return err
	}
	p, err2 := u.secretsData(r, s)
	if err2 != nil {
		return err2
	}
	p.Error, p.Name, p.Description = e.Message, name, desc
	u.renderPage(w, r, s, e.Status, "secrets", "Secrets", p)
	return nil
}

func (u *UI) createSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	name, desc := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("description")
	err := u.call(r, s, http.MethodPost, "/v1/organization/secrets",
		map[string]string{"secretName": name, "secretValue": r.PostForm.Get("value"), "description": desc}, nil)
	if err != nil {
		return u.secretFailed(w, r, s, err, name, desc)
	}
	http.Redirect(w, r, "/secrets?done=created", http.StatusSeeOther)
	return nil
}

func (u *UI) updateSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	body := map[string]string{"description": r.PostForm.Get("description")}
	if v := r.PostForm.Get("value"); v != "" {
		body["secretValue"] = v
	}
	if err := u.call(r, s, http.MethodPatch, "/v1/organization/secrets/"+url.PathEscape(name), body, nil); err != nil {
		return u.secretFailed(w, r, s, err, "", "")
	}
	http.Redirect(w, r, "/secrets?done=updated", http.StatusSeeOther)
	return nil
}

func (u *UI) deleteSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	if r.PostForm.Get("confirm") != name {
		return u.secretFailed(w, r, s, &apiError{Status: http.StatusBadRequest, Message: "to delete secret " + name + ", type its name to confirm"}, "", "")
	}
	if err := u.call(r, s, http.MethodDelete, "/v1/organization/secrets/"+url.PathEscape(name), nil, nil); err != nil {
		return u.secretFailed(w, r, s, err, "", "")
	}
	http.Redirect(w, r, "/secrets?done=deleted", http.StatusSeeOther)
	return nil
}
