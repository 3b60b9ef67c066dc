package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/node/ai"
	"github.com/sluice-run/sluice/internal/store"
)

// aiProviderJSON is an AI provider as the API shows it: the name of the
// secret that holds its API key, never a key.
func aiProviderJSON(p store.AIProvider) map[string]any {
	headers := p.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	return map[string]any{
		"name":         p.Name,
		"baseUrl":      p.BaseURL,
		"apiKeySecret": p.APIKeySecret,
		"model":        p.Model,
		"headers":      headers,
		"default":      p.Default,
		"createdBy":    p.CreatedBy,
		"createdAt":    p.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updatedAt":    p.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

// aiProviders returns the store's AI providers, after checking that a is
// an Admin.
func (s *Server) aiProviders(a authz.Actor) (store.AIProviderStore, error) {
	if !a.IsAdmin() {
		return nil, forbidden("managing AI providers takes an Admin")
	}
	ps, ok := s.st.(store.AIProviderStore)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, codeUnavailable, "this server's store keeps no AI providers")
	}
	return ps, nil
}

func (s *Server) listAIProviders(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	ps, err := s.aiProviders(a)
	if err != nil {
		return err
	}
	list, err := ps.ListAIProviders(r.Context())
	if err != nil {
		return fmt.Errorf("list AI providers: %w", err)
	}
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, aiProviderJSON(p))
	}
	writeJSON(w, http.StatusOK, ok("providers", out))
	return nil
}

type createAIProviderBody struct {
	Name         string            `json:"name"`
	BaseURL      string            `json:"baseUrl"`
	APIKeySecret string            `json:"apiKeySecret"`
	Model        string            `json:"model"`
	Headers      map[string]string `json:"headers"`
	Default      bool              `json:"default"`
}

func (s *Server) createAIProvider(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	ps, err := s.aiProviders(a)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body createAIProviderBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	p := store.AIProvider{Name: body.Name, BaseURL: body.BaseURL, APIKeySecret: body.APIKeySecret, Model: body.Model, Headers: body.Headers, Default: body.Default, CreatedBy: a.ID}
	if err := ai.ValidateProvider(p); err != nil {
		return badRequest("%s", err.Error())
	}
	if err := ps.CreateAIProvider(r.Context(), p); errors.Is(err, store.ErrExists) {
		return conflict("AI provider %s already exists", p.Name)
	} else if err != nil {
		return err
	}
	p, err = ps.GetAIProvider(r.Context(), p.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ok("provider", aiProviderJSON(p)))
	return nil
}

func (s *Server) deleteAIProvider(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	ps, err := s.aiProviders(a)
	if err != nil {
		return err
	}
	if err := ps.DeleteAIProvider(r.Context(), r.PathValue("name")); errors.Is(err, store.ErrNotFound) {
		return notFound("AI provider %s does not exist", r.PathValue("name"))
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}
