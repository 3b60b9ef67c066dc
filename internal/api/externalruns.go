package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// checkExternalRunID validates an external run id (Port's externalRunId, a
// provider's run id as Ocean writes it: "12345", "42:1234", "proj/7/9",
// "bc-5f0c..."): 1 to store.MaxExternalRunIDLen bytes of visible ASCII, so
// that it is found again byte for byte and never carries a line break or
// a look-alike character into a log. field names it in the error.
func checkExternalRunID(field, id string) error {
	if id == "" {
		return fmt.Errorf("%s: must not be empty", field)
	}
	if len(id) > store.MaxExternalRunIDLen {
		return fmt.Errorf("%s: must be at most %d characters, got %d", field, store.MaxExternalRunIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%s: must hold only visible ASCII characters (no spaces or control characters); byte %d is not", field, i)
		}
	}
	return nil
}

// externalRunStore returns the store's external run ids, or a 501.
func (s *Server) externalRunStore() (store.ExternalRunStore, error) {
	es, ok := s.st.(store.ExternalRunStore)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, codeUnavailable, "this server's store keeps no external run ids")
	}
	return es, nil
}

// setExternalRunID records a node run's external run id, redacted with its
// run's redactor (caller-supplied text is run data). It is a 409 when the
// node run or its run is no longer IN_PROGRESS.
func (s *Server) setExternalRunID(ctx context.Context, nr store.NodeRun, id string) error {
	es, err := s.externalRunStore()
	if err != nil {
		return err
	}
	red, err := s.eng.RunRedactor(ctx, nr.RunID)
	if err == nil {
		err = es.SetExternalRunID(ctx, nr.Identifier, red.Text(id), time.Now())
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("workflow node run %s, or its run, is no longer IN_PROGRESS", nr.Identifier)
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow node run %s not found", nr.Identifier)
	case err != nil:
		return fmt.Errorf("set the external run id of %s: %w", nr.Identifier, err)
	}
	return nil
}

// nodeRunsByExternalIDParams are the query parameters of
// GET /v1/workflows/nodes/runs.
var nodeRunsByExternalIDParams = []string{"external_run_id", "include"}

// maxExternalRunMatches bounds how many node runs one lookup considers.
const maxExternalRunMatches = 100

// nodeRunsByExternalID is GET /v1/workflows/nodes/runs?external_run_id=X
// [&include=nodeConfig], as Ocean calls it (get_wf_node_run_by_external_id):
// {"ok": true, "nodeRuns": [...]}, the most recently tagged first. Only the
// node runs the caller may act for are listed: an INTEGRATION_ACTION's for
// a machine client with integration:<its installationId>, any for an Admin.
// None is an empty list, as Ocean expects (it reads "no run" from it), and
// a node run the caller may not see is left out the same way. With
// include=nodeConfig each carries node.config: rendered with its secrets
// resolved, exactly as claim-pending gives it, for the integration's
// client while the node run is IN_PROGRESS; otherwise as the workflow
// defines it, templates unrendered (docs/decisions/024-external-run-ids.md).
func (s *Server) nodeRunsByExternalID(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, nodeRunsByExternalIDParams...); err != nil {
		return err
	}
	ext := q["external_run_id"]
	if len(ext) != 1 {
		return invalidField("external_run_id", "give it once: the node runs are looked up by their external run id")
	}
	if err := checkExternalRunID("external_run_id", ext[0]); err != nil {
		return badRequest("%s", err.Error())
	}
	withConfig := false
	for _, inc := range q["include"] {
		if inc != "nodeConfig" {
			return invalidField("include", "must be nodeConfig")
		}
		withConfig = true
	}
	es, err := s.externalRunStore()
	if err != nil {
		return err
	}
	found, err := es.FindExternalRuns(r.Context(), ext[0], maxExternalRunMatches)
	if err != nil {
		return fmt.Errorf("find node runs by external run id: %w", err)
	}
	out := make([]map[string]any, 0, len(found))
	for _, f := range found {
		m, err := s.externalNodeRun(r.Context(), a, f, withConfig)
		if err != nil {
			return err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "nodeRuns": out})
	return nil
}

// externalNodeRun shapes one node run found by its external run id, or
// returns nil when the caller may not see it (or it went meanwhile).
func (s *Server) externalNodeRun(ctx context.Context, a authz.Actor, f store.ExternalRun, withConfig bool) (map[string]any, error) {
	nr, err := s.st.GetNodeRun(ctx, f.NodeRunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get node run %s: %w", f.NodeRunID, err)
	}
	run, err := s.st.GetRun(ctx, nr.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get run %s: %w", nr.RunID, err)
	}
	wf, err := s.eng.Definition(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return nil, fmt.Errorf("node run %s: %w", nr.Identifier, err)
	}
	n := wf.Node(nr.NodeID)
	if n == nil {
		return nil, nil
	}
	installation, _ := n.Config["installationId"].(string)
	integrationClient := installation != "" && authz.CanClaimIntegration(a, installation)
	if !integrationClient && !a.IsAdmin() {
		return nil, nil
	}
	nodeRef := map[string]any{"identifier": nr.NodeID}
	if withConfig {
		cfg := map[string]any(n.Config)
		if integrationClient && nr.Status == store.StatusInProgress {
			rendered, _, err := s.eng.NodeRunConfig(ctx, nr.Identifier)
			switch {
			case err == nil:
				cfg = rendered
			case errors.Is(err, store.ErrConflict):
				// Completed meanwhile: shown as defined, like any
				// finished node run.
			default:
				// Nothing of the error is returned: it may name what
				// the config reads.
				s.log.Warn("a node run's config could not be rendered for its external integration", "nodeRun", nr.Identifier, "error", err.Error())
				return nil, apiErr(http.StatusInternalServerError, codeInternal, "the config of node run %s could not be rendered; see the server's log", nr.Identifier)
			}
		}
		nodeRef["config"] = cfg
	}
	var result, completedAt any
	if nr.Result != "" {
		result = nr.Result
	}
	if nr.CompletedAt != nil {
		completedAt = nr.CompletedAt.UTC().Format(time.RFC3339Nano)
	}
	output := any(map[string]any{})
	if b := nr.Output.Bytes(); len(b) > 0 && b[0] == '{' && authz.CanViewRun(a, run, wf) {
		output = json.RawMessage(nr.Output.Bytes())
	}
	return map[string]any{
		"identifier":            nr.Identifier,
		"nodeUid":               run.WorkflowID + "/" + nr.NodeID,
		"status":                nr.Status,
		"result":                result,
		"externalRunId":         f.ExternalRunID.String(),
		"output":                output,
		"node":                  nodeRef,
		"workflowRunIdentifier": nr.RunID,
		"workflow":              map[string]any{"identifier": run.WorkflowID, "version": run.WorkflowVersion},
		"createdAt":             nr.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updatedAt":             nr.UpdatedAt.UTC().Format(time.RFC3339Nano),
		"completedAt":           completedAt,
	}, nil
}

// nodeRunWithExternalID is a node run as the API answers it, with its
// external run id (null when it has none).
type nodeRunWithExternalID struct {
	view.NodeRun
	ExternalRunID *string `json:"externalRunId"`
}

// withExternalRunID adds a node run's external run id, when the store
// keeps them.
func (s *Server) withExternalRunID(ctx context.Context, n view.NodeRun) (nodeRunWithExternalID, error) {
	out := nodeRunWithExternalID{NodeRun: n}
	es, ok := s.st.(store.ExternalRunStore)
	if !ok {
		return out, nil
	}
	m, err := es.ExternalRunIDs(ctx, []string{n.Identifier})
	if err != nil {
		return out, fmt.Errorf("external run id of %s: %w", n.Identifier, err)
	}
	if e, ok := m[n.Identifier]; ok {
		id := e.ExternalRunID.String()
		out.ExternalRunID = &id
	}
	return out, nil
}
