package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
)

// GitLabURL is gitlab.com, for installations without a base URL. A base URL
// is the instance's address; the API is under /api/v4.
const GitLabURL = "https://gitlab.com"

// The REST endpoints used (docs.gitlab.com/api/pipelines,
// /api/pipeline_triggers, /api/projects):
//
//	GET  /api/v4/projects/{id}                       default_branch
//	POST /api/v4/projects/{id}/pipeline              {ref, variables: [{key, value}]}, PRIVATE-TOKEN
//	POST /api/v4/projects/{id}/trigger/pipeline      {token, ref, variables: {key: value}}
//	GET  /api/v4/projects/{id}/pipelines/{pipeline}  status, web_url

func gitlabAPI(in store.Installation) string {
	base := in.BaseURL
	if base == "" {
		base = GitLabURL
	}
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/api/v4") {
		base += "/api/v4"
	}
	return base
}

// gitlabProject reads projectId (or Ocean's project): a numeric id or a
// group/project path, which GitLab takes URL-encoded.
func gitlabProject(props map[string]any) (string, error) {
	for _, name := range []string{"projectId", "project"} {
		switch v := props[name].(type) {
		case nil:
		case string:
			if v == "" {
				return "", fmt.Errorf("%s.%s: must not be empty", propsPath, name)
			}
			return v, nil
		case float64, json.Number, int, int64:
			n, _ := number(v)
			return strconv.FormatInt(int64(n), 10), nil
		default:
			return "", fmt.Errorf("%s.%s: must be a project id or a group/project path, got %s", propsPath, name, kindOf(v))
		}
	}
	return "", fmt.Errorf("%s.projectId: is required (a numeric id or a group/project path)", propsPath)
}

// gitlabVariables reads pipelineVariables: GitLab takes string values;
// others are sent as compact JSON (as Ocean does).
func gitlabVariables(props map[string]any) (map[string]string, error) {
	out := map[string]string{}
	switch m := props["pipelineVariables"].(type) {
	case nil:
	case map[string]any:
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s.pipelineVariables.%s: %w", propsPath, k, err)
			}
			out[k] = string(b)
		}
	default:
		return nil, fmt.Errorf("%s.pipelineVariables: must be an object, got %s", propsPath, kindOf(m))
	}
	return out, nil
}

type gitlabPipeline struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Status    string `json:"status"`
	WebURL    string `json:"web_url"`
}

func (x *Executor) gitlabExecute(ctx context.Context, req *node.Request, cfg *config, in store.Installation, deadline time.Time) (node.Result, error) {
	p := cfg.props
	project, err := gitlabProject(p)
	if err != nil {
		return node.Result{}, err
	}
	ref, err := str(p, "ref")
	if err != nil {
		return node.Result{}, err
	}
	vars, err := gitlabVariables(p)
	if err != nil {
		return node.Result{}, err
	}
	trigger, err := str(p, "triggerToken")
	if err != nil {
		return node.Result{}, err
	}
	// The installation's token reads the project and the pipeline; a
	// trigger token alone can only create the pipeline.
	var tok string
	if trigger == "" || ref == "" || cfg.report {
		if tok, err = token(ctx, req, in); err != nil {
			return node.Result{}, err
		}
	}
	api := gitlabAPI(in)
	projPath := "/projects/" + url.PathEscape(project)
	h := http.Header{"Private-Token": {tok}}
	c := x.caller("GitLab", deadline, time.Until(deadline))
	if ref == "" {
		r, err := c.do(ctx, http.MethodGet, api+projPath, "/api/v4"+projPath, h, nil)
		if err != nil {
			return node.Result{}, err
		}
		var info struct {
			DefaultBranch string `json:"default_branch"`
		}
		if err := r.decode("GitLab", "project "+project, &info); err != nil {
			return node.Result{}, err
		}
		if info.DefaultBranch == "" {
			return node.Result{}, fmt.Errorf("GitLab: project %s has no default branch; set ref in %s", project, propsPath)
		}
		ref = info.DefaultBranch
	}
	var r *response
	if trigger != "" {
		path := projPath + "/trigger/pipeline"
		r, err = c.do(ctx, http.MethodPost, api+path, "/api/v4"+path, nil, map[string]any{"token": trigger, "ref": ref, "variables": vars})
	} else {
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		list := make([]map[string]string, 0, len(keys))
		for _, k := range keys {
			list = append(list, map[string]string{"key": k, "value": vars[k]})
		}
		path := projPath + "/pipeline"
		r, err = c.do(ctx, http.MethodPost, api+path, "/api/v4"+path, h, map[string]any{"ref": ref, "variables": list})
	}
	if err != nil {
		return node.Result{}, err
	}
	var pl gitlabPipeline
	if err := r.decode("GitLab", "pipeline", &pl); err != nil {
		return node.Result{}, err
	}
	if pl.ID == 0 {
		return node.Result{}, fmt.Errorf("GitLab: the pipeline of project %s was created, but the answer names no pipeline id", project)
	}
	req.Log(node.LevelInfo, fmt.Sprintf("created pipeline %d of project %s on %s: %s", pl.ID, project, ref, pl.WebURL))
	out := map[string]any{"workflowRunId": pl.ID, "workflowRunUrl": pl.WebURL}
	if !cfg.report {
		return node.Result{Output: out}, nil
	}
	st := &state{Provider: ProviderGitLab, Installation: in.ID, Phase: phasePoll, Report: true, Deadline: deadline, Project: project, Ref: ref, RunID: pl.ID, RunURL: pl.WebURL}
	if done, res, err := gitlabDone(st, pl); done {
		return res, err
	}
	return x.pending(st, time.Time{}), nil
}

// gitlabDone reports whether a pipeline ended, and how the node ends then.
func gitlabDone(st *state, pl gitlabPipeline) (bool, node.Result, error) {
	switch pl.Status {
	case "success":
		return true, node.Result{Output: map[string]any{"workflowRunId": st.RunID, "workflowRunUrl": st.RunURL, "workflowStatus": statusWord(pl.Status)}}, nil
	case "failed", "canceled", "skipped":
		return true, node.Result{}, fmt.Errorf("GitLab pipeline %d ended %s (%s)", st.RunID, pl.Status, st.RunURL)
	}
	return false, node.Result{}, nil
}

func (x *Executor) gitlabPoll(ctx context.Context, req *node.Request, st *state, in store.Installation) (node.Result, error) {
	tok, err := token(ctx, req, in)
	if err != nil {
		return node.Result{}, err
	}
	path := fmt.Sprintf("/projects/%s/pipelines/%d", url.PathEscape(st.Project), st.RunID)
	r, err := x.caller("GitLab", st.Deadline, x.maxInline).do(ctx, http.MethodGet, gitlabAPI(in)+path, "/api/v4"+path, http.Header{"Private-Token": {tok}}, nil)
	if err != nil {
		return node.Result{}, err
	}
	var pl gitlabPipeline
	if err := r.decode("GitLab", "pipeline", &pl); err != nil {
		return node.Result{}, err
	}
	if pl.WebURL != "" {
		st.RunURL = pl.WebURL
	}
	if done, res, err := gitlabDone(st, pl); done {
		if err == nil {
			req.Log(node.LevelInfo, fmt.Sprintf("pipeline %d ended success", st.RunID))
		}
		return res, err
	}
	return x.pending(st, time.Time{}), nil
}
