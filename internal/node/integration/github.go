package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
)

// GitHubAPI is the API of github.com, for installations without a base URL.
const GitHubAPI = "https://api.github.com"

// The REST endpoints used (docs.github.com/rest/actions/workflows and
// /rest/actions/workflow-runs, /rest/repos/repos):
//
//	GET  /repos/{owner}/{repo}                                   default_branch
//	POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches {ref, inputs, return_run_details}
//	GET  /repos/{owner}/{repo}/actions/workflows/{id}/runs       ?event=workflow_dispatch&created=>=T
//	GET  /repos/{owner}/{repo}/actions/runs/{run_id}             status, conclusion, html_url

func githubBase(in store.Installation) string {
	if in.BaseURL == "" {
		return GitHubAPI
	}
	return strings.TrimRight(in.BaseURL, "/")
}

func githubHeader(token string) http.Header {
	return http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
		"Authorization":        {"Bearer " + token},
	}
}

// githubInputs checks that every workflow input rendered to a string.
func githubInputs(props map[string]any) (map[string]string, error) {
	name := "workflowInputs"
	raw, present := props[name]
	if !present {
		name = "inputs" // Port's older documentation
		raw = props[name]
	}
	out := map[string]string{}
	switch m := raw.(type) {
	case nil:
	case map[string]any:
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s.%s.%s: GitHub workflow inputs must be strings, but the template rendered %s: convert it with | tostring (\"{{ .outputs.trigger.count | tostring }}\")", propsPath, name, k, kindOf(v))
			}
			out[k] = s
		}
	default:
		return nil, fmt.Errorf("%s.%s: must be an object of strings, got %s", propsPath, name, kindOf(raw))
	}
	return out, nil
}

func (x *Executor) githubExecute(ctx context.Context, req *node.Request, cfg *config, in store.Installation, deadline time.Time) (node.Result, error) {
	p := cfg.props
	owner, err := required(p, "org")
	if err != nil {
		return node.Result{}, err
	}
	repo, err := required(p, "repo")
	if err != nil {
		return node.Result{}, err
	}
	wf, err := required(p, "workflow", "workflowId")
	if err != nil {
		return node.Result{}, err
	}
	if owner, repo, err = splitRepo(owner, repo); err != nil {
		return node.Result{}, err
	}
	inputs, err := githubInputs(p)
	if err != nil {
		return node.Result{}, err
	}
	ref, err := str(p, "ref")
	if err != nil {
		return node.Result{}, err
	}
	tok, err := token(ctx, req, in)
	if err != nil {
		return node.Result{}, err
	}
	base, h := githubBase(in), githubHeader(tok)
	c := x.caller("GitHub", deadline, time.Until(deadline))
	repoPath := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	if ref == "" {
		r, err := c.do(ctx, http.MethodGet, base+repoPath, repoPath, h, nil)
		if err != nil {
			return node.Result{}, err
		}
		var info struct {
			DefaultBranch string `json:"default_branch"`
		}
		if err := r.decode("GitHub", "repository "+owner+"/"+repo, &info); err != nil {
			return node.Result{}, err
		}
		if info.DefaultBranch == "" {
			return node.Result{}, fmt.Errorf("GitHub: repository %s/%s has no default branch; set ref in %s", owner, repo, propsPath)
		}
		ref = info.DefaultBranch
	}
	dispatchPath := repoPath + "/actions/workflows/" + url.PathEscape(wf) + "/dispatches"
	dispatchedAt := x.now().UTC()
	r, err := c.do(ctx, http.MethodPost, base+dispatchPath, dispatchPath, h, map[string]any{"ref": ref, "inputs": inputs, "return_run_details": true})
	if err != nil {
		return node.Result{}, err
	}
	req.Log(node.LevelInfo, fmt.Sprintf("dispatched workflow %s of %s/%s on %s", wf, owner, repo, ref))
	st := &state{Provider: ProviderGitHub, Installation: in.ID, Report: cfg.report, Deadline: deadline, Owner: owner, Repo: repo, Workflow: wf, Ref: ref, DispatchedAt: dispatchedAt}
	if r.status == http.StatusOK && len(r.body) > 0 {
		var d struct {
			RunID   int64  `json:"workflow_run_id"`
			HTMLURL string `json:"html_url"`
		}
		if err := r.decode("GitHub", "dispatch", &d); err == nil && d.RunID != 0 {
			st.RunID, st.RunURL = d.RunID, d.HTMLURL
			return x.githubFound(req, st)
		}
	}
	// Older GitHub Enterprise answers 204 without the run: look for it in
	// the runs of the workflow.
	st.Phase = phaseFind
	if found, err := x.githubFind(ctx, c, base, h, st); err != nil {
		return node.Result{}, err
	} else if found {
		return x.githubFound(req, st)
	}
	req.Log(node.LevelInfo, "GitHub does not list the run yet; looking again shortly")
	return x.pending(st, time.Time{}), nil
}

// githubFound goes on once the run is known: done, or polled.
func (x *Executor) githubFound(req *node.Request, st *state) (node.Result, error) {
	req.Log(node.LevelInfo, fmt.Sprintf("workflow run %d: %s", st.RunID, st.RunURL))
	out := map[string]any{"workflowRunId": st.RunID, "workflowRunUrl": st.RunURL}
	if !st.Report {
		return node.Result{Output: out}, nil
	}
	st.Phase, st.Polls = phasePoll, 0
	return x.pending(st, time.Time{}), nil
}

// githubFind looks for the run a dispatch started among the workflow's
// workflow_dispatch runs created since the dispatch (a minute of clock skew
// allowed), oldest first.
func (x *Executor) githubFind(ctx context.Context, c *caller, base string, h http.Header, st *state) (bool, error) {
	runsPath := "/repos/" + url.PathEscape(st.Owner) + "/" + url.PathEscape(st.Repo) + "/actions/workflows/" + url.PathEscape(st.Workflow) + "/runs"
	since := st.DispatchedAt.Add(-time.Minute)
	q := url.Values{"event": {"workflow_dispatch"}, "branch": {st.Ref}, "created": {">=" + since.Format(time.RFC3339)}, "per_page": {"100"}}
	r, err := c.do(ctx, http.MethodGet, base+runsPath+"?"+q.Encode(), runsPath, h, nil)
	if err != nil {
		return false, err
	}
	var list struct {
		Runs []githubRun `json:"workflow_runs"`
	}
	if err := r.decode("GitHub", "workflow runs", &list); err != nil {
		return false, err
	}
	var best *githubRun
	for i := range list.Runs {
		run := &list.Runs[i]
		if run.Event != "" && run.Event != "workflow_dispatch" || run.CreatedAt.Before(since) {
			continue
		}
		if best == nil || run.CreatedAt.Before(best.CreatedAt) {
			best = run
		}
	}
	if best == nil {
		return false, nil
	}
	st.RunID, st.RunURL = best.ID, best.HTMLURL
	return true, nil
}

type githubRun struct {
	ID         int64     `json:"id"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	HTMLURL    string    `json:"html_url"`
	CreatedAt  time.Time `json:"created_at"`
}

func (x *Executor) githubPoll(ctx context.Context, req *node.Request, st *state, in store.Installation) (node.Result, error) {
	tok, err := token(ctx, req, in)
	if err != nil {
		return node.Result{}, err
	}
	base, h := githubBase(in), githubHeader(tok)
	c := x.caller("GitHub", st.Deadline, x.maxInline)
	if st.Phase == phaseFind {
		found, err := x.githubFind(ctx, c, base, h, st)
		if err != nil || !found {
			return x.pending(st, time.Time{}), err
		}
		return x.githubFound(req, st)
	}
	runPath := fmt.Sprintf("/repos/%s/%s/actions/runs/%d", url.PathEscape(st.Owner), url.PathEscape(st.Repo), st.RunID)
	r, err := c.do(ctx, http.MethodGet, base+runPath, runPath, h, nil)
	if err != nil {
		return node.Result{}, err
	}
	var run githubRun
	if err := r.decode("GitHub", "workflow run", &run); err != nil {
		return node.Result{}, err
	}
	if run.HTMLURL != "" {
		st.RunURL = run.HTMLURL
	}
	if run.Status != "completed" {
		return x.pending(st, time.Time{}), nil
	}
	if run.Conclusion != "success" {
		return node.Result{}, fmt.Errorf("GitHub workflow run %d ended %s (%s)", st.RunID, run.Conclusion, st.RunURL)
	}
	req.Log(node.LevelInfo, fmt.Sprintf("workflow run %d ended success", st.RunID))
	return node.Result{Output: map[string]any{"workflowRunId": st.RunID, "workflowRunUrl": st.RunURL, "workflowStatus": statusWord(run.Conclusion)}}, nil
}

// splitRepo accepts repo as "name" with org, or "owner/name" (Port's older
// documentation).
func splitRepo(owner, repo string) (string, string, error) {
	if o, r, ok := strings.Cut(repo, "/"); ok {
		if owner != "" && !strings.EqualFold(owner, o) {
			return "", "", fmt.Errorf("%s.repo: names owner %s, but org is %s", propsPath, o, owner)
		}
		return o, r, nil
	}
	return owner, repo, nil
}
