package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// GitLab is a fake of GitLab's REST API v4 for pipelines, on a loopback
// httptest server. It follows docs.gitlab.com/api:
//   - projects "Get a single project": GET /api/v4/projects/:id (a numeric
//     id or a URL-encoded path), 200 with default_branch, 404
//     {"message": "404 Project Not Found"};
//   - pipelines "Create a new pipeline": POST /api/v4/projects/:id/pipeline
//     with {ref, variables: [{key, value}]} and PRIVATE-TOKEN, 201 with the
//     pipeline {id, iid, project_id, status, ref, web_url, ...}; 400 when
//     ref is missing;
//   - pipeline_triggers "Trigger a pipeline with a token": POST
//     /api/v4/projects/:id/trigger/pipeline with {token, ref, variables:
//     {key: value}} and no PRIVATE-TOKEN, 201 with the pipeline; 404 for a
//     token that is not the project's trigger token;
//   - pipelines "Get a single pipeline": GET
//     /api/v4/projects/:id/pipelines/:pipeline_id, status created, running,
//     then the final one (success, failed, canceled...).
//
// Requests other than the trigger must carry PRIVATE-TOKEN: Token, or the
// fake answers 401 {"message": "401 Unauthorized"}, echoing the token it got
// when EchoCredentials is set.
type GitLab struct {
	Server *httptest.Server
	Token  string
	// TriggerToken is the projects' pipeline trigger token.
	TriggerToken string
	// PollsToComplete reads of a pipeline answer before it ends with Final.
	PollsToComplete int
	Final           string
	EchoCredentials bool
	Fail            failures

	mu        sync.Mutex
	projects  map[string]*glProject // by id and by path
	pipelines []*glPipeline
	nextID    int64
	Created   []GitLabCreate
}

// GitLabCreate is a pipeline creation the fake received.
type GitLabCreate struct {
	Project   string
	Ref       string
	Trigger   bool
	Variables map[string]string
}

type glProject struct {
	id            int64
	path          string
	defaultBranch string
}

type glPipeline struct {
	ID        int64     `json:"id"`
	IID       int64     `json:"iid"`
	ProjectID int64     `json:"project_id"`
	Status    string    `json:"status"`
	Source    string    `json:"source"`
	Ref       string    `json:"ref"`
	WebURL    string    `json:"web_url"`
	CreatedAt time.Time `json:"created_at"`
	reads     int
}

// NewGitLab starts a fake GitLab; close it with Server.Close.
func NewGitLab(token, triggerToken string) *GitLab {
	g := &GitLab{Token: token, TriggerToken: triggerToken, Final: "success", projects: map[string]*glProject{}, nextID: 500}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/{id}", g.authed(g.getProject))
	mux.HandleFunc("POST /api/v4/projects/{id}/pipeline", g.authed(g.createPipeline))
	mux.HandleFunc("POST /api/v4/projects/{id}/trigger/pipeline", g.trigger)
	mux.HandleFunc("GET /api/v4/projects/{id}/pipelines/{pid}", g.authed(g.getPipeline))
	g.Server = httptest.NewServer(mux)
	return g
}

// URL is the instance's address (an installation's --base-url).
func (g *GitLab) URL() string { return g.Server.URL }

// AddProject adds a project by numeric id and path.
func (g *GitLab) AddProject(id int64, path, defaultBranch string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := &glProject{id: id, path: path, defaultBranch: defaultBranch}
	g.projects[strconv.FormatInt(id, 10)] = p
	g.projects[path] = p
}

// CreateCount is how many pipelines the fake created.
func (g *GitLab) CreateCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.Created)
}

func (g *GitLab) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("PRIVATE-TOKEN"); got != g.Token {
			msg := "401 Unauthorized"
			if g.EchoCredentials {
				msg += " (token " + got + ")"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": msg})
			return
		}
		if g.Fail.take(w, r) {
			return
		}
		h(w, r)
	}
}

func (g *GitLab) project(w http.ResponseWriter, r *http.Request) *glProject {
	p := g.projects[r.PathValue("id")]
	if p == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
	}
	return p
}

func (g *GitLab) getProject(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p := g.project(w, r); p != nil {
		writeJSON(w, http.StatusOK, map[string]any{"id": p.id, "path_with_namespace": p.path, "default_branch": p.defaultBranch})
	}
}

func (g *GitLab) newPipeline(w http.ResponseWriter, p *glProject, ref string, trigger bool, vars map[string]string) {
	if ref == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Reference not found"}}})
		return
	}
	g.nextID++
	source := "api"
	if trigger {
		source = "trigger"
	}
	pl := &glPipeline{ID: g.nextID, IID: g.nextID - 500, ProjectID: p.id, Status: "created", Source: source, Ref: ref,
		WebURL: fmt.Sprintf("https://gitlab.example/%s/-/pipelines/%d", p.path, g.nextID), CreatedAt: time.Now().UTC()}
	g.pipelines = append(g.pipelines, pl)
	g.Created = append(g.Created, GitLabCreate{Project: p.path, Ref: ref, Trigger: trigger, Variables: vars})
	writeJSON(w, http.StatusCreated, pl)
}

func (g *GitLab) createPipeline(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.project(w, r)
	if p == nil {
		return
	}
	var body struct {
		Ref       string `json:"ref"`
		Variables []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "variables is invalid"})
		return
	}
	vars := map[string]string{}
	for _, v := range body.Variables {
		vars[v.Key] = v.Value
	}
	g.newPipeline(w, p, body.Ref, false, vars)
}

func (g *GitLab) trigger(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var body struct {
		Token     string            `json:"token"`
		Ref       string            `json:"ref"`
		Variables map[string]string `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "variables is invalid"})
		return
	}
	p := g.projects[r.PathValue("id")]
	if p == nil || body.Token != g.TriggerToken {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found"})
		return
	}
	g.newPipeline(w, p, body.Ref, true, body.Variables)
}

func (g *GitLab) getPipeline(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.project(w, r)
	if p == nil {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	for _, pl := range g.pipelines {
		if pl.ID == id && pl.ProjectID == p.id {
			pl.reads++
			switch {
			case pl.reads > g.PollsToComplete:
				pl.Status = g.Final
			case pl.reads > 1:
				pl.Status = "running"
			}
			writeJSON(w, http.StatusOK, pl)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
}
