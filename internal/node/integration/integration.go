// Package integration is the INTEGRATION_ACTION executor. It runs GitHub
// Actions workflows (integrationProvider github-ocean, invocation
// dispatch_workflow) and GitLab pipelines (gitlab, trigger_pipeline) itself,
// through the providers' REST APIs with the installation's token, and
// polls their run until it ends when reportWorkflowStatus is set: durably,
// through the engine's wake times (node.Poller), never dispatching twice.
// Any other provider, and GitHub or GitLab installations marked external,
// is handed to an external integration, which claims the node run through
// Port's claim-pending / ack API and completes it through the API
// (docs/integrations.md, docs/decisions/012-wake-and-handoff.md).
package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Installations reads installations; *sqlite.Store implements it.
type Installations interface {
	GetInstallation(ctx context.Context, id string) (store.Installation, error)
}

// Providers that sluice calls itself.
const (
	ProviderGitHub = "github-ocean"
	ProviderGitLab = "gitlab"
)

// Defaults of Options.
const (
	DefaultTimeout   = 6 * time.Hour
	DefaultPollMin   = 5 * time.Second
	DefaultPollMax   = time.Minute
	DefaultRetryMin  = time.Second
	DefaultMaxInline = 30 * time.Second
)

// Options configure the executor.
type Options struct {
	Installations Installations
	// HTTPClient calls the providers; nil means a client with a 30 s
	// timeout per request.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PollMin and PollMax bound the wait between two polls of a provider's
	// run: it starts at PollMin and doubles up to PollMax.
	PollMin, PollMax time.Duration
	// RetryMin is the first backoff of a retried request (5xx, 429 without
	// Retry-After); it doubles from there.
	RetryMin time.Duration
	// MaxInline is the longest wait a request sleeps in-process before it
	// is retried; a poll asked to wait longer waits durably instead.
	MaxInline time.Duration
}

// Executor runs INTEGRATION_ACTION nodes. It implements node.Executor,
// node.Poller and node.Warner.
type Executor struct {
	ins                 Installations
	hc                  *http.Client
	now                 func() time.Time
	pollMin, pollMax    time.Duration
	retryMin, maxInline time.Duration
}

// New returns an executor.
func New(o Options) *Executor {
	x := &Executor{ins: o.Installations, hc: o.HTTPClient, now: o.Now, pollMin: o.PollMin, pollMax: o.PollMax, retryMin: o.RetryMin, maxInline: o.MaxInline}
	if x.hc == nil {
		x.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if x.now == nil {
		x.now = time.Now
	}
	if x.pollMin <= 0 {
		x.pollMin = DefaultPollMin
	}
	if x.pollMax < x.pollMin {
		x.pollMax = max(DefaultPollMax, x.pollMin)
	}
	if x.retryMin <= 0 {
		x.retryMin = DefaultRetryMin
	}
	if x.maxInline <= 0 {
		x.maxInline = DefaultMaxInline
	}
	return x
}

// Register adds x to r as the INTEGRATION_ACTION executor.
func Register(r *node.Registry, x *Executor) { r.Register(workflow.TypeIntegrationAction, x) }

// ErrNoInstallation is matched by the error of a node that names an
// installation that does not exist.
var ErrNoInstallation = errors.New("installation not found")

// propsPath is the JSON path of the execution properties in a node's config.
const propsPath = "config.integrationActionExecutionProperties"

// config is a node's rendered config.
type config struct {
	installationID string
	provider       string
	invocation     string
	props          map[string]any
	report         bool
	timeout        time.Duration
}

func decodeConfig(c map[string]any) (*config, error) {
	cfg := &config{timeout: DefaultTimeout}
	var ok bool
	if cfg.installationID, ok = c["installationId"].(string); !ok || cfg.installationID == "" {
		return nil, errors.New("config.installationId: must be a non-empty string")
	}
	cfg.provider, _ = c["integrationProvider"].(string)
	cfg.invocation, _ = c["integrationInvocationType"].(string)
	if cfg.props, ok = c["integrationActionExecutionProperties"].(map[string]any); !ok {
		return nil, fmt.Errorf("%s: must be an object", propsPath)
	}
	// Port's workflows put reportWorkflowStatus in the config; Ocean's
	// action forms in the properties (GitLab's as reportPipelineStatus).
	for _, v := range []any{c["reportWorkflowStatus"], cfg.props["reportWorkflowStatus"], cfg.props["reportPipelineStatus"], cfg.props["reportStatus"]} {
		if b, isBool := v.(bool); isBool && b {
			cfg.report = true
		}
	}
	if v, present := cfg.props["timeoutSeconds"]; present {
		n, err := number(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s.timeoutSeconds: must be a positive number of seconds", propsPath)
		}
		cfg.timeout = time.Duration(n * float64(time.Second))
	}
	return cfg, nil
}

func number(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

// str reads an optional string property; a present non-string is an error.
func str(props map[string]any, names ...string) (string, error) {
	for _, name := range names {
		switch v := props[name].(type) {
		case nil:
		case string:
			return v, nil
		default:
			return "", fmt.Errorf("%s.%s: must be a string, got %s", propsPath, name, kindOf(v))
		}
	}
	return "", nil
}

func required(props map[string]any, names ...string) (string, error) {
	s, err := str(props, names...)
	if err == nil && s == "" {
		err = fmt.Errorf("%s.%s: is required", propsPath, names[0])
	}
	return s, err
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// route says who acts for a node: sluice itself (github, gitlab) or an
// external integration ("").
func route(cfg *config, in store.Installation) string {
	if in.External {
		return ""
	}
	prov := in.Provider
	if cfg.provider != "" && !sameProvider(cfg.provider, prov) {
		return ""
	}
	switch {
	case workflow.IsGitHubProvider(prov):
		return ProviderGitHub
	case strings.EqualFold(prov, ProviderGitLab):
		return ProviderGitLab
	}
	return ""
}

func sameProvider(a, b string) bool {
	if workflow.IsGitHubProvider(a) && workflow.IsGitHubProvider(b) {
		return true
	}
	return strings.EqualFold(a, b)
}

// Execute runs an INTEGRATION_ACTION node.
func (x *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return node.Result{}, err
	}
	in, err := x.installation(ctx, cfg.installationID)
	if err != nil {
		return node.Result{}, err
	}
	deadline := x.now().Add(cfg.timeout)
	switch route(cfg, in) {
	case ProviderGitHub:
		return x.githubExecute(ctx, req, cfg, in, deadline)
	case ProviderGitLab:
		return x.gitlabExecute(ctx, req, cfg, in, deadline)
	}
	// An external integration claims it (claim-pending), acknowledges it
	// (ack) and completes it through the API.
	req.Log(node.LevelInfo, fmt.Sprintf("handed to the external integration of installation %s (provider %s, invocation %s): it claims the node run with POST /v1/workflows/runs/claim-pending",
		in.ID, in.Provider, cfg.invocation))
	return node.Result{Pending: true, WaitFor: store.WaitForIntegration(in.ID), WaitUntil: deadline}, nil
}

func (x *Executor) installation(ctx context.Context, id string) (store.Installation, error) {
	if x.ins == nil {
		return store.Installation{}, fmt.Errorf("config.installationId: installation %s: %w (this sluice keeps no installations)", id, ErrNoInstallation)
	}
	in, err := x.ins.GetInstallation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, fmt.Errorf("config.installationId: installation %s: %w; add it with: sluice integrations add %s --provider PROVIDER", id, ErrNoInstallation, id)
	}
	if err != nil {
		return in, fmt.Errorf("read installation %s: %w", id, err)
	}
	return in, nil
}

// token resolves the installation's token through the engine, which
// registers it with the run's redactor.
func token(ctx context.Context, req *node.Request, in store.Installation) (string, error) {
	if in.TokenSecret == "" {
		return "", fmt.Errorf("installation %s has no token secret: set one with sluice integrations add %s --provider %s --token-secret NAME", in.ID, in.ID, in.Provider)
	}
	if req.Secret == nil {
		return "", fmt.Errorf("installation %s: secret %s cannot be resolved: this sluice has no secrets", in.ID, in.TokenSecret)
	}
	v, err := req.Secret(ctx, in.TokenSecret)
	if err != nil {
		return "", fmt.Errorf("installation %s: token secret: %w", in.ID, err)
	}
	return v, nil
}

// state is what a polling node saves between polls: where the provider's
// run is, never a token.
type state struct {
	Provider     string    `json:"provider"`
	Installation string    `json:"installationId"`
	Phase        string    `json:"phase"` // find (GitHub: the run is not listed yet) | poll
	Report       bool      `json:"reportWorkflowStatus"`
	Deadline     time.Time `json:"deadline"`
	Polls        int       `json:"polls"`
	// GitHub
	Owner        string    `json:"org,omitempty"`
	Repo         string    `json:"repo,omitempty"`
	Workflow     string    `json:"workflow,omitempty"`
	Ref          string    `json:"ref,omitempty"`
	DispatchedAt time.Time `json:"dispatchedAt,omitzero"`
	// GitLab
	Project string `json:"projectId,omitempty"`
	// Both
	RunID  int64  `json:"workflowRunId,omitempty"`
	RunURL string `json:"workflowRunUrl,omitempty"`
}

const (
	phaseFind = "find"
	phasePoll = "poll"
)

// pending is the result that waits for the next poll of st.
func (x *Executor) pending(st *state, at time.Time) node.Result {
	if at.IsZero() {
		at = x.now().Add(min(x.pollMin<<min(st.Polls, 16), x.pollMax))
	}
	if at.After(st.Deadline) {
		at = st.Deadline
	}
	return node.Result{Pending: true, WakeAt: at, State: st, WaitUntil: st.Deadline}
}

// Poll continues a node that polls its provider's run (node.Poller).
func (x *Executor) Poll(ctx context.Context, req *node.Request) (node.Result, error) {
	var st state
	b, err := json.Marshal(req.State)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return node.Result{}, fmt.Errorf("the saved polling state cannot be read: %w", err)
	}
	in, err := x.installation(ctx, st.Installation)
	if err != nil {
		return node.Result{}, err
	}
	st.Polls++
	var res node.Result
	switch st.Provider {
	case ProviderGitHub:
		res, err = x.githubPoll(ctx, req, &st, in)
	case ProviderGitLab:
		res, err = x.gitlabPoll(ctx, req, &st, in)
	default:
		return node.Result{}, fmt.Errorf("the saved polling state names provider %q, which sluice does not poll", st.Provider)
	}
	var later *laterError
	if errors.As(err, &later) {
		req.Log(node.LevelWarn, later.Error())
		return x.pending(&st, later.at), nil
	}
	return res, err
}

// caller returns the HTTP caller of one execution or poll: it may wait
// in-process up to inline.
func (x *Executor) caller(provider string, deadline time.Time, inline time.Duration) *caller {
	return &caller{provider: provider, hc: x.hc, now: x.now, deadline: deadline, maxInline: inline, retryMin: x.retryMin}
}

// statusWord is workflowStatus: GitHub's conclusions as they are, GitLab's
// statuses in the same words.
func statusWord(s string) string {
	switch s {
	case "failed":
		return "failure"
	case "canceled":
		return "cancelled"
	}
	return s
}

// Warnings implements node.Warner: a workflow saved with a node that names
// an installation that does not exist is told that the node fails.
func (x *Executor) Warnings(n *workflow.Node) []string {
	id, _ := n.Config["installationId"].(string)
	if id == "" || strings.Contains(id, "{{") || x.ins == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := x.ins.GetInstallation(ctx, id); errors.Is(err, store.ErrNotFound) {
		return []string{fmt.Sprintf("node %s fails when it runs: installation %s does not exist; add it with: sluice integrations add %s --provider PROVIDER", n.Identifier, id, id)}
	}
	return nil
}

// maxIDLen bounds installation ids.
const maxIDLen = 100

// ValidateInstallation checks an installation before it is saved; the error
// names the field (id, provider, baseUrl, tokenSecret).
func ValidateInstallation(in store.Installation) error {
	if in.ID == "" || len(in.ID) > maxIDLen {
		return fmt.Errorf("id: must be 1 to %d characters", maxIDLen)
	}
	for _, r := range in.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:@", r)) {
			return fmt.Errorf("id: %q may hold only letters, digits and - _ . : @", in.ID)
		}
	}
	if strings.TrimSpace(in.Provider) == "" || len(in.Provider) > maxIDLen || strings.ContainsAny(in.Provider, " \t\r\n") {
		return fmt.Errorf("provider: must be a name without spaces (github-ocean, gitlab, or the provider of an external integration)")
	}
	if in.BaseURL != "" {
		u, err := url.Parse(in.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return errors.New("baseUrl: must be an absolute http or https URL")
		case u.User != nil:
			return errors.New("baseUrl: must not hold credentials; name the secret that holds the token with tokenSecret")
		case u.RawQuery != "" || u.Fragment != "":
			return errors.New("baseUrl: must have no query string or fragment")
		}
	}
	if in.TokenSecret != "" {
		if err := secret.ValidateName(in.TokenSecret); err != nil {
			return fmt.Errorf("tokenSecret: %w", err)
		}
	}
	return nil
}
