package input

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Engine is what Service needs of the engine.
type Engine interface {
	Definition(ctx context.Context, id string, version int) (*workflow.Workflow, error)
	RunRedactor(ctx context.Context, runID string) (*redact.Redactor, error)
	CompleteNodeRun(ctx context.Context, nodeRunID string, c engine.Completion) (store.Run, error)
}

// Service takes responses to INPUT node runs.
type Service struct {
	st  store.Store
	in  store.InputStore
	eng Engine
	now func() time.Time
	// responders decides the responders a usersQuery names (responders.go).
	responders Responders
}

// NewService returns the service over st, or ok false when st does not
// implement store.InputStore.
func NewService(st store.Store, eng Engine, now func() time.Time) (s *Service, ok bool) {
	in, ok := st.(store.InputStore)
	if !ok {
		return nil, false
	}
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, in: in, eng: eng, now: now}, true
}

// Errors of Respond; the API answers them 404, 403, 409 and 400.
var (
	// ErrHidden: no such node run, or one the caller may not see.
	ErrHidden = errors.New("not found")
	// ErrForbidden: the caller may see the run but is not a responder.
	ErrForbidden = errors.New("not a responder")
	// ErrClosed (matching store.ErrConflict): the node run takes no
	// (more) responses: it completed, its run finished, or it has not
	// reached the point of asking yet.
	ErrClosed = fmt.Errorf("%w: takes no responses", store.ErrConflict)
)

// InvalidError lists every problem with a response (400).
type InvalidError struct {
	Problems []workflow.Problem
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "; ")
}

// Response is a responder's answer.
type Response struct {
	Button string
	Inputs map[string]any
}

// Outcome is what a response did.
type Outcome struct {
	NodeRun store.NodeRun
	// Decision is the outlet taken ("" while none) and every response so
	// far.
	Decision store.InputDecision
	// CanView reports whether the responder may also view the run (what
	// the answer may show of the node run).
	CanView bool
}

// Respond records a's response to node run nodeRunID. The caller must be a
// responder (authz.DecideRespond); the button must be one of the node's,
// the inputs must satisfy its form (missing ones take the defaults rendered
// when the run reached the node). When the response makes an outlet reach
// its count, the node completes with {"selectedOutlet": {"identifier"},
// "responses": [...]} and the run is ready to go on along that outlet: the
// caller drives it (Engine.Execute).
func (s *Service) Respond(ctx context.Context, a authz.Actor, nodeRunID string, r Response) (Outcome, error) {
	nr, err := s.st.GetNodeRun(ctx, nodeRunID)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, fmt.Errorf("workflow node run %s: %w", nodeRunID, ErrHidden)
	} else if err != nil {
		return Outcome{}, fmt.Errorf("get node run %s: %w", nodeRunID, err)
	}
	run, err := s.st.GetRun(ctx, nr.RunID)
	if err != nil {
		return Outcome{}, fmt.Errorf("get run %s: %w", nr.RunID, err)
	}
	wf, err := s.eng.Definition(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return Outcome{}, err
	}
	n := wf.Node(nr.NodeID)
	if n == nil || n.Type != workflow.TypeInput {
		if authz.CanViewRun(a, run, wf) {
			return Outcome{}, fmt.Errorf("workflow node run %s is not an INPUT node's; it takes no responses: %w", nodeRunID, ErrHidden)
		}
		return Outcome{}, fmt.Errorf("workflow node run %s: %w", nodeRunID, ErrHidden)
	}
	responder, err := s.isResponder(ctx, a, n.Responders)
	switch {
	case err != nil:
		return Outcome{}, fmt.Errorf("decide the responders of node run %s: %w", nodeRunID, err)
	case responder:
	case authz.CanViewRun(a, run, wf):
		return Outcome{}, fmt.Errorf("node %s of run %s names its responders, and you are not one of them: %w", n.Identifier, run.Identifier, ErrForbidden)
	default:
		return Outcome{}, fmt.Errorf("workflow node run %s: %w", nodeRunID, ErrHidden)
	}
	out := Outcome{NodeRun: nr, CanView: authz.CanViewRun(a, run, wf)}
	if run.Status != store.StatusInProgress || nr.Status != store.StatusInProgress {
		return out, fmt.Errorf("workflow node run %s is %s (run %s): %w", nodeRunID, nr.Status, run.Status, ErrClosed)
	}
	if !hasButton(n, r.Button) {
		return out, &InvalidError{Problems: []workflow.Problem{{Path: "button", Message: "must be one of the node's buttons: " + buttonList(n)}}}
	}
	req, err := s.in.GetInput(ctx, nodeRunID)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("workflow node run %s does not ask for responses yet: %w", nodeRunID, ErrClosed)
	} else if err != nil {
		return out, fmt.Errorf("get the request of %s: %w", nodeRunID, err)
	}
	inputs, err := withDefaults(req.Prompt.Bytes(), r.Inputs)
	if err != nil {
		return out, err
	}
	user := map[string]any{"email": nonEmpty(a.Email), "firstName": nonEmpty(a.FirstName), "lastName": nonEmpty(a.LastName)}
	form, problems := n.UserInputs.ValidateFor(inputs, workflow.FormEnv{User: user, Workflow: map[string]any{"identifier": wf.Identifier, "version": run.WorkflowVersion}})
	if len(problems) > 0 {
		return out, &InvalidError{Problems: problems}
	}
	red, err := s.eng.RunRedactor(ctx, run.Identifier)
	if errors.Is(err, store.ErrConflict) {
		return out, fmt.Errorf("run %s finished: %w", run.Identifier, ErrClosed)
	} else if err != nil {
		return out, err
	}
	ij, err := red.JSON(form)
	if err != nil {
		return out, fmt.Errorf("encode the inputs: %w", err)
	}
	resp := store.InputResponse{NodeRunID: nodeRunID, ResponderID: a.ID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName,
		Button: r.Button, Inputs: ij, RespondedAt: s.now().UTC()}
	d, err := s.in.Respond(ctx, resp, outlets(n))
	switch {
	case errors.Is(err, store.ErrResponded):
		return out, fmt.Errorf("you have already responded to workflow node run %s; each responder responds once: %w", nodeRunID, store.ErrConflict)
	case errors.Is(err, store.ErrDecided):
		return out, fmt.Errorf("workflow node run %s already has its answer: %w", nodeRunID, ErrClosed)
	case err != nil:
		return out, fmt.Errorf("record the response: %w", err)
	}
	out.Decision = d
	line := engine.LogLine{Level: node.LevelInfo, Message: fmt.Sprintf("response %d: %s pressed %s (%s)", len(d.Responses), who(a), r.Button, tally(n, d))}
	if d.Outlet == "" {
		// The response is the audit trail; the line shows it on the run.
		if _, err := s.eng.CompleteNodeRun(ctx, nodeRunID, engine.Completion{Status: store.StatusInProgress, Logs: []engine.LogLine{line}}); err != nil && !errors.Is(err, store.ErrConflict) {
			return out, fmt.Errorf("log the response: %w", err)
		}
		return out, nil
	}
	if err := s.deliver(ctx, d, []engine.LogLine{line}); err != nil {
		if errors.Is(err, store.ErrConflict) && s.deliveredElsewhere(ctx, d) {
			// The wait loop (DeliverDecided) read this decision between
			// its record and this delivery, and completed the node with
			// it: the response did decide the node.
			return out, nil
		}
		return out, err
	}
	return out, nil
}

// deliveredElsewhere reports whether decision d's node run was completed
// by another delivery of d (the wait loop's): it succeeded, and its output
// took d's outlet. A node run has one decision (store.ErrDecided), so a
// successful completion along d's outlet can only be d's.
func (s *Service) deliveredElsewhere(ctx context.Context, d store.InputDecision) bool {
	nr, err := s.st.GetNodeRun(ctx, d.NodeRunID)
	if err != nil || nr.Status != store.StatusCompleted || nr.Result != store.ResultSuccess || nr.Output.IsZero() {
		return false
	}
	var out struct {
		SelectedOutlet struct {
			Identifier string `json:"identifier"`
		} `json:"selectedOutlet"`
	}
	return json.Unmarshal(nr.Output.Bytes(), &out) == nil && out.SelectedOutlet.Identifier == d.Outlet
}

// deliver completes a decided node run with its output.
func (s *Service) deliver(ctx context.Context, d store.InputDecision, logs []engine.LogLine) error {
	output, err := Output(d)
	if err != nil {
		return err
	}
	logs = append(logs, engine.LogLine{Level: node.LevelInfo, Message: fmt.Sprintf("outlet %s reached its count: the run goes on along it", d.Outlet)})
	_, err = s.eng.CompleteNodeRun(ctx, d.NodeRunID, engine.Completion{Status: store.StatusCompleted, Result: store.ResultSuccess, Output: output, Outlet: d.Outlet, Logs: logs})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("workflow node run %s, or its run, is no longer IN_PROGRESS: %w", d.NodeRunID, ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("complete node run %s: %w", d.NodeRunID, err)
	}
	return nil
}

// DeliverDecided completes the node runs whose outlet was decided by a
// process that stopped before it completed them, and returns their runs,
// which the caller drives on.
func (s *Service) DeliverDecided(ctx context.Context, limit int) ([]string, error) {
	ds, err := s.in.UndeliveredDecisions(ctx, limit)
	if err != nil {
		return nil, err
	}
	var runs []string
	var errs []error
	for _, d := range ds {
		err := s.deliver(ctx, d, []engine.LogLine{{Level: node.LevelWarn, Message: "the decision was recorded before a restart; the node completes now"}})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		runs = append(runs, d.RunID)
	}
	return runs, errors.Join(errs...)
}

// Pending is an INPUT node run that takes responses, with its prompt.
type Pending struct {
	Request   store.InputRequest
	Responses []store.InputResponse
}

// Pending lists the INPUT node runs that take responses and that a may
// respond to, oldest first.
func (s *Service) Pending(ctx context.Context, a authz.Actor, limit int) ([]Pending, error) {
	reqs, err := s.in.OpenInputs(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []Pending
	for _, req := range reqs {
		nr, err := s.st.GetNodeRun(ctx, req.NodeRunID)
		if err != nil {
			continue
		}
		run, err := s.st.GetRun(ctx, req.RunID)
		if err != nil {
			continue
		}
		wf, err := s.eng.Definition(ctx, run.WorkflowID, run.WorkflowVersion)
		if err != nil {
			continue
		}
		n := wf.Node(nr.NodeID)
		if n == nil {
			continue
		}
		if ok, err := s.isResponder(ctx, a, n.Responders); err != nil {
			return nil, fmt.Errorf("decide the responders of node run %s: %w", req.NodeRunID, err)
		} else if !ok {
			continue
		}
		d, err := s.in.Responses(ctx, req.NodeRunID)
		if err != nil {
			return nil, err
		}
		out = append(out, Pending{Request: req, Responses: d.Responses})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// Output is the node's output for a decision, as Port shapes it:
// {"selectedOutlet": {"identifier"}, "responses": [{"button", "inputs",
// "submitterInfo": {"email", "firstName", "lastName", "submittedBy"},
// "respondedAt"}]}.
func Output(d store.InputDecision) (map[string]any, error) {
	rs := make([]any, 0, len(d.Responses))
	for _, r := range d.Responses {
		var inputs any
		if err := json.Unmarshal(r.Inputs.Bytes(), &inputs); err != nil {
			return nil, fmt.Errorf("decode the inputs of a response: %w", err)
		}
		rs = append(rs, map[string]any{
			"button": r.Button,
			"inputs": inputs,
			"submitterInfo": map[string]any{
				"email": nonEmpty(r.Email), "firstName": nonEmpty(r.FirstName), "lastName": nonEmpty(r.LastName),
				"submittedBy": nonEmpty(r.Email),
			},
			"respondedAt": r.RespondedAt.UTC().Format(time.RFC3339Nano),
		})
	}
	var sel any
	if d.Outlet != "" {
		sel = map[string]any{"identifier": d.Outlet}
	}
	return map[string]any{"selectedOutlet": sel, "responses": rs}, nil
}

// withDefaults copies inputs and adds the rendered default of every input
// that is missing (or null).
func withDefaults(promptJSON []byte, inputs map[string]any) (map[string]any, error) {
	defs, err := Defaults(promptJSON)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(inputs)+len(defs))
	for k, v := range inputs {
		out[k] = v
	}
	for k, v := range defs {
		if out[k] == nil {
			out[k] = v
		}
	}
	return out, nil
}

func outlets(n *workflow.Node) []store.InputOutlet {
	out := make([]store.InputOutlet, 0, len(n.Outlets))
	for _, o := range n.Outlets {
		out = append(out, store.InputOutlet{Button: o.Identifier, Need: max(o.NumOfResponders, 1)})
	}
	return out
}

func hasButton(n *workflow.Node, b string) bool {
	if n.UserInputs == nil {
		return false
	}
	for _, x := range n.UserInputs.Buttons {
		if x.Identifier == b {
			return true
		}
	}
	return false
}

func buttonList(n *workflow.Node) string {
	var ids []string
	if n.UserInputs != nil {
		for _, x := range n.UserInputs.Buttons {
			ids = append(ids, fmt.Sprintf("%q", x.Identifier))
		}
	}
	return strings.Join(ids, ", ")
}

// tally says how far each outlet is: "approve 1 of 2, decline 0 of 1".
func tally(n *workflow.Node, d store.InputDecision) string {
	counts := map[string]int{}
	for _, r := range d.Responses {
		counts[r.Button]++
	}
	var parts []string
	for _, o := range n.Outlets {
		parts = append(parts, fmt.Sprintf("%s %d of %d", o.Identifier, counts[o.Identifier], max(o.NumOfResponders, 1)))
	}
	return strings.Join(parts, ", ")
}

func who(a authz.Actor) string {
	if a.Email != "" {
		return a.Email
	}
	return a.ID
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
