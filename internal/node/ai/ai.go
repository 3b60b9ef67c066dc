// Package ai is the AI node executor: it calls a language model behind an
// OpenAI-compatible chat completions endpoint (OpenAI, Azure OpenAI's v1
// API, vLLM, Ollama, LiteLLM), configured as a named provider whose API key
// is an organization secret resolved per node run through the engine. It
// asks for structured output when the node has an outputSchema and
// validates the answer, serves Port's catalog tools (list_blueprints,
// list_entities, get_entity, search_entities) over sluice's own catalog in
// a bounded tool loop, and outputs {"response", "model", "usage"} as Port's
// AI node does (docs/ai.md). AI_AGENT and CURSOR_AGENT nodes name agents
// hosted by Port: their executor fails the node saying so.
package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Providers reads AI providers (store.AIProviderStore).
type Providers interface {
	GetAIProvider(ctx context.Context, name string) (store.AIProvider, error)
	DefaultAIProvider(ctx context.Context) (store.AIProvider, error)
}

// Defaults of Options and of a node's config.
const (
	DefaultTimeout    = 120 * time.Second
	DefaultToolRounds = 8
	DefaultMaxAnswer  = 4 << 20
	DefaultRetryMin   = time.Second
	// MaxToolRounds bounds a node's maxToolRounds.
	MaxToolRounds = 50
)

const levelWarn = node.LevelWarn

// Options configure the executor.
type Options struct {
	Providers Providers
	// Catalog serves the catalog tools; nil offers none (a node naming
	// one fails saying so).
	Catalog Catalog
	// HTTPClient calls the providers; nil means a client without its own
	// timeout (each node run has its timeoutSeconds).
	HTTPClient *http.Client
	// MaxAnswer caps the bytes of one answer of a provider.
	MaxAnswer int64
	// RetryMin is the first backoff of a retried 429 or 5xx without
	// Retry-After; it doubles from there.
	RetryMin time.Duration
	// Now and Sleep are the clock; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Executor runs AI nodes; it implements node.Executor and node.Warner.
type Executor struct {
	providers Providers
	cat       Catalog
	hc        *http.Client
	maxAnswer int64
	retryMin  time.Duration
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error
}

// New returns an executor.
func New(o Options) *Executor {
	x := &Executor{providers: o.Providers, cat: o.Catalog, hc: o.HTTPClient, maxAnswer: o.MaxAnswer, retryMin: o.RetryMin, now: o.Now, sleep: o.Sleep}
	if x.hc == nil {
		x.hc = &http.Client{}
	}
	if x.maxAnswer <= 0 {
		x.maxAnswer = DefaultMaxAnswer
	}
	if x.retryMin <= 0 {
		x.retryMin = DefaultRetryMin
	}
	if x.now == nil {
		x.now = time.Now
	}
	if x.sleep == nil {
		x.sleep = sleepCtx
	}
	return x
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Register adds x as the AI executor, and the executor that fails AI_AGENT
// and CURSOR_AGENT nodes clearly.
func Register(r *node.Registry, x *Executor) {
	r.Register(workflow.TypeAI, x)
	r.Register(workflow.TypeAIAgent, hosted{})
	r.Register(workflow.TypeCursorAgent, hosted{})
}

// hosted fails AI_AGENT and CURSOR_AGENT nodes: they name agents that Port
// (or Cursor through Port) hosts.
type hosted struct{}

func (hosted) message(typ string) string {
	return fmt.Sprintf("%s nodes run agents hosted by Port; sluice runs AI nodes only: use an AI node with a provider of your own (docs/ai.md)", typ)
}

// Execute fails the node.
func (h hosted) Execute(_ context.Context, req *node.Request) (node.Result, error) {
	return node.Result{}, errors.New(h.message(req.Node.Type))
}

// Warnings tells, at save, that such a node fails when it runs.
func (h hosted) Warnings(n *workflow.Node) []string {
	return []string{fmt.Sprintf("node %s fails when it runs: %s", n.Identifier, h.message(n.Type))}
}

// config is an AI node's rendered config.
type config struct {
	userPrompt, systemPrompt string
	provider, model          string
	schema                   *outputSchema
	tools                    []string
	mcpServers               []string
	timeout                  time.Duration
	rounds                   int
}

func decodeConfig(c map[string]any) (*config, error) {
	cfg := &config{timeout: DefaultTimeout, rounds: DefaultToolRounds}
	var err error
	if cfg.userPrompt, err = strField(c, "userPrompt"); err != nil {
		return nil, err
	} else if strings.TrimSpace(cfg.userPrompt) == "" {
		return nil, errors.New("config.userPrompt: must be a non-empty string (after rendering)")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"systemPrompt", &cfg.systemPrompt}, {"provider", &cfg.provider}, {"model", &cfg.model}} {
		if *f.dst, err = strField(c, f.name); err != nil {
			return nil, err
		}
	}
	if v, ok := c["outputSchema"]; ok && v != nil {
		if cfg.schema, err = compileSchema(v); err != nil {
			return nil, fmt.Errorf("config.outputSchema: %w", err)
		}
	}
	if v, ok := c["tools"]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return nil, errors.New("config.tools: must be an array of tool names")
		}
		for i, t := range list {
			s, isStr := t.(string)
			if !isStr {
				return nil, fmt.Errorf("config.tools[%d]: must be a string", i)
			}
			cfg.tools = append(cfg.tools, s)
		}
	}
	if list, ok := c["mcpServers"].([]any); ok {
		for _, m := range list {
			if obj, isObj := m.(map[string]any); isObj {
				id, _ := obj["identifier"].(string)
				cfg.mcpServers = append(cfg.mcpServers, id)
			}
		}
	}
	if v, ok := c["timeoutSeconds"]; ok && v != nil {
		n, isNum := number(v)
		if !isNum || n <= 0 {
			return nil, errors.New("config.timeoutSeconds: must be a positive number of seconds")
		}
		cfg.timeout = time.Duration(n * float64(time.Second))
	}
	if v, ok := c["maxToolRounds"]; ok && v != nil {
		n, isNum := number(v)
		if !isNum || n != float64(int(n)) || n < 1 || n > MaxToolRounds {
			return nil, fmt.Errorf("config.maxToolRounds: must be an integer from 1 to %d", MaxToolRounds)
		}
		cfg.rounds = int(n)
	}
	return cfg, nil
}

func strField(c map[string]any, name string) (string, error) {
	switch v := c[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("config.%s: must be a string, got %T", name, v)
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	}
	return 0, false
}

// provider returns the provider a node uses: the one it names, or the
// default.
func (x *Executor) provider(ctx context.Context, name string) (store.AIProvider, error) {
	if x.providers == nil {
		return store.AIProvider{}, errors.New("this sluice keeps no AI providers (its store does not)")
	}
	if name == "" {
		p, err := x.providers.DefaultAIProvider(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return p, errors.New("config.provider: the node names no provider and none is the default; add one with: sluice ai providers add NAME --base-url URL --api-key-secret SECRET --model MODEL --default")
		}
		if err != nil {
			return p, fmt.Errorf("read the default AI provider: %w", err)
		}
		return p, nil
	}
	p, err := x.providers.GetAIProvider(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return p, fmt.Errorf("config.provider: AI provider %s does not exist; add it with: sluice ai providers add %s --base-url URL --api-key-secret SECRET --model MODEL", name, name)
	}
	if err != nil {
		return p, fmt.Errorf("read AI provider %s: %w", name, err)
	}
	return p, nil
}

// Execute runs an AI node: the tool loop, then the structured output
// check.
func (x *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	logf := func(level, msg string) {
		if req.Log != nil {
			req.Log(level, msg)
		}
	}
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return node.Result{}, err
	}
	for _, t := range cfg.tools {
		if _, ok := tools[t]; !ok {
			return node.Result{}, fmt.Errorf("config.tools: sluice serves no tool %q; it serves %s", t, strings.Join(ToolNames(), ", "))
		}
		if x.cat == nil {
			return node.Result{}, fmt.Errorf("config.tools: tool %s reads the catalog, which this sluice does not keep", t)
		}
	}
	if len(cfg.mcpServers) > 0 {
		logf(levelWarn, fmt.Sprintf("mcpServers %s are not called: sluice does not call remote MCP servers yet; the model runs with the tools sluice serves", strings.Join(cfg.mcpServers, ", ")))
	}
	p, err := x.provider(ctx, cfg.provider)
	if err != nil {
		return node.Result{}, err
	}
	key := ""
	if p.APIKeySecret != "" {
		if req.Secret == nil {
			return node.Result{}, fmt.Errorf("AI provider %s: secret %s cannot be resolved: this sluice has no secrets", p.Name, p.APIKeySecret)
		}
		if key, err = req.Secret(ctx, p.APIKeySecret); err != nil {
			return node.Result{}, fmt.Errorf("AI provider %s: API key: %w", p.Name, err)
		}
	}
	model := cmp(cfg.model, p.Model)
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	mask := masker(req.Redact)
	c := &caller{x: x, provider: p.Name, url: strings.TrimRight(p.BaseURL, "/") + "/chat/completions", key: key, headers: p.Headers, log: logf, mask: mask}
	s := &session{x: x, c: c, cfg: cfg, log: logf, mask: mask, req: chatRequest{Model: model}}
	if cfg.systemPrompt != "" {
		s.req.Messages = append(s.req.Messages, chatMessage{Role: "system", Content: text(cfg.systemPrompt)})
	}
	s.req.Messages = append(s.req.Messages, chatMessage{Role: "user", Content: text(cfg.userPrompt)})
	for _, t := range cfg.tools {
		s.req.Tools = append(s.req.Tools, toolSpec{Type: "function", Function: tools[t].spec})
	}
	if cfg.schema != nil {
		s.req.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &jsonSchema{Name: "output", Schema: cfg.schema.doc}}
	}
	answer, err := s.run(ctx)
	if err != nil {
		if !errors.Is(err, errTimeout) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", errTimeout, err)
		}
		if errors.Is(err, errTimeout) {
			return node.Result{}, fmt.Errorf("timeoutSeconds %g: %w", cfg.timeout.Seconds(), err)
		}
		return node.Result{}, err
	}
	return node.Result{Output: map[string]any{
		"response": answer,
		"model":    cmp(s.model, model),
		"provider": p.Name,
		"usage":    map[string]any{"promptTokens": s.usage[0], "completionTokens": s.usage[1], "totalTokens": s.usage[2]},
	}}, nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// session is one node run's conversation with the model.
type session struct {
	x   *Executor
	c   *caller
	cfg *config
	log func(level, msg string)
	// mask passes text through the run's redactor before it is cut.
	mask  func(string) string
	req   chatRequest
	model string
	usage [3]int64
	// instructed is set once the schema is asked for in the prompt
	// (the provider refused response_format).
	instructed bool
}

// ask sends the conversation once, falling back from response_format to
// instructions when the provider refuses it.
func (s *session) ask(ctx context.Context) (*chatResponse, error) {
	resp, err := s.c.call(ctx, &s.req)
	var pe *providerError
	if err != nil && s.req.ResponseFormat != nil && errors.As(err, &pe) && (pe.status == http.StatusBadRequest || pe.status == http.StatusUnprocessableEntity) {
		s.log(levelWarn, fmt.Sprintf("%v; asking for the output schema in the prompt instead of response_format", err))
		s.req.ResponseFormat = nil
		s.instructed = true
		schema, _ := json.Marshal(s.cfg.schema.doc)
		s.req.Messages = append([]chatMessage{{Role: "system", Content: text("Answer with only one JSON object, no prose and no code fence, that is valid against this JSON Schema: " + string(schema))}}, s.req.Messages...)
		resp, err = s.c.call(ctx, &s.req)
	}
	if err != nil {
		return nil, err
	}
	if resp.Model != "" {
		s.model = resp.Model
	}
	if u := resp.Usage; u != nil {
		s.usage[0] += u.PromptTokens
		s.usage[1] += u.CompletionTokens
		s.usage[2] += u.TotalTokens
	}
	return resp, nil
}

// run runs the tool loop and the schema check, and returns the answer.
func (s *session) run(ctx context.Context) (string, error) {
	retried := false
	rounds := 0
	for {
		resp, err := s.ask(ctx)
		if err != nil {
			return "", err
		}
		msg := resp.Choices[0].Message
		if len(msg.ToolCalls) > 0 {
			if rounds >= s.cfg.rounds {
				return "", fmt.Errorf("the model still called tools after %d rounds (maxToolRounds %d): it gave no answer", rounds, s.cfg.rounds)
			}
			rounds++
			s.req.Messages = append(s.req.Messages, chatMessage{Role: "assistant", Content: msg.Content, ToolCalls: msg.ToolCalls})
			for _, call := range msg.ToolCalls {
				out, ok := runTool(ctx, s.x.cat, s.cfg.tools, call)
				level, what := node.LevelInfo, fmt.Sprintf("%d bytes", len(out))
				if !ok {
					level, what = levelWarn, out
				}
				s.log(level, fmt.Sprintf("tool call %d.%s: %s(%s) -> %s", rounds, clip(s.mask(call.ID), 100), clip(s.mask(call.Function.Name), 100), clip(s.mask(call.Function.Arguments), 500), clip(s.mask(what), 500)))
				s.req.Messages = append(s.req.Messages, chatMessage{Role: "tool", ToolCallID: call.ID, Content: text(out)})
			}
			continue
		}
		answer := ""
		if msg.Content != nil {
			answer = *msg.Content
		}
		if s.cfg.schema == nil {
			if resp.Choices[0].FinishReason == "length" {
				s.log(levelWarn, "the answer was cut at the model's token limit (finish_reason length)")
			}
			return answer, nil
		}
		doc, problems := s.cfg.schema.check(answer, s.mask)
		if len(problems) == 0 {
			return doc, nil
		}
		if retried {
			return "", fmt.Errorf("the answer does not match config.outputSchema after a retry: %s", strings.Join(problems, "; "))
		}
		retried = true
		s.log(levelWarn, "the answer does not match config.outputSchema, asking again: "+strings.Join(problems, "; "))
		s.req.Messages = append(s.req.Messages,
			chatMessage{Role: "assistant", Content: text(answer)},
			chatMessage{Role: "user", Content: text("Your answer does not match the required JSON Schema: " + strings.Join(problems, "; ") + ". Answer again with only the corrected JSON object.")})
	}
}

// masker returns a function that passes text through the run's redactor
// (node.Request.Redact), for text that the executor cuts before the engine
// masks it: a value cut in two is no longer recognised, so the whole text
// is masked first. The engine masks everything stored again; nil redact
// (an executor called outside the engine) leaves text as it is.
func masker(redact func(any) (redact.JSON, error)) func(string) string {
	if redact == nil {
		return func(s string) string { return s }
	}
	return func(s string) string {
		j, err := redact(s)
		if err != nil {
			return "(text withheld: it could not be masked)"
		}
		var out string
		if json.Unmarshal(j.Bytes(), &out) != nil {
			return "(text withheld: it could not be masked)"
		}
		return out
	}
}

// clip cuts s to n bytes; text that may hold a secret is masked first.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// Warnings implements node.Warner: tools sluice does not serve, a provider
// that does not exist, and mcpServers, which are not called yet.
func (x *Executor) Warnings(n *workflow.Node) []string {
	var out []string
	if list, ok := n.Config["tools"].([]any); ok {
		for _, t := range list {
			if s, isStr := t.(string); isStr {
				if _, known := tools[s]; !known {
					out = append(out, fmt.Sprintf("node %s fails when it runs: sluice serves no tool %q; it serves %s", n.Identifier, s, strings.Join(ToolNames(), ", ")))
				}
			}
		}
	}
	if list, ok := n.Config["mcpServers"].([]any); ok && len(list) > 0 {
		out = append(out, fmt.Sprintf("node %s names mcpServers, which sluice does not call yet: the model runs with the tools sluice serves", n.Identifier))
	}
	name, _ := n.Config["provider"].(string)
	if x.providers == nil || strings.Contains(name, "{{") {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if name == "" {
		if _, err := x.providers.DefaultAIProvider(ctx); errors.Is(err, store.ErrNotFound) {
			out = append(out, fmt.Sprintf("node %s fails when it runs: it names no provider and none is the default; add one with: sluice ai providers add NAME --base-url URL --api-key-secret SECRET --model MODEL --default", n.Identifier))
		}
	} else if _, err := x.providers.GetAIProvider(ctx, name); errors.Is(err, store.ErrNotFound) {
		out = append(out, fmt.Sprintf("node %s fails when it runs: AI provider %s does not exist", n.Identifier, name))
	}
	return out
}

// maxNameLen bounds provider names and models.
const maxNameLen = 100

// ValidateProvider checks a provider before it is saved; the error names
// the field (name, baseUrl, apiKeySecret, model, headers).
func ValidateProvider(p store.AIProvider) error {
	if p.Name == "" || len(p.Name) > maxNameLen {
		return fmt.Errorf("name: must be 1 to %d characters", maxNameLen)
	}
	for _, r := range p.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return fmt.Errorf("name: %q may hold only letters, digits, -, _ and dots", p.Name)
		}
	}
	u, err := url.Parse(p.BaseURL)
	switch {
	case p.BaseURL == "":
		return errors.New("baseUrl: is required (the URL that /chat/completions is under, such as https://api.openai.com/v1)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("baseUrl: must be an absolute http or https URL")
	case u.User != nil:
		return errors.New("baseUrl: must not hold credentials; name the secret that holds the API key with apiKeySecret")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("baseUrl: must have no query string or fragment")
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/chat/completions"):
		return errors.New("baseUrl: is the URL that /chat/completions is under, without it")
	}
	if p.APIKeySecret != "" {
		if err := secret.ValidateName(p.APIKeySecret); err != nil {
			return fmt.Errorf("apiKeySecret: %w", err)
		}
	}
	if strings.TrimSpace(p.Model) == "" || len(p.Model) > 200 {
		return errors.New("model: must be a model name of 1 to 200 characters")
	}
	for k, v := range p.Headers {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) {
			return fmt.Errorf("headers.%s: is not a valid header name", k)
		}
		if slices.Contains([]string{"authorization", "api-key", "x-api-key", "proxy-authorization", "cookie"}, strings.ToLower(k)) {
			return fmt.Errorf("headers.%s: would hold a credential, which is stored and shown here; the API key goes in the secret named by apiKeySecret", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers.%s: must be one line", k)
		}
	}
	return nil
}
