package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/store"
)

// respondBody is POST /v1/workflows/nodes/runs/{wfnr}/responses.
type respondBody struct {
	Button string         `json:"button"`
	Inputs map[string]any `json:"inputs"`
}

// respond records a response to an INPUT node run (node/input.Service):
// 200 with the node run as it stands (COMPLETED when this response made an
// outlet reach its count; the run then goes on in the background).
func (s *Server) respond(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	nodeRunID := r.PathValue("wfnr")
	if s.inputs == nil {
		return apiErr(http.StatusServiceUnavailable, "unavailable", "this server's store keeps no responses to INPUT nodes")
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body respondBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	if body.Button == "" {
		return invalidField("button", "required: the identifier of one of the node's buttons")
	}
	out, err := s.inputs.Respond(r.Context(), a, nodeRunID, input.Response{Button: body.Button, Inputs: body.Inputs})
	var ie *input.InvalidError
	switch {
	case errors.As(err, &ie):
		e := &Error{Status: http.StatusBadRequest, Code: codeInvalidInputs, Message: ie.Error()}
		for _, p := range ie.Problems {
			e.Details = append(e.Details, Detail{Path: p.Path, Message: p.Message})
		}
		return e
	case errors.Is(err, input.ErrHidden):
		return notFound("%s", err.Error())
	case errors.Is(err, input.ErrForbidden):
		return forbidden("%s", err.Error())
	case errors.Is(err, store.ErrConflict):
		return conflict("%s", err.Error())
	case err != nil:
		return fmt.Errorf("respond to %s: %w", nodeRunID, err)
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "input response", slog.String("nodeRun", nodeRunID), slog.String("responder", a.ID),
		slog.String("button", body.Button), slog.String("outlet", out.Decision.Outlet))
	if out.Decision.Outlet != "" {
		s.execute(out.NodeRun.RunID)
	}
	return s.answerNodeRun(w, r.Context(), out.NodeRun, out.CanView)
}

// deliverDecisions completes the INPUT node runs whose outlet a previous
// process decided without completing them, and drives their runs on.
func (s *Server) deliverDecisions() {
	if s.inputs == nil {
		return
	}
	runs, err := s.inputs.DeliverDecided(s.bgCtx, maxExpiredPerCheck)
	if err != nil && s.bgCtx.Err() == nil {
		s.log.LogAttrs(s.bgCtx, slog.LevelWarn, "completing decided INPUT nodes failed; trying again later", slog.String("error", err.Error()))
	}
	for _, id := range runs {
		s.execute(id)
	}
}
