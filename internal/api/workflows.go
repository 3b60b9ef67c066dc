package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// workflowJSON is a stored definition with the server fields added:
// version, createdBy, updatedBy, createdAt, updatedAt. The definition's own
// members keep the order the user wrote.
func workflowJSON(w store.Workflow) (json.RawMessage, error) {
	def := bytes.TrimSpace(w.Definition)
	if len(def) < 2 || def[0] != '{' || def[len(def)-1] != '}' {
		return nil, fmt.Errorf("stored workflow %s version %d is not a JSON object", w.Identifier, w.Version)
	}
	extra, err := json.Marshal(struct {
		Version   int       `json:"version"`
		CreatedBy string    `json:"createdBy"`
		UpdatedBy string    `json:"updatedBy"`
		CreatedAt time.Time `json:"createdAt"`
		UpdatedAt time.Time `json:"updatedAt"`
	}{w.Version, w.CreatedBy, w.UpdatedBy, w.CreatedAt.UTC(), w.UpdatedAt.UTC()})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(def)+len(extra))
	out = append(out, def[:len(def)-1]...)
	if len(bytes.TrimSpace(def[1:len(def)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, extra[1:]...)
	return out, nil
}

// problemDetails turns validation problems into error details.
func problemDetails(ps []workflow.Problem) []Detail {
	ds := make([]Detail, 0, len(ps))
	for _, p := range ps {
		ds = append(ds, Detail{Path: p.Path, Message: p.Message})
	}
	return ds
}

// parseDefinition reads and validates a definition body: malformed JSON is
// a 400 with its position, an invalid definition a 422 listing every
// problem with its JSON path (what `sluice validate` prints).
func (s *Server) parseDefinition(w http.ResponseWriter, r *http.Request, a authz.Actor) (*workflow.Workflow, []workflow.Problem, error) {
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSyntax(body); err != nil {
		return nil, nil, err
	}
	wf, problems := workflow.Parse(body)
	if wf != nil && wf.Identifier == "runs" {
		// GET /v1/workflows/runs is the list of runs: a workflow of that
		// name could never be read back.
		problems.Errors = append(problems.Errors, workflow.Problem{Path: "identifier", Message: `"runs" is reserved: /v1/workflows/runs lists runs`})
	}
	if len(problems.Errors) > 0 {
		return nil, nil, &Error{
			Status:  http.StatusUnprocessableEntity,
			Code:    codeInvalidDefinition,
			Message: fmt.Sprintf("the workflow definition has %d problem(s)", len(problems.Errors)),
			Details: problemDetails(problems.Errors),
		}
	}
	creds, err := s.literalCredentials(r.Context(), a, wf)
	if err != nil {
		return nil, nil, err
	}
	warnings := append(append(problems.Warnings, creds...), s.undefinedSecrets(r.Context(), a, wf)...)
	if s.nodes != nil {
		warnings = append(warnings, s.nodes.Warnings(wf)...)
	}
	return wf, warnings, nil
}

// undefinedSecrets warns about the secrets a definition references that do
// not exist (yet): the workflow saves, since they may be created later, and
// the node that reads one fails until then. Only callers who may list
// secrets get the warnings, or saving would tell anyone which names exist.
// The warnings are a courtesy: when the secrets cannot be listed, there are
// none, and the save goes on.
func (s *Server) undefinedSecrets(ctx context.Context, a authz.Actor, wf *workflow.Workflow) []workflow.Problem {
	if s.secrets == nil || !authz.CanManageSecrets(a, authz.Read) {
		return nil
	}
	defined := map[string]bool{}
	list, err := s.secrets.List(ctx)
	if err != nil {
		s.log.Warn("listing secrets for save warnings failed", "error", err.Error())
		return nil
	}
	for _, m := range list {
		defined[m.Name] = true
	}
	var out []workflow.Problem
	for i, n := range wf.Nodes {
		if n.ConfigTemplate == nil {
			continue
		}
		for _, name := range n.ConfigTemplate.Reads().Secrets {
			if !defined[name] {
				out = append(out, workflow.Problem{
					Path:    fmt.Sprintf("nodes[%d].config", i),
					Message: fmt.Sprintf("secret %s is not defined yet; node %s fails until it is created", name, n.Identifier),
					Warning: true,
				})
			}
		}
	}
	return out
}

// workflowAnswer is the envelope of one workflow, with warnings when the
// definition had any.
func workflowAnswer(w store.Workflow, warnings []workflow.Problem) (map[string]any, error) {
	j, err := workflowJSON(w)
	if err != nil {
		return nil, err
	}
	out := ok("workflow", j)
	if len(warnings) > 0 {
		out["warnings"] = problemDetails(warnings)
	}
	return out, nil
}

func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	if !authz.CanManageWorkflows(a, authz.Create) {
		return forbidden("creating workflows takes an Admin or the %s scope", authz.ScopeCreateWorkflows)
	}
	wf, warnings, err := s.parseDefinition(w, r, a)
	if err != nil {
		return err
	}
	saved, err := s.st.CreateWorkflow(r.Context(), store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: a.ID, UpdatedBy: a.ID})
	switch {
	case errors.Is(err, store.ErrExists):
		return conflict("workflow %s already exists; PUT /v1/workflows/%s replaces it", wf.Identifier, wf.Identifier)
	case err != nil:
		return fmt.Errorf("create workflow %s: %w", wf.Identifier, err)
	}
	s.eng.Remember(wf, saved.Version)
	answer, err := workflowAnswer(saved, warnings)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, answer)
	return nil
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	ws, err := s.st.ListWorkflows(r.Context())
	if err != nil {
		return fmt.Errorf("list workflows: %w", err)
	}
	all := authz.CanManageWorkflows(a, authz.Read)
	out := make([]json.RawMessage, 0, len(ws))
	for _, rec := range ws {
		if !all {
			wf, err := s.definition(rec)
			if err != nil {
				return err
			}
			if !authz.CanTry(a, wf) {
				continue
			}
		}
		j, err := workflowJSON(rec)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, ok("workflows", out))
	return nil
}

// visibleWorkflow returns the newest version of a workflow the actor may
// see; a 404 for one that is missing or hidden from them.
func (s *Server) visibleWorkflow(r *http.Request, a authz.Actor, id string) (store.Workflow, *workflow.Workflow, error) {
	rec, err := s.st.GetWorkflow(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Workflow{}, nil, notFound("workflow %s not found", id)
	case err != nil:
		return store.Workflow{}, nil, fmt.Errorf("get workflow %s: %w", id, err)
	}
	wf, err := s.definition(rec)
	if err != nil {
		return store.Workflow{}, nil, err
	}
	if !authz.CanSeeWorkflow(a, wf) {
		return store.Workflow{}, nil, notFound("workflow %s not found", id)
	}
	return rec, wf, nil
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	rec, _, err := s.visibleWorkflow(r, a, r.PathValue("identifier"))
	if err != nil {
		return err
	}
	answer, err := workflowAnswer(rec, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// putWorkflow replaces a workflow with a new version; runs keep the
// version they started with. A missing workflow is a 404: POST creates.
func (s *Server) putWorkflow(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	id := r.PathValue("identifier")
	if !authz.CanManageWorkflows(a, authz.Update) {
		return forbidden("replacing workflows takes an Admin or the %s scope", authz.ScopeUpdateWorkflows)
	}
	wf, warnings, err := s.parseDefinition(w, r, a)
	if err != nil {
		return err
	}
	if wf.Identifier != id {
		return &Error{Status: http.StatusUnprocessableEntity, Code: codeInvalidDefinition,
			Message: "identifier: must be the identifier in the path",
			Details: []Detail{{Path: "identifier", Message: fmt.Sprintf("must be %s, the identifier in the path", id)}}}
	}
	saved, err := s.st.UpdateWorkflow(r.Context(), store.Workflow{Identifier: id, Definition: wf.Source, UpdatedBy: a.ID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow %s not found; POST /v1/workflows creates it", id)
	case err != nil:
		return fmt.Errorf("update workflow %s: %w", id, err)
	}
	s.eng.Remember(wf, saved.Version)
	answer, err := workflowAnswer(saved, warnings)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// deleteWorkflow deletes a workflow; its runs stay readable.
func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	id := r.PathValue("identifier")
	if !authz.CanManageWorkflows(a, authz.Delete) {
		return forbidden("deleting workflows takes an Admin or the %s scope", authz.ScopeDeleteWorkflows)
	}
	err := s.st.DeleteWorkflow(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow %s not found", id)
	case err != nil:
		return fmt.Errorf("delete workflow %s: %w", id, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// getNode answers one node of a workflow's newest version, as the stored
// definition holds it: {"ok": true, "node": {...}}. A node the workflow
// lacks, like a workflow the caller may not see, is a 404.
func (s *Server) getNode(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	id, nodeID := r.PathValue("identifier"), r.PathValue("node")
	rec, _, err := s.visibleWorkflow(r, a, id)
	if err != nil {
		return err
	}
	var def struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	if err := json.Unmarshal(rec.Definition, &def); err != nil {
		return fmt.Errorf("stored workflow %s version %d: %w", id, rec.Version, err)
	}
	for _, raw := range def.Nodes {
		var n struct {
			Identifier string `json:"identifier"`
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("stored workflow %s version %d: node: %w", id, rec.Version, err)
		}
		if n.Identifier == nodeID {
			writeJSON(w, http.StatusOK, ok("node", raw))
			return nil
		}
	}
	return notFound("workflow %s has no node %s", id, nodeID)
}
