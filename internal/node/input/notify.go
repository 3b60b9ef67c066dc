package input

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// notify sends every notification of the node; each failure is a WARN line
// on the node run, never a failure of the node.
func (e *Executor) notify(ctx context.Context, req *node.Request, p *prompt) {
	for i, n := range p.Notifications {
		target, _ := n["target"].(string)
		if target == "" {
			target, _ = n["type"].(string) // the alias the parser accepts
		}
		var err error
		var done string
		switch target {
		case "webhook":
			done, err = e.notifyWebhook(ctx, req, p, n)
		case "email":
			done, err = e.notifyEmail(ctx, req, p, n)
		default:
			err = fmt.Errorf("unknown target %q", target)
		}
		if err != nil {
			req.Log(node.LevelWarn, fmt.Sprintf("notifications[%d] (%s) failed: %v; the node waits all the same", i, target, err))
			continue
		}
		req.Log(node.LevelInfo, fmt.Sprintf("notifications[%d] (%s): %s", i, target, done))
	}
}

// Notice is the JSON body of a webhook notification that has no body of
// its own: what a receiver needs to ask people and to respond.
type Notice struct {
	Type            string         `json:"type"` // "INPUT_REQUESTED"
	Workflow        map[string]any `json:"workflow"`
	WorkflowRun     map[string]any `json:"workflowRun"`
	WorkflowNodeRun map[string]any `json:"workflowNodeRun"`
	Node            map[string]any `json:"node"`
	Description     string         `json:"description"`
	UserInputs      map[string]any `json:"userInputs"`
	Buttons         []button       `json:"buttons"`
	Outlets         []outlet       `json:"outlets"`
	// Respond says where to post a response: {method, path, url}.
	Respond map[string]any `json:"respond"`
}

func (e *Executor) respondURL(nodeRunID string) string {
	if e.opts.BaseURL == "" {
		return ""
	}
	return strings.TrimRight(e.opts.BaseURL, "/") + RespondPath(nodeRunID)
}

// notifyWebhook posts the notice (or the notification's own body) to its
// url, signed and with the headers of a WEBHOOK node's request. Errors
// never quote the URL, which may carry a token in its path or query.
func (e *Executor) notifyWebhook(ctx context.Context, req *node.Request, p *prompt, n map[string]any) (string, error) {
	url, _ := n["url"].(string)
	method, _ := n["method"].(string)
	if method == "" {
		method = http.MethodPost
	}
	var payload any
	if b, ok := n["body"]; ok && b != nil {
		payload = b
	} else {
		nodeID := ""
		if req.Node != nil {
			nodeID = req.Node.Identifier
		}
		payload = Notice{
			Type:            "INPUT_REQUESTED",
			Workflow:        map[string]any{"identifier": req.WorkflowID, "version": req.WorkflowVersion},
			WorkflowRun:     map[string]any{"identifier": req.RunID},
			WorkflowNodeRun: map[string]any{"identifier": req.NodeRunID},
			Node:            map[string]any{"identifier": nodeID, "title": p.Title},
			Description:     p.Description,
			UserInputs:      p.UserInputs,
			Buttons:         p.Buttons,
			Outlets:         p.Outlets,
			Respond:         map[string]any{"method": http.MethodPost, "path": RespondPath(req.NodeRunID), "url": e.respondURL(req.NodeRunID)},
		}
	}
	body, err := req.Redact(payload)
	if err != nil {
		return "", fmt.Errorf("the body is not JSON: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return "", fmt.Errorf("the url or method is not valid for a request")
	}
	if hr.URL.Scheme != "http" && hr.URL.Scheme != "https" {
		return "", fmt.Errorf("the url must be an absolute http(s) URL")
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "sluice")
	if hs, ok := n["headers"].(map[string]any); ok {
		for k, v := range hs {
			if s, ok := v.(string); ok {
				hr.Header.Set(k, s)
			}
		}
	}
	hr.Header.Set(webhook.HeaderWorkflowRun, req.RunID)
	hr.Header.Set(webhook.HeaderNodeRun, req.NodeRunID)
	if len(e.opts.SigningKey) > 0 {
		ts := strconv.FormatInt(e.opts.Now().Unix(), 10)
		hr.Header.Set(webhook.HeaderTimestamp, ts)
		hr.Header.Set(webhook.HeaderSignature, webhook.Sign(e.opts.SigningKey, ts, body.Bytes()))
	}
	resp, err := e.opts.Client.Do(hr)
	if err != nil {
		return "", fmt.Errorf("the request failed (%s)", requestFailure(ctx, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return fmt.Sprintf("posted, the receiver answered %d", resp.StatusCode), nil
}

// requestFailure names why a request failed without quoting its URL.
func requestFailure(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case strings.Contains(err.Error(), "Client.Timeout"):
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	default:
		return "no answer"
	}
}

// notifyEmail mails the responders (those named by email, and the users
// holding a named role or in a named team) through the configured SMTP
// server. The text is built from the redacted prompt and passed through
// the redactor once more as a whole.
func (e *Executor) notifyEmail(ctx context.Context, req *node.Request, p *prompt, n map[string]any) (string, error) {
	if e.opts.Mailer == nil {
		return "", fmt.Errorf("no SMTP server is configured (--smtp-addr)")
	}
	to, err := e.recipients(ctx, req)
	if err != nil {
		return "", err
	}
	if len(to) == 0 {
		return "", fmt.Errorf("the node's responders name no user with an email")
	}
	subject := fmt.Sprintf("[sluice] %s: %s needs your response", req.WorkflowID, p.Title)
	var b strings.Builder
	if p.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", p.Description)
	}
	fmt.Fprintf(&b, "Workflow: %s (version %d), run %s\n", req.WorkflowID, req.WorkflowVersion, req.RunID)
	fmt.Fprintf(&b, "Node: %s, node run %s\n", p.Title, req.NodeRunID)
	if fs, ok := n["fields"].([]any); ok && len(fs) > 0 {
		b.WriteString("\n")
		for _, f := range fs {
			m, _ := f.(map[string]any)
			fmt.Fprintf(&b, "%v: %v\n", m["label"], m["value"])
		}
	}
	b.WriteString("\nButtons:\n")
	for _, bt := range p.Buttons {
		need := ""
		for _, o := range p.Outlets {
			if o.Identifier == bt.Identifier {
				need = fmt.Sprintf(" (%d response(s) needed)", o.NumOfResponders)
			}
		}
		fmt.Fprintf(&b, "  %s: %s%s\n", bt.Identifier, bt.Label, need)
	}
	b.WriteString("\nTo respond:\n")
	fmt.Fprintf(&b, "  sluice runs respond %s --button <button> [--input KEY=VALUE]...\n", req.NodeRunID)
	target := RespondPath(req.NodeRunID)
	if u := e.respondURL(req.NodeRunID); u != "" {
		target = u
	}
	fmt.Fprintf(&b, "  or POST %s with {\"button\": \"<button>\", \"inputs\": {...}}\n", target)
	subject, text, err := redactStrings(req, subject, b.String())
	if err != nil {
		return "", err
	}
	if err := e.opts.Mailer.Send(ctx, to, subject, text); err != nil {
		return "", err
	}
	return fmt.Sprintf("mailed %d responder(s)", len(to)), nil
}

// redactStrings passes texts through the run's redactor.
func redactStrings(req *node.Request, texts ...string) (string, string, error) {
	j, err := req.Redact(texts)
	if err != nil {
		return "", "", fmt.Errorf("redact the email: %w", err)
	}
	var out []string
	if err := json.Unmarshal(j.Bytes(), &out); err != nil || len(out) != 2 {
		return "", "", fmt.Errorf("redact the email: unexpected shape")
	}
	return out[0], out[1], nil
}

// recipients are the emails of the node's responders, sorted and unique
// regardless of case.
func (e *Executor) recipients(ctx context.Context, req *node.Request) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(email string) {
		k := strings.ToLower(email)
		if email == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, email)
	}
	if req.Node == nil {
		return nil, nil
	}
	r := req.Node.Responders
	if r == nil || len(r.Users)+len(r.Roles)+len(r.Teams) == 0 && r.UsersQuery == nil {
		// No responders named: Admins respond (authz.CanRespond).
		r = &workflow.Permissions{Roles: []string{store.RoleAdmin}}
	}
	for _, u := range r.Users {
		add(u)
	}
	if r.UsersQuery != nil && e.opts.Users != nil {
		if err := e.queryRecipients(ctx, r, add); err != nil {
			return nil, err
		}
	}
	if (len(r.Roles) > 0 || len(r.Teams) > 0) && e.opts.Users != nil {
		users, err := e.opts.Users.ListUsers(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the users named by role or team: %w", err)
		}
		for _, u := range users {
			match := false
			for _, role := range r.Roles {
				match = match || u.Role == role
			}
			for _, t := range u.Teams {
				for _, want := range r.Teams {
					match = match || t == want
				}
			}
			if match {
				add(u.Email)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
