// Package aifake is a fake of the OpenAI chat completions API, for tests:
// an httptest server on loopback written from the public API reference
// (https://platform.openai.com/docs/api-reference/chat/create and the
// error codes guide), not a model. It checks the bearer key and answers
// 401 echoing the key it was given, as OpenAI does ("Incorrect API key
// provided: ..."), and otherwise plays a script of replies: plain answers,
// JSON answers, tool calls, errors with Retry-After, or a hang until the
// client gives up. Every request is recorded.
package aifake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Reply is one scripted answer.
type Reply struct {
	Status int               // 0 means 200
	Header map[string]string // e.g. Retry-After
	Body   any               // encoded as JSON; a string is sent as it is
	// Hang blocks until the client's request ends (a timeout).
	Hang bool
}

// Step makes the reply to one request from the request's decoded body.
type Step func(req map[string]any) Reply

// Request is a recorded request.
type Request struct {
	Auth string
	Body map[string]any
}

// Fake is the fake server.
type Fake struct {
	// Key is the API key it accepts.
	Key string
	srv *httptest.Server

	mu       sync.Mutex
	steps    []Step
	requests []Request
}

// New starts a fake that accepts key; it stops when the test ends.
func New(t testing.TB, key string) *Fake {
	f := &Fake{Key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", f.serve)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// BaseURL is the base URL a provider is configured with.
func (f *Fake) BaseURL() string { return f.srv.URL + "/v1" }

// Push appends steps to the script.
func (f *Fake) Push(steps ...Step) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, steps...)
}

// Requests returns the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		write(w, Reply{Status: http.StatusBadRequest, Body: errBody("We could not parse the JSON body of your request.", "invalid_request_error", "")})
		return
	}
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	f.requests = append(f.requests, Request{Auth: auth, Body: body})
	var step Step
	if len(f.steps) > 0 {
		step, f.steps = f.steps[0], f.steps[1:]
	}
	f.mu.Unlock()
	if auth != "Bearer "+f.Key {
		given := auth
		if len(given) > 7 {
			given = given[7:]
		}
		write(w, Reply{Status: http.StatusUnauthorized, Body: errBody("Incorrect API key provided: "+given+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")})
		return
	}
	if step == nil {
		write(w, Reply{Status: http.StatusInternalServerError, Body: errBody("fake: no scripted reply left", "server_error", "")})
		return
	}
	rep := step(body)
	if rep.Hang {
		<-r.Context().Done()
		return
	}
	write(w, rep)
}

func write(w http.ResponseWriter, rep Reply) {
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	w.WriteHeader(rep.Status)
	if s, ok := rep.Body.(string); ok {
		_, _ = io.WriteString(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(rep.Body)
}

func errBody(msg, typ, code string) map[string]any {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	return map[string]any{"error": e}
}

// completion is a chat.completion object with one choice.
func completion(model string, msg map[string]any, finish string) map[string]any {
	if model == "" {
		model = "fake-model"
	}
	return map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
	}
}

func model(req map[string]any) string { s, _ := req["model"].(string); return s }

// Answer replies with a plain assistant message.
func Answer(text string) Step {
	return func(req map[string]any) Reply {
		return Reply{Body: completion(model(req), map[string]any{"role": "assistant", "content": text, "refusal": nil}, "stop")}
	}
}

// Echo replies with the last user message, as a model asked to repeat it.
func Echo(transform func(string) string) Step {
	return func(req map[string]any) Reply {
		msgs, _ := req["messages"].([]any)
		last := ""
		for _, m := range msgs {
			if mm, ok := m.(map[string]any); ok && mm["role"] == "user" {
				last, _ = mm["content"].(string)
			}
		}
		return Answer(transform(last))(req)
	}
}

// Call is a tool call the fake model makes.
type Call struct {
	Name string
	Args map[string]any
}

// ToolCalls replies with tool calls (finish_reason tool_calls).
func ToolCalls(calls ...Call) Step {
	return func(req map[string]any) Reply {
		var tc []any
		for i, c := range calls {
			args, _ := json.Marshal(c.Args)
			tc = append(tc, map[string]any{"id": fmt.Sprintf("call_%d", i+1), "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": string(args)}})
		}
		return Reply{Body: completion(model(req), map[string]any{"role": "assistant", "content": nil, "tool_calls": tc}, "tool_calls")}
	}
}

// Error replies with an OpenAI error body.
func Error(status int, msg string, header map[string]string) Step {
	return func(map[string]any) Reply {
		return Reply{Status: status, Header: header, Body: errBody(msg, "server_error", "")}
	}
}

// Hang never answers: the client times out.
func Hang() Step { return func(map[string]any) Reply { return Reply{Hang: true} } }

// Raw replies with status and a body as it is.
func Raw(status int, body string) Step {
	return func(map[string]any) Reply { return Reply{Status: status, Body: body} }
}
