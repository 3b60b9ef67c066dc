package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/catalog"
)

// catalogRoutes registers Port's catalog endpoints (docs/catalog.md).
func (s *Server) catalogRoutes() {
	m := s.mux
	m.HandleFunc("GET /v1/blueprints", s.authed(s.listBlueprints))
	m.HandleFunc("POST /v1/blueprints", s.authed(s.createBlueprint))
	m.HandleFunc("GET /v1/blueprints/{bp}", s.authed(s.getBlueprint))
	m.HandleFunc("PUT /v1/blueprints/{bp}", s.authed(s.updateBlueprint(false)))
	m.HandleFunc("PATCH /v1/blueprints/{bp}", s.authed(s.updateBlueprint(true)))
	m.HandleFunc("DELETE /v1/blueprints/{bp}", s.authed(s.deleteBlueprint))
	m.HandleFunc("DELETE /v1/blueprints/{bp}/all-entities", s.authed(s.deleteAllEntities))
	m.HandleFunc("GET /v1/blueprints/{bp}/entities", s.authed(s.listEntities))
	m.HandleFunc("POST /v1/blueprints/{bp}/entities", s.authed(s.createEntity))
	m.HandleFunc("GET /v1/blueprints/{bp}/entities/{id}", s.authed(s.getEntity))
	m.HandleFunc("PUT /v1/blueprints/{bp}/entities/{id}", s.authed(s.changeEntity(catalog.Replace)))
	m.HandleFunc("PATCH /v1/blueprints/{bp}/entities/{id}", s.authed(s.changeEntity(catalog.Patch)))
	m.HandleFunc("DELETE /v1/blueprints/{bp}/entities/{id}", s.authed(s.deleteEntity))
	m.HandleFunc("POST /v1/entities/search", s.authed(s.searchEntities))
}

// catalogFor checks that the server has a catalog and that a may read or
// write (write) blueprints or entities (blueprints).
func (s *Server) catalogFor(a authz.Actor, blueprints, write bool) (*catalog.Service, error) {
	if s.catalog == nil {
		return nil, apiErr(http.StatusServiceUnavailable, codeUnavailable, "the catalog is not available: the store does not keep one")
	}
	what := "entities"
	if blueprints {
		what = "blueprints"
	}
	switch {
	case write && !authz.CanWriteCatalog(a, blueprints):
		return nil, forbidden("you may not change %s: Admins and clients with write:%s may", what, what)
	case !write && !authz.CanReadCatalog(a, blueprints):
		return nil, forbidden("you may not read %s: clients need read:%s", what, what)
	}
	return s.catalog, nil
}

// catalogErr turns a catalog error into the API's answer.
func catalogErr(err error) error {
	var ve *catalog.ValidationError
	switch {
	case errors.As(err, &ve):
		e := &Error{Status: http.StatusUnprocessableEntity, Code: codeInvalidRequest, Message: ve.Error()}
		for _, p := range ve.Problems {
			e.Details = append(e.Details, Detail{Path: p.Path, Message: p.Message})
		}
		return e
	case errors.Is(err, catalog.ErrNotFound):
		return notFound("%v", err)
	case errors.Is(err, catalog.ErrExists), errors.Is(err, catalog.ErrConflict):
		return conflict("%v", err)
	}
	return err
}

// queryBool reads a boolean query parameter (absent: false).
func queryBool(r *http.Request, key string) (bool, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalidField(key, "must be true or false")
	}
	return b, nil
}

func (s *Server) listBlueprints(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, true, false)
	if err != nil {
		return err
	}
	bs, err := c.ListBlueprints(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ok("blueprints", bs))
	return nil
}

// decodeBlueprint decodes a blueprint body strictly (unknown fields are a
// 422 naming them).
func decodeBlueprint(data []byte) (catalog.Blueprint, error) {
	var bp catalog.Blueprint
	if err := decodeBody(data, &bp); err != nil {
		return bp, err
	}
	return bp, nil
}

func (s *Server) createBlueprint(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, true, true)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	bp, err := decodeBlueprint(data)
	if err != nil {
		return err
	}
	out, err := c.CreateBlueprint(r.Context(), bp, a.ID)
	if err != nil {
		return existsHint(err, "PUT /v1/blueprints/"+bp.Identifier+" replaces it")
	}
	writeJSON(w, http.StatusCreated, ok("blueprint", out))
	return nil
}

func (s *Server) getBlueprint(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, true, false)
	if err != nil {
		return err
	}
	bp, err := c.GetBlueprint(r.Context(), r.PathValue("bp"))
	if err != nil {
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, ok("blueprint", bp))
	return nil
}

func (s *Server) updateBlueprint(patch bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
		c, err := s.catalogFor(a, true, true)
		if err != nil {
			return err
		}
		data, err := readBody(w, r, s.maxBody)
		if err != nil {
			return err
		}
		// A PATCH body is checked field by field as a PUT body is; the
		// fields it leaves out are kept.
		if _, err := decodeBlueprint(data); err != nil {
			return err
		}
		bp, err := c.UpdateBlueprint(r.Context(), r.PathValue("bp"), data, patch, a.ID)
		if err != nil {
			return catalogErr(err)
		}
		writeJSON(w, http.StatusOK, ok("blueprint", bp))
		return nil
	}
}

func (s *Server) deleteBlueprint(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, true, true)
	if err != nil {
		return err
	}
	if err := c.DeleteBlueprint(r.Context(), r.PathValue("bp")); err != nil {
		if errors.Is(err, catalog.ErrConflict) {
			return conflict("%s; delete its entities first (DELETE /v1/blueprints/%s/all-entities, with ?delete_blueprint=true to delete the blueprint too)", err, r.PathValue("bp"))
		}
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *Server) deleteAllEntities(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, true)
	if err != nil {
		return err
	}
	withBP, err := queryBool(r, "delete_blueprint")
	if err != nil {
		return err
	}
	if withBP && !authz.CanWriteCatalog(a, true) {
		return forbidden("you may not delete blueprints: Admins and clients with write:blueprints may")
	}
	n, err := c.DeleteAllEntities(r.Context(), r.PathValue("bp"), withBP, catalog.Origin{Actor: a.ID})
	if err != nil {
		return catalogErr(fmt.Errorf("after deleting %d entities: %w", n, err))
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "deletedEntities": n})
	return nil
}

func (s *Server) listEntities(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, false)
	if err != nil {
		return err
	}
	es, err := c.ListEntities(r.Context(), r.PathValue("bp"))
	if err != nil {
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, ok("entities", es))
	return nil
}

// decodeEntity decodes an entity body strictly.
func decodeEntity(data []byte) (catalog.EntityInput, error) {
	var in catalog.EntityInput
	err := decodeBody(data, &in)
	return in, err
}

// createEntity is POST /v1/blueprints/{bp}/entities with Port's upsert and
// merge options: without upsert an existing entity is a 409; with upsert
// it is replaced, with merge too it is merged into.
func (s *Server) createEntity(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, true)
	if err != nil {
		return err
	}
	upsert, err := queryBool(r, "upsert")
	if err != nil {
		return err
	}
	merge, err := queryBool(r, "merge")
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	in, err := decodeEntity(data)
	if err != nil {
		return err
	}
	mode := catalog.Create
	switch {
	case upsert && merge:
		mode = catalog.UpsertMerge
	case upsert:
		mode = catalog.Upsert
	case merge:
		return invalidField("merge", "applies only with upsert=true")
	}
	e, err := c.WriteEntity(r.Context(), r.PathValue("bp"), in, mode, catalog.Origin{Actor: a.ID})
	if err != nil {
		return existsHint(err, "?upsert=true replaces it, ?upsert=true&merge=true merges into it")
	}
	writeJSON(w, http.StatusCreated, ok("entity", e))
	return nil
}

func (s *Server) getEntity(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, false)
	if err != nil {
		return err
	}
	e, err := c.GetEntity(r.Context(), r.PathValue("bp"), r.PathValue("id"))
	if err != nil {
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, ok("entity", e))
	return nil
}

// changeEntity is PUT (replace) or PATCH (merge) of an existing entity.
func (s *Server) changeEntity(mode catalog.Mode) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
		c, err := s.catalogFor(a, false, true)
		if err != nil {
			return err
		}
		data, err := readBody(w, r, s.maxBody)
		if err != nil {
			return err
		}
		in, err := decodeEntity(data)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if in.Identifier != "" && in.Identifier != id {
			return schemaMismatch(invalidField("identifier", "must be %q, the entity in the path (an entity cannot be renamed)", id))
		}
		in.Identifier = id
		e, err := c.WriteEntity(r.Context(), r.PathValue("bp"), in, mode, catalog.Origin{Actor: a.ID})
		if err != nil {
			return catalogErr(err)
		}
		writeJSON(w, http.StatusOK, ok("entity", e))
		return nil
	}
}

func (s *Server) deleteEntity(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, true)
	if err != nil {
		return err
	}
	if err := c.DeleteEntity(r.Context(), r.PathValue("bp"), r.PathValue("id"), catalog.Origin{Actor: a.ID}); err != nil {
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *Server) searchEntities(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	c, err := s.catalogFor(a, false, false)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var q catalog.Query
	if err := decodeBody(data, &q); err != nil {
		return err
	}
	// decodeBody keeps numbers as json.Number; the matcher reads them.
	es, err := c.Search(r.Context(), q)
	if err != nil {
		return catalogErr(err)
	}
	writeJSON(w, http.StatusOK, ok("entities", es))
	return nil
}
