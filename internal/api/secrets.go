package api

import (
	"errors"
	"fmt"
	"net/http"

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
