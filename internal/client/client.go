// Package client is a small client of a running sluice server's /v1 API:
// the token exchange, one request helper that turns the API's error
// envelope into an *APIError worded as the server words it, and a
// *NetworkError naming the server when it cannot be reached. The CLI's
// client commands (sluice login, workflows, runs, nodes) are built on it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxAnswerBytes bounds what is read of one answer.
const maxAnswerBytes = 32 << 20

// Client talks to one server. Set Token to use a bearer token as it is, or
// ClientID and ClientSecret to exchange them for tokens (again once when
// the server answers 401, as an expired token does).
type Client struct {
	// Base is the server's URL, http(s)://host[:port], without a trailing slash.
	Base         string
	HTTP         *http.Client
	Token        string
	ClientID     string
	ClientSecret string
	// OnToken, when set, is called with each token obtained by the
	// exchange and its expiry, so that a caller can keep it.
	OnToken func(token string, expires time.Time)

	mu sync.Mutex
}

// New returns a client of the server at base, which must be an http or
// https URL.
func New(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("must be an http or https URL, got %q", base)
	}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// Detail is one problem of an error answer, at its JSON path.
type Detail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int      // the HTTP status
	Code    string   `json:"error"`
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

// Error returns the server's message with its status.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Status == http.StatusUnauthorized {
		msg += " (log in again: sluice login)"
	}
	return fmt.Sprintf("%s (%d %s)", msg, e.Status, e.Code)
}

// NetworkError is a request that got no answer.
type NetworkError struct {
	Base string
	Err  error
}

// Error names the server and what went wrong.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("cannot reach the sluice server at %s: %v", e.Base, e.Err)
}

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an *APIError in err, else 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Exchange trades client credentials for an access token and its expiry.
func (c *Client) Exchange(ctx context.Context) (string, time.Time, error) {
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
	}
	in := map[string]string{"clientId": c.ClientID, "clientSecret": c.ClientSecret}
	if err := c.send(ctx, http.MethodPost, "/v1/auth/access_token", "", nil, in, &out); err != nil {
		return "", time.Time{}, err
	}
	if out.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("POST /v1/auth/access_token: the answer holds no accessToken")
	}
	exp := time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)
	return out.AccessToken, exp, nil
}

// token returns the token to send, exchanging credentials when there is
// none (or when fresh is set).
func (c *Client) token(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Token != "" && !fresh {
		return c.Token, nil
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		if c.Token != "" {
			return c.Token, nil
		}
		return "", errors.New("no credentials: log in with sluice login, or set SLUICE_TOKEN, or SLUICE_CLIENT_ID and SLUICE_CLIENT_SECRET")
	}
	tok, exp, err := c.Exchange(ctx)
	if err != nil {
		return "", err
	}
	c.Token = tok
	if c.OnToken != nil {
		c.OnToken(tok, exp)
	}
	return tok, nil
}

// Do sends one authenticated request with body as JSON (none when nil) and
// decodes a 2xx answer into out (when not nil). An error answer is an
// *APIError; no answer a *NetworkError. A 401 with exchangeable
// credentials gets a new token and is sent again, once.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.DoHeader(ctx, method, path, nil, body, out)
}

// DoHeader is Do with header's fields added to the request (to its retry
// too), such as a W3C traceparent; Authorization, Accept and Content-Type
// stay the client's own.
func (c *Client) DoHeader(ctx context.Context, method, path string, header http.Header, body, out any) error {
	tok, err := c.token(ctx, false)
	if err != nil {
		return err
	}
	err = c.send(ctx, method, path, tok, header, body, out)
	if StatusOf(err) == http.StatusUnauthorized && c.ClientID != "" && c.ClientSecret != "" {
		if tok, err = c.token(ctx, true); err != nil {
			return err
		}
		err = c.send(ctx, method, path, tok, header, body, out)
	}
	return err
}

func (c *Client) send(ctx context.Context, method, path, token string, header http.Header, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode the body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &NetworkError{Base: c.Base, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return &NetworkError{Base: c.Base, Err: fmt.Errorf("read the answer to %s %s: %w", method, path, err)}
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(raw, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(raw))
			if len(ae.Message) > 200 || !json.Valid(raw) && strings.Contains(ae.Message, "<") {
				ae.Message = "" // not sluice's JSON (a proxy's page): the status says it
			}
		}
		if ae.Message == "" {
			ae.Message = fmt.Sprintf("%s %s: %s", method, path, http.StatusText(resp.StatusCode))
		}
		return ae
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}
