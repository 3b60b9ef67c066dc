package api

import (
	"context"
	"net/http"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/view"
)

// portRoutes serves the other forms of Port's paths that its documentation
// gives for the same operations, so that a script written against either
// works unchanged:
//
//   - PATCH /v1/workflows/runs/{wfr}/nodes/{wfnr}: the node-run update of
//     port-labs/port-docs docs/workflows/runs.md ("Update node run status"),
//     the same operation as PATCH /v1/workflows/nodes/runs/{wfnr}
//     (docs/workflows/running-and-inspecting.md).
//   - POST /v1/org/{orgId}/workflows/runs/claim-pending and PATCH
//     /v1/org/{orgId}/workflows/runs/ack: the claim and acknowledgement of an
//     integration worker as running-and-inspecting.md writes them. sluice
//     serves one organization, so any orgId names it.
//   - GET /v1/workflows/nodes/runs?external_run_id=: the lookup of a node
//     run by its external run id that Ocean's integrations make from a
//     provider's webhook (externalruns.go).
func (s *Server) portRoutes() {
	m := s.mux
	m.HandleFunc("PATCH /v1/workflows/runs/{wfr}/nodes/{wfnr}", s.authed(s.completeNodeRunOfRun))
	m.HandleFunc("POST /v1/org/{orgId}/workflows/runs/claim-pending", s.authed(s.claimPending))
	m.HandleFunc("PATCH /v1/org/{orgId}/workflows/runs/ack", s.authed(s.ackNodeRun))
	m.HandleFunc("GET /v1/workflows/nodes/runs", s.authed(s.nodeRunsByExternalID))
}

// completeNodeRunOfRun is completeNodeRun under Port's older path, which
// names the run too: a node run of another run is a 404, as a missing one
// is, so the path cannot be used to probe for node runs.
func (s *Server) completeNodeRunOfRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	nodeRunID := r.PathValue("wfnr")
	nr, _, err := s.nodeRunFor(r.Context(), a, nodeRunID, true)
	if err != nil {
		return err
	}
	if nr.RunID != r.PathValue("wfr") {
		return notFound("workflow node run %s not found in run %s", nodeRunID, r.PathValue("wfr"))
	}
	return s.completeNodeRun(w, r, a)
}

// loadRun shapes a run as the API answers it (view.LoadWith), taking its
// nodes' display fields from the engine's cache of compiled definitions
// rather than reading the workflow version again for every answer.
func (s *Server) loadRun(ctx context.Context, runID string, logs bool) (view.Run, error) {
	return view.LoadWith(ctx, s.st, runID, view.LoadOptions{Logs: logs, Definition: s.eng.Definition})
}
