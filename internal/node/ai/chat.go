package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/node"
)

// The wire types of the OpenAI chat completions API
// (https://platform.openai.com/docs/api-reference/chat/create), as far as
// sluice uses them. Every OpenAI-compatible server (vLLM, Ollama, LiteLLM,
// Azure OpenAI's v1 API) accepts this subset.
type (
	chatRequest struct {
		Model          string          `json:"model"`
		Messages       []chatMessage   `json:"messages"`
		Tools          []toolSpec      `json:"tools,omitempty"`
		ResponseFormat *responseFormat `json:"response_format,omitempty"`
	}
	chatMessage struct {
		Role       string     `json:"role"`
		Content    *string    `json:"content"`
		ToolCalls  []toolCall `json:"tool_calls,omitempty"`
		ToolCallID string     `json:"tool_call_id,omitempty"`
	}
	toolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	toolSpec struct {
		Type     string       `json:"type"`
		Function toolFunction `json:"function"`
	}
	toolFunction struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Parameters  map[string]any `json:"parameters"`
	}
	responseFormat struct {
		Type       string      `json:"type"`
		JSONSchema *jsonSchema `json:"json_schema,omitempty"`
	}
	jsonSchema struct {
		Name   string `json:"name"`
		Schema any    `json:"schema"`
		Strict bool   `json:"strict"`
	}
	chatResponse struct {
		Model   string `json:"model"`
		Choices []struct {
			Message      chatMessage `json:"message"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
			TotalTokens      int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	errorBody struct {
		Error json.RawMessage `json:"error"`
	}
)

func text(s string) *string { return &s }

// providerError is a failed answer of the provider: its status and its
// message (which the engine redacts: providers echo keys in 401s).
type providerError struct {
	provider string
	status   int
	message  string
}

func (e *providerError) Error() string {
	msg := e.message
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	return fmt.Sprintf("provider %s answered %d: %s", e.provider, e.status, msg)
}

// maxErrorMessage bounds the provider's message quoted in an error.
const maxErrorMessage = 1000

// errorMessage reads the message of an error body: OpenAI's
// {"error": {"message": ...}}, {"error": "..."} (Ollama, LiteLLM), or the
// body's text.
func errorMessage(body []byte, mask func(string) string) string {
	var eb errorBody
	var msg string
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(eb.Error, &obj) == nil && obj.Message != "":
			msg = obj.Message
		case json.Unmarshal(eb.Error, &s) == nil:
			msg = s
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	// Masked before it is cut: a key cut in two would not be recognised.
	msg = mask(msg)
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage] + "..."
	}
	return strings.ToValidUTF8(msg, "?")
}

// caller calls one provider for one node run.
type caller struct {
	x        *Executor
	provider string
	url      string
	key      string
	headers  map[string]string
	log      func(level, msg string)
	mask     func(string) string
}

// maxRetries is how many times a 429 or 5xx answer, or a failed
// connection, is retried.
const maxRetries = 3

// call posts one chat completions request, retrying 429 and 5xx answers
// with backoff (honouring Retry-After) while ctx allows.
func (c *caller) call(ctx context.Context, req *chatRequest) (*chatResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	backoff := c.x.retryMin
	for attempt := 0; ; attempt++ {
		resp, wait, err := c.once(ctx, body)
		if err == nil {
			return resp, nil
		}
		if wait < 0 || attempt >= maxRetries {
			return nil, err
		}
		if wait == 0 {
			wait = backoff
			backoff *= 2
		}
		if dl, ok := ctx.Deadline(); ok && c.x.now().Add(wait).After(dl) {
			return nil, fmt.Errorf("%w; a retry in %s would pass the node's timeout", err, wait.Round(time.Millisecond))
		}
		c.log(levelWarn, fmt.Sprintf("%v; retrying in %s (attempt %d of %d)", err, wait.Round(time.Millisecond), attempt+2, maxRetries+1))
		if err := c.x.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("provider %s: %w", c.provider, timeoutErr(err))
		}
	}
}

// once makes one request. wait is -1 when the failure is not retried, 0
// for the caller's backoff, or what Retry-After asked.
func (c *caller) once(ctx context.Context, body []byte) (*chatResponse, time.Duration, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("provider %s: build the request: %w", c.provider, err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	node.SetTraceparent(ctx, hr.Header)
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.x.hc.Do(hr)
	if err != nil {
		// url.Error quotes the URL, which holds no credentials (the base
		// URL is validated); the cause alone reads better.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("provider %s: %w", c.provider, timeoutErr(ctx.Err()))
		}
		return nil, 0, fmt.Errorf("provider %s: %w", c.provider, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.x.maxAnswer+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("provider %s: %w", c.provider, timeoutErr(ctx.Err()))
		}
		return nil, 0, fmt.Errorf("provider %s: read the answer: %w", c.provider, err)
	}
	if int64(len(raw)) > c.x.maxAnswer {
		return nil, -1, fmt.Errorf("provider %s: the answer exceeds %d bytes", c.provider, c.x.maxAnswer)
	}
	if resp.StatusCode/100 != 2 {
		pe := &providerError{provider: c.provider, status: resp.StatusCode, message: errorMessage(raw, c.mask)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return nil, retryAfter(resp.Header.Get("Retry-After"), c.x.now()), pe
		}
		return nil, -1, pe
	}
	cr, err := decodeAnswer(raw)
	if err != nil {
		return nil, -1, fmt.Errorf("provider %s: %w", c.provider, err)
	}
	return cr, 0, nil
}

// decodeAnswer reads a chat completion (a 2xx answer of a provider, which
// is untrusted): it must hold at least one choice.
func decodeAnswer(raw []byte) (*chatResponse, error) {
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return nil, fmt.Errorf("the answer is not a chat completion: %w", err)
	}
	if len(cr.Choices) == 0 {
		return nil, errors.New("the answer holds no choices")
	}
	return &cr, nil
}

// maxRetryAfter bounds a Retry-After the node sleeps.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads Retry-After: seconds or an HTTP date; 0 when absent or
// unreadable (the caller's backoff applies).
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseFloat(h, 64); err == nil && n >= 0 {
		d = time.Duration(min(n, maxRetryAfter.Seconds()) * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0 // unreadable: the caller's backoff, not an immediate retry
	}
	if d <= 0 {
		return time.Millisecond
	}
	return min(d, maxRetryAfter)
}

// errTimeout is matched by the error of a node that ran out of time.
var errTimeout = errors.New("the node's timeout passed")

func timeoutErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimeout
	}
	return err
}
