package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/integration"
	"github.com/sluice-run/sluice/internal/store"
)

// installationJSON is an installation as the API shows it: the name of the
// secret that holds its token, never a token.
func installationJSON(in store.Installation) map[string]any {
	return map[string]any{
		"installationId": in.ID,
		"provider":       in.Provider,
		"baseUrl":        in.BaseURL,
		"tokenSecret":    in.TokenSecret,
		"external":       in.External,
		"createdBy":      in.CreatedBy,
		"createdAt":      in.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updatedAt":      in.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

// integrations returns the store's installations and claims, after checking
// that a may do act to installations.
func (s *Server) integrations(a authz.Actor, act authz.Action) (store.IntegrationStore, error) {
	if !authz.CanManageIntegrations(a, act) {
		return nil, forbidden("managing installations takes an Admin, or a machine client with the scope %s:integrations", act)
	}
	return s.integrationStore()
}

func (s *Server) integrationStore() (store.IntegrationStore, error) {
	is, ok := s.st.(store.IntegrationStore)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, codeUnavailable, "this server's store keeps no installations")
	}
	return is, nil
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	is, err := s.integrations(a, authz.Read)
	if err != nil {
		return err
	}
	ins, err := is.ListInstallations(r.Context())
	if err != nil {
		return fmt.Errorf("list installations: %w", err)
	}
	out := make([]map[string]any, 0, len(ins))
	for _, in := range ins {
		out = append(out, installationJSON(in))
	}
	writeJSON(w, http.StatusOK, ok("integrations", out))
	return nil
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	is, err := s.integrations(a, authz.Read)
	if err != nil {
		return err
	}
	in, err := is.GetInstallation(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("installation %s does not exist", r.PathValue("id"))
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ok("integration", installationJSON(in)))
	return nil
}

type createIntegrationBody struct {
	InstallationID string `json:"installationId"`
	Provider       string `json:"provider"`
	BaseURL        string `json:"baseUrl"`
	TokenSecret    string `json:"tokenSecret"`
	External       bool   `json:"external"`
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	is, err := s.integrations(a, authz.Create)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body createIntegrationBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	in := store.Installation{ID: body.InstallationID, Provider: body.Provider, BaseURL: body.BaseURL, TokenSecret: body.TokenSecret, External: body.External, CreatedBy: a.ID}
	if err := integration.ValidateInstallation(in); err != nil {
		return badRequest("%s", apiField(err))
	}
	if err := is.CreateInstallation(r.Context(), in); errors.Is(err, store.ErrExists) {
		return conflict("installation %s already exists", in.ID)
	} else if err != nil {
		return err
	}
	in, err = is.GetInstallation(r.Context(), in.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ok("integration", installationJSON(in)))
	return nil
}

// apiField renames ValidateInstallation's "id" as the body's installationId.
func apiField(err error) string {
	msg := err.Error()
	if len(msg) > 3 && msg[:3] == "id:" {
		return "installationId:" + msg[3:]
	}
	return msg
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	is, err := s.integrations(a, authz.Delete)
	if err != nil {
		return err
	}
	if err := is.DeleteInstallation(r.Context(), r.PathValue("id")); errors.Is(err, store.ErrNotFound) {
		return notFound("installation %s does not exist", r.PathValue("id"))
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// claimBody is Port's claim-pending request (as Ocean sends it).
type claimBody struct {
	InstallationID      string   `json:"installationId"`
	Limit               *int     `json:"limit"`
	VisibilityTimeoutMs *int     `json:"visibilityTimeoutMs"`
	Exclude             []string `json:"exclude"`
}

// claimPending is POST /v1/workflows/runs/claim-pending: up to limit node
// runs handed to the installation's external integration, each with its
// config rendered again with the secrets it reads resolved (that is how an
// external integration receives them), claimed by the caller until the
// visibility timeout. Only the claim state is stored, never the config.
func (s *Server) claimPending(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body claimBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	switch {
	case body.InstallationID == "":
		return invalidField("installationId", "is required")
	case body.Limit == nil || *body.Limit < 1 || *body.Limit > 100:
		return invalidField("limit", "must be a number from 1 to 100")
	case body.VisibilityTimeoutMs == nil || *body.VisibilityTimeoutMs < 1000 || *body.VisibilityTimeoutMs > 600000:
		return invalidField("visibilityTimeoutMs", "must be a number of milliseconds from 1000 to 600000")
	}
	if !authz.CanClaimIntegration(a, body.InstallationID) {
		return forbidden("claiming the node runs of installation %s takes a machine client with the scope %s%s", body.InstallationID, authz.ScopeIntegrationPrefix, body.InstallationID)
	}
	is, err := s.integrationStore()
	if err != nil {
		return err
	}
	if _, err := is.GetInstallation(r.Context(), body.InstallationID); errors.Is(err, store.ErrNotFound) {
		return notFound("installation %s does not exist", body.InstallationID)
	} else if err != nil {
		return err
	}
	now := time.Now()
	until := now.Add(time.Duration(*body.VisibilityTimeoutMs) * time.Millisecond)
	claims, err := is.ClaimNodeRuns(r.Context(), body.InstallationID, a.ClientID, now, until, *body.Limit)
	if err != nil {
		return fmt.Errorf("claim node runs: %w", err)
	}
	out := make([]map[string]any, 0, len(claims))
	for _, c := range claims {
		cfg, nr, err := s.eng.NodeRunConfig(r.Context(), c.NodeRunID)
		if err != nil {
			// Finished meanwhile, or its config no longer renders: the
			// claim lapses by itself; nothing of the error is returned.
			if !errors.Is(err, store.ErrConflict) {
				s.log.Warn("a claimed node run's config could not be rendered", "nodeRun", c.NodeRunID, "error", err.Error())
			}
			continue
		}
		_, _ = s.eng.CompleteNodeRun(r.Context(), c.NodeRunID, engine.Completion{Status: store.StatusInProgress, Logs: []engine.LogLine{{Level: node.LevelInfo,
			Message: fmt.Sprintf("claimed by client %s until %s (claim %d)", a.ClientID, until.UTC().Format(time.RFC3339), c.Claims)}}})
		run, _ := s.st.GetRun(r.Context(), nr.RunID)
		out = append(out, map[string]any{
			"identifier": nr.Identifier,
			"nodeUid":    run.WorkflowID + "/" + nr.NodeID,
			"status":     nr.Status,
			"config":     cfg,
			// Ocean's WorkflowNodeRun.WorkflowNode requires config
			// (port_ocean/core/models.py): the same rendered config.
			"node":                  map[string]any{"identifier": nr.NodeID, "config": cfg},
			"workflowRunIdentifier": nr.RunID,
			"workflow":              map[string]any{"identifier": run.WorkflowID, "version": run.WorkflowVersion},
			"claimedUntil":          until.UTC().Format(time.RFC3339Nano),
			"output":                map[string]any{},
			"createdAt":             nr.CreatedAt.UTC().Format(time.RFC3339Nano),
		})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "nodeRuns": out})
	return nil
}

type ackBody struct {
	NodeRunIdentifier string `json:"nodeRunIdentifier"`
}

// ackNodeRun is PATCH /v1/workflows/runs/ack: the claimer acknowledges a
// node run it claimed, so that it is not offered again (409 when it was
// acknowledged already, or the caller's claim expired).
func (s *Server) ackNodeRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body ackBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	if body.NodeRunIdentifier == "" {
		return invalidField("nodeRunIdentifier", "is required")
	}
	is, err := s.integrationStore()
	if err != nil {
		return err
	}
	c, err := is.GetClaim(r.Context(), body.NodeRunIdentifier)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !authz.CanClaimIntegration(a, c.InstallationID)) {
		return notFound("node run %s was not claimed by this client", body.NodeRunIdentifier)
	} else if err != nil {
		return err
	}
	_, err = is.AckNodeRun(r.Context(), body.NodeRunIdentifier, a.ClientID, time.Now())
	switch {
	case errors.Is(err, store.ErrAlreadyAcked):
		return conflict("node run %s is already acknowledged", body.NodeRunIdentifier)
	case errors.Is(err, store.ErrNotClaimed):
		return conflict("node run %s is not claimed by this client, or its claim expired: claim it again", body.NodeRunIdentifier)
	case err != nil:
		return err
	}
	_, _ = s.eng.CompleteNodeRun(r.Context(), body.NodeRunIdentifier, engine.Completion{Status: store.StatusInProgress, Logs: []engine.LogLine{{Level: node.LevelInfo,
		Message: "acknowledged by client " + a.ClientID}}})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}
