// Package input is the INPUT node: a run that reaches one asks people to
// respond (an approval, a choice between paths, a form) and waits.
//
// The executor renders nothing itself: the engine hands it the node's config
// rendered (the description and the form's defaults templated over the run),
// and it records that prompt, redacted, in the store (store.InputStore),
// notifies (signed webhooks, email through SMTP), and leaves the node run
// waiting, durably, with no goroutine. Responses arrive through Service
// (respond.go, the API's POST /v1/workflows/nodes/runs/{wfnr}/responses):
// each is checked against the node's responders and form, recorded, and the
// store decides, in the response's own transaction, when an outlet's button
// reaches its numOfResponders; that one response completes the node through
// the engine's completion path, and the run follows the outlet.
//
// Port's semantics (docs.port.io/workflows/build-workflows/flow-nodes/input,
// port-labs/port-skills skills/port-workflows/references/node-types.md,
// terraform-provider-port-labs docs/resources/workflow.md node.input).
package input

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// UserLister lists the users of the organization, to find the emails of
// responders named by role or team.
type UserLister interface {
	ListUsers(ctx context.Context) ([]store.User, error)
}

// Options configure the executor.
type Options struct {
	// Store keeps the prompts and responses; nil fails every INPUT node,
	// saying that the store cannot keep responses.
	Store store.InputStore
	// Users resolves responders named by role or team to emails; nil
	// notifies only those named by email.
	Users UserLister
	// Responders decides which users a responders' usersQuery names, to
	// notify them by email too; nil matches the query against what sluice
	// knows of each user, without the catalog (authz.Dynamic).
	Responders Responders
	// Client posts webhook notifications; nil is a client with a 10 s
	// timeout.
	Client *http.Client
	// SigningKey, when set, signs webhook notifications as WEBHOOK nodes
	// sign their requests (X-Sluice-Timestamp, X-Sluice-Signature).
	SigningKey []byte
	// Mailer sends email notifications; nil logs on the node run that no
	// SMTP server is configured.
	Mailer *Mailer
	// BaseURL is the server's URL (http://host:port), for the address to
	// respond to in notifications; "" gives the path alone.
	BaseURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Executor executes INPUT nodes.
type Executor struct {
	opts Options
}

// New returns an executor.
func New(opts Options) *Executor {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Executor{opts: opts}
}

// Register registers the INPUT executor.
func Register(r *node.Registry, opts Options) *Executor {
	e := New(opts)
	r.Register(workflow.TypeInput, e)
	return e
}

// ErrNoInputStore fails an INPUT node on a store that does not implement
// store.InputStore.
var ErrNoInputStore = errors.New("INPUT nodes need a store that keeps responses; this one does not")

// RespondPath is the API path a response to node run nodeRunID is posted to.
func RespondPath(nodeRunID string) string {
	return "/v1/workflows/nodes/runs/" + nodeRunID + "/responses"
}

// Execute records the node's prompt, notifies, and leaves the node waiting
// for responses. A notification that fails is logged on the node run and
// does not fail the node.
func (e *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	if e.opts.Store == nil {
		return node.Result{}, ErrNoInputStore
	}
	p := promptOf(req)
	pj, err := req.Redact(p)
	if err != nil {
		return node.Result{}, fmt.Errorf("the prompt is not JSON: %w", err)
	}
	err = e.opts.Store.OpenInput(ctx, store.InputRequest{NodeRunID: req.NodeRunID, RunID: req.RunID, Prompt: pj, CreatedAt: e.opts.Now().UTC()})
	if err != nil {
		return node.Result{}, fmt.Errorf("record the request for responses: %w", err)
	}
	// Notifications carry the prompt as redacted, never the raw render.
	var shown prompt
	if err := json.Unmarshal(pj.Bytes(), &shown); err != nil {
		return node.Result{}, fmt.Errorf("decode the redacted prompt: %w", err)
	}
	e.notify(ctx, req, &shown)
	req.Log(node.LevelInfo, fmt.Sprintf("waiting for responses: POST %s", RespondPath(req.NodeRunID)))
	return node.Result{Pending: true}, nil
}

// prompt is what responders are shown: the node's description and form as
// rendered for this run, the buttons, and the outlets with their counts.
type prompt struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	UserInputs  map[string]any `json:"userInputs"`
	Buttons     []button       `json:"buttons"`
	Outlets     []outlet       `json:"outlets"`
	// Notifications are the rendered notification targets (their email
	// fields, webhook url, headers and body).
	Notifications []map[string]any `json:"notifications,omitempty"`
}

type button struct {
	Identifier string `json:"identifier"`
	Label      string `json:"label"`
	Variant    string `json:"variant"`
}

type outlet struct {
	Identifier      string `json:"identifier"`
	Title           string `json:"title,omitempty"`
	NumOfResponders int    `json:"numOfResponders"`
}

// promptOf builds the prompt from the rendered config (whose shape the
// definition's validation guarantees) and the compiled node.
func promptOf(req *node.Request) *prompt {
	p := &prompt{UserInputs: map[string]any{}}
	if req.Node != nil {
		p.Title = req.Node.Title
		if p.Title == "" {
			p.Title = req.Node.Identifier
		}
		for _, o := range req.Node.Outlets {
			p.Outlets = append(p.Outlets, outlet{Identifier: o.Identifier, Title: o.Title, NumOfResponders: o.NumOfResponders})
		}
		if req.Node.UserInputs != nil {
			for _, b := range req.Node.UserInputs.Buttons {
				p.Buttons = append(p.Buttons, button{Identifier: b.Identifier, Label: b.Label, Variant: b.Variant})
			}
		}
	}
	if s, ok := req.Config["description"].(string); ok {
		p.Description = s
	}
	if ui, ok := req.Config["userInputs"].(map[string]any); ok {
		for k, v := range ui {
			if k != "buttons" {
				p.UserInputs[k] = v
			}
		}
	}
	if ns, ok := req.Config["notifications"].([]any); ok {
		for _, n := range ns {
			if m, ok := n.(map[string]any); ok {
				p.Notifications = append(p.Notifications, m)
			}
		}
	}
	return p
}

// Defaults returns the rendered defaults of a stored prompt's inputs, by
// name: the values a responder who leaves an input out gets. Defaults
// written as {"jqQuery": ...} are left to the form's own evaluation.
func Defaults(promptJSON []byte) (map[string]any, error) {
	var p struct {
		UserInputs struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"userInputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(promptJSON))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode the stored prompt: %w", err)
	}
	out := map[string]any{}
	for name, prop := range p.UserInputs.Properties {
		d, ok := prop["default"]
		if !ok || d == nil {
			continue
		}
		if m, isObj := d.(map[string]any); isObj && m["jqQuery"] != nil {
			continue
		}
		out[name] = d
	}
	return out, nil
}
