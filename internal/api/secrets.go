package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/secret"
)

type tokenBody struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// accessToken exchanges client credentials for a bearer token. An unknown
// client and a wrong secret get the same 401.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body tokenBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	switch {
	case body.ClientID == "":
		return invalidField("clientId", "is required")
	case body.ClientSecret == "":
		return invalidField("clientSecret", "is required")
	}
	tok, ttl, err := s.auth.IssueToken(r.Context(), body.ClientID, body.ClientSecret)
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return apiErr(http.StatusUnauthorized, codeUnauthorized, "invalid client credentials")
	case err != nil:
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "accessToken": tok, "expiresIn": int(ttl.Seconds()), "tokenType": "Bearer"})
	return nil
}

// secretService returns the service, or a 503 when the server has none.
func (s *Server) secretService() (*secret.Service, error) {
	if s.secrets == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeUnavailable, "this server keeps no secrets")
	}
	return s.secrets, nil
}

// secretErr maps the secret service's errors. Their messages name fields
// and secrets, never values.
func secretErr(name string, err error) error {
	if secret.ValidateName(name) != nil {
		name = "(invalid name)" // a mistyped request may carry a value there
	}
	var ie *secret.InvalidError
	switch {
	case errors.As(err, &ie):
		return &Error{Status: http.StatusUnprocessableEntity, Code: codeInvalidSecret, Message: ie.Error(), Details: []Detail{{Path: ie.Field, Message: ie.Message}}}
	case errors.Is(err, secret.ErrNotFound):
		return notFound("secret %s not found", name)
	case errors.Is(err, secret.ErrExists):
		return conflict("secret %s already exists; PATCH /v1/organization/secrets/%s changes it", name, name)
	case errors.Is(err, secret.ErrConflict):
		return conflict("secret %s kept changing while this update was applied; try again", name)
	}
	return fmt.Errorf("secret %s: %w", name, err)
}

// secretsFor returns the secrets service when a may act on secrets: a 403
// when they may not, a 503 when the server keeps no secrets.
func (s *Server) secretsFor(a authz.Actor, act authz.Action) (*secret.Service, error) {
	if !authz.CanManageSecrets(a, act) {
		return nil, forbidden("this takes an Admin or the %s:secrets scope", act)
	}
	return s.secretService()
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	svc, err := s.secretsFor(a, authz.Read)
	if err != nil {
		return err
	}
	ms, err := svc.List(r.Context())
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	if ms == nil {
		ms = []secret.Metadata{}
	}
	writeJSON(w, http.StatusOK, ok("secrets", ms))
	return nil
}

type createSecretBody struct {
	SecretName  string `json:"secretName"`
	SecretValue string `json:"secretValue"`
	Description string `json:"description"`
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	svc, err := s.secretsFor(a, authz.Create)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body createSecretBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	if err := checkUTF8Fields(data); err != nil {
		return err
	}
	md, err := svc.Create(r.Context(), a.ID, body.SecretName, body.SecretValue, body.Description)
	if err != nil {
		return secretErr(body.SecretName, err)
	}
	writeJSON(w, http.StatusCreated, ok("secret", md))
	return nil
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	svc, err := s.secretsFor(a, authz.Read)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	md, err := svc.Get(r.Context(), name)
	if err != nil {
		return secretErr(name, err)
	}
	writeJSON(w, http.StatusOK, ok("secret", md))
	return nil
}

type updateSecretBody struct {
	SecretValue *string `json:"secretValue"`
	Description *string `json:"description"`
}

func (s *Server) updateSecret(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	svc, err := s.secretsFor(a, authz.Update)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body updateSecretBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	if err := checkUTF8Fields(data); err != nil {
		return err
	}
	if body.SecretValue == nil && body.Description == nil {
		return badRequest("nothing to change: give secretValue, description or both")
	}
	name := r.PathValue("name")
	md, err := svc.Update(r.Context(), a.ID, name, body.SecretValue, body.Description)
	if err != nil {
		return secretErr(name, err)
	}
	writeJSON(w, http.StatusOK, ok("secret", md))
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	svc, err := s.secretsFor(a, authz.Delete)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := svc.Delete(r.Context(), a.ID, name); err != nil {
		return secretErr(name, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// listAudit lists audit events (secret changes and resolutions), newest
// first; Admins and the read:audit scope.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	if !authz.CanReadAudit(a) {
		return forbidden("reading the audit log takes an Admin or the %s scope", authz.ScopeReadAudit)
	}
	svc, err := s.secretService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(q, "limit", secret.DefaultAuditLimit, secret.MaxAuditLimit)
	if err != nil {
		return err
	}
	offset, err := queryInt(q, "offset", 0, 0)
	if err != nil {
		return err
	}
	evs, err := svc.Audit(r.Context(), limit, offset)
	if err != nil {
		return fmt.Errorf("list audit events: %w", err)
	}
	if evs == nil {
		evs = []secret.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, ok("auditEvents", evs))
	return nil
}

// checkUTF8Fields answers 400, naming the field, when a string field of a
// JSON object body is not valid UTF-8 as sent: raw bytes that are not
// UTF-8, or a \u escape of a lone surrogate. encoding/json would silently
// turn either into U+FFFD, storing a secret that no longer works. data
// must already have decoded as an object. The answer never quotes the
// field's value.
func checkUTF8Fields(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil // decodeBody reported it
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		raw := fields[name]
		if len(raw) > 0 && raw[0] == '"' && !validJSONText(raw) {
			return invalidField(fieldName(name), "must be valid UTF-8 text (the value is not quoted here)")
		}
	}
	return nil
}

// fieldName returns the secret body field that name decodes into (JSON
// field names match regardless of case), and "(body)" for any other: a
// mistyped request may carry a value where a name should be.
func fieldName(name string) string {
	for _, f := range []string{"secretName", "secretValue", "description"} {
		if strings.EqualFold(name, f) {
			return f
		}
	}
	return "(body)"
}

// validJSONText reports whether a JSON string literal decodes to exactly
// the text it carries: valid UTF-8, and every \u escape of a surrogate
// part of a pair.
func validJSONText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return false
		}
		switch {
		case r >= 0xDC00 && r < 0xE000: // a low surrogate alone
			return false
		case r >= 0xD800 && r < 0xDC00: // a high surrogate needs a low one
			if i+11 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return false
			}
			lo, ok := hex4(raw, i+8)
			if !ok || lo < 0xDC00 || lo >= 0xE000 {
				return false
			}
			i += 11
		default:
			i += 5
		}
	}
	return true
}

// hex4 parses the 4 hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
