package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GitHub is a fake of GitHub's REST API for Actions, on a loopback
// httptest server. It follows docs.github.com/en/rest:
//   - repos/repos "Get a repository": GET /repos/{owner}/{repo}, 200 with
//     default_branch, 404 {"message": "Not Found"};
//   - actions/workflows "Create a workflow dispatch event": POST
//     /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches with
//     {ref, inputs (strings only), return_run_details}: 204 No Content, or
//     200 {workflow_run_id, run_url, html_url} when return_run_details is
//     true (the February 2026 change; see ReturnRunDetails); 422 for inputs
//     that are not strings, 404 for an unknown workflow;
//   - actions/workflow-runs "List workflow runs for a workflow": GET
//     .../actions/workflows/{workflow_id}/runs?event=&branch=&created=>=T,
//     {total_count, workflow_runs: [...]}, newest first;
//   - actions/workflow-runs "Get a workflow run": GET
//     /repos/{owner}/{repo}/actions/runs/{run_id}, with status queued,
//     in_progress or completed and a conclusion once completed.
//
// Every request must carry Authorization: Bearer Token, or the fake answers
// 401 {"message": "Bad credentials"} and, as some proxies and servers do,
// echoes the credentials it got (EchoCredentials), so that tests can check
// that the echo never reaches what sluice stores.
type GitHub struct {
	Server *httptest.Server
	// Token is the token requests must carry.
	Token string
	// ReturnRunDetails answers a dispatch that asks for it with the run's
	// id (github.com); false answers 204, as older GitHub Enterprise does.
	ReturnRunDetails bool
	// HideListings is how many listings of runs leave out the runs
	// dispatched (GitHub lists a run a moment after the dispatch).
	HideListings int
	// PollsToComplete is how many reads of a run answer before it is
	// completed (0: completed at the first read), with Conclusion.
	PollsToComplete int
	Conclusion      string
	// EchoCredentials puts the Authorization header it got in 401 bodies.
	EchoCredentials bool
	// Fail queues canned answers (rate limits, server errors).
	Fail failures

	mu         sync.Mutex
	repos      map[string]*ghRepo // "owner/repo"
	runs       []*ghRun
	nextID     int64
	listings   int
	Dispatches []GitHubDispatch
}

// GitHubDispatch is a dispatch the fake received.
type GitHubDispatch struct {
	Repo, Workflow, Ref string
	Inputs              map[string]string
}

type ghRepo struct {
	defaultBranch string
	workflows     map[string]bool
}

type ghRun struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	Conclusion *string   `json:"conclusion"`
	HeadBranch string    `json:"head_branch"`
	HTMLURL    string    `json:"html_url"`
	URL        string    `json:"url"`
	CreatedAt  time.Time `json:"created_at"`
	repo, wf   string
	reads      int
}

// NewGitHub starts a fake GitHub; close it with Server.Close.
func NewGitHub(token string) *GitHub {
	g := &GitHub{Token: token, Conclusion: "success", ReturnRunDetails: true, repos: map[string]*ghRepo{}, nextID: 9000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}", g.getRepo)
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/workflows/{wf}/dispatches", g.dispatch)
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/workflows/{wf}/runs", g.listRuns)
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/runs/{id}", g.getRun)
	g.Server = httptest.NewServer(g.auth(mux))
	return g
}

// URL is the API base URL (an installation's --base-url).
func (g *GitHub) URL() string { return g.Server.URL }

// AddRepo adds a repository with its default branch and workflow files.
func (g *GitHub) AddRepo(fullName, defaultBranch string, workflows ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := &ghRepo{defaultBranch: defaultBranch, workflows: map[string]bool{}}
	for _, w := range workflows {
		r.workflows[w] = true
	}
	g.repos[fullName] = r
}

// DispatchCount is how many dispatches the fake accepted.
func (g *GitHub) DispatchCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.Dispatches)
}

func (g *GitHub) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+g.Token {
			msg := "Bad credentials"
			if g.EchoCredentials {
				msg += " (received: " + got + ")"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": "401"})
			return
		}
		if g.Fail.take(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
}

func (g *GitHub) repo(r *http.Request) (string, *ghRepo) {
	name := r.PathValue("owner") + "/" + r.PathValue("repo")
	return name, g.repos[name]
}

func (g *GitHub) getRepo(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name, repo := g.repo(r)
	if repo == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": r.PathValue("repo"), "full_name": name, "default_branch": repo.defaultBranch})
}

func (g *GitHub) dispatch(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name, repo := g.repo(r)
	wf := r.PathValue("wf")
	if repo == nil || !repo.workflows[wf] {
		notFound(w)
		return
	}
	var body struct {
		Ref              string         `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request.\n\n\"ref\" wasn't supplied.", "status": "422"})
		return
	}
	inputs := map[string]string{}
	for k, v := range body.Inputs {
		s, ok := v.(string)
		if !ok {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": fmt.Sprintf("Invalid request.\n\nFor 'properties/%s', %v is not a string.", k, v), "status": "422"})
			return
		}
		inputs[k] = s
	}
	g.Dispatches = append(g.Dispatches, GitHubDispatch{Repo: name, Workflow: wf, Ref: body.Ref, Inputs: inputs})
	g.nextID++
	run := &ghRun{ID: g.nextID, Name: wf, Event: "workflow_dispatch", Status: "queued", HeadBranch: body.Ref,
		HTMLURL: fmt.Sprintf("https://github.example/%s/actions/runs/%d", name, g.nextID), URL: fmt.Sprintf("%s/repos/%s/actions/runs/%d", g.Server.URL, name, g.nextID),
		CreatedAt: time.Now().UTC().Truncate(time.Second), repo: name, wf: wf}
	g.runs = append(g.runs, run)
	if body.ReturnRunDetails && g.ReturnRunDetails {
		writeJSON(w, http.StatusOK, map[string]any{"workflow_run_id": run.ID, "run_url": run.URL, "html_url": run.HTMLURL})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (g *GitHub) listRuns(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name, repo := g.repo(r)
	wf := r.PathValue("wf")
	if repo == nil || !repo.workflows[wf] {
		notFound(w)
		return
	}
	g.listings++
	q := r.URL.Query()
	var since time.Time
	if c := q.Get("created"); c != "" {
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(c, ">="))
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid created filter", "status": "422"})
			return
		}
		since = t
	}
	out := []*ghRun{}
	if g.listings > g.HideListings {
		for i := len(g.runs) - 1; i >= 0; i-- { // newest first
			run := g.runs[i]
			if run.repo != name || run.wf != wf || (q.Get("event") != "" && run.Event != q.Get("event")) ||
				(q.Get("branch") != "" && run.HeadBranch != q.Get("branch")) || run.CreatedAt.Before(since) {
				continue
			}
			out = append(out, run)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(out), "workflow_runs": out})
}

func (g *GitHub) getRun(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name, _ := g.repo(r)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, run := range g.runs {
		if run.ID == id && run.repo == name {
			run.reads++
			switch {
			case run.reads > g.PollsToComplete:
				c := g.Conclusion
				run.Status, run.Conclusion = "completed", &c
			case run.reads > 1:
				run.Status = "in_progress"
			}
			writeJSON(w, http.StatusOK, run)
			return
		}
	}
	notFound(w)
}
