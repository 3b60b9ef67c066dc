// Package upsert is the UPSERT_ENTITY node: it creates an entity of the
// catalog, or merges the mapping into the entity that exists, with the same
// validation as the API, and outputs {"response": {"data": <the entity as
// stored>}}. The entity's createdBy / updatedBy is the run's identifier, so
// that the catalog shows which run wrote it.
package upsert

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Catalog is what the node needs of the catalog (*catalog.Service).
type Catalog interface {
	WriteEntity(ctx context.Context, bp string, in catalog.EntityInput, mode catalog.Mode, o catalog.Origin) (catalog.Entity, error)
}

// Executor runs UPSERT_ENTITY nodes.
type Executor struct {
	Catalog Catalog
}

// New returns the executor over c.
func New(c Catalog) *Executor { return &Executor{Catalog: c} }

// Execute writes the entity the rendered mapping describes.
func (x *Executor) Execute(ctx context.Context, req *node.Request) (node.Result, error) {
	bp, ok := req.Config["blueprintIdentifier"].(string)
	if !ok || bp == "" {
		return node.Result{}, errors.New("config.blueprintIdentifier: must be a non-empty string")
	}
	m, ok := req.Config["mapping"].(map[string]any)
	if !ok {
		return node.Result{}, errors.New("config.mapping: must be an object")
	}
	in, err := decodeMapping(m)
	if err != nil {
		return node.Result{}, err
	}
	e, err := x.Catalog.WriteEntity(ctx, bp, in, catalog.UpsertMerge, catalog.Origin{Actor: req.RunID, RunID: req.RunID, NodeRunID: req.NodeRunID})
	var ve *catalog.ValidationError
	switch {
	case errors.As(err, &ve):
		msgs := make([]string, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			msgs = append(msgs, "config.mapping."+p.String())
			if req.Log != nil {
				req.Log(node.LevelError, "config.mapping."+p.String())
			}
		}
		return node.Result{}, fmt.Errorf("the entity does not match blueprint %s (422): %s", bp, strings.Join(msgs, "; "))
	case err != nil:
		return node.Result{}, fmt.Errorf("upsert an entity of blueprint %s: %w", bp, err)
	}
	if req.Log != nil {
		req.Log(node.LevelInfo, fmt.Sprintf("upserted entity %s of blueprint %s", e.Identifier, bp))
	}
	return node.Result{Output: map[string]any{"response": map[string]any{"data": e}}}, nil
}

// decodeMapping reads the rendered mapping; each bad field is reported
// with its path.
func decodeMapping(m map[string]any) (catalog.EntityInput, error) {
	var in catalog.EntityInput
	str := func(key string) (*string, error) {
		v, set := m[key]
		if !set || v == nil {
			return nil, nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("config.mapping.%s: must be a string", key)
		}
		return &s, nil
	}
	id, err := str("identifier")
	if err != nil {
		return in, err
	}
	if id != nil {
		in.Identifier = *id
	}
	if in.Title, err = str("title"); err != nil {
		return in, err
	}
	if in.Icon, err = str("icon"); err != nil {
		return in, err
	}
	in.Team = m["team"]
	for _, key := range []string{"properties", "relations"} {
		v, set := m[key]
		if !set || v == nil {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return in, fmt.Errorf("config.mapping.%s: must be an object", key)
		}
		if key == "properties" {
			in.Properties = obj
		} else {
			in.Relations = obj
		}
	}
	return in, nil
}

// Register registers the executor for UPSERT_ENTITY; with a nil catalog
// (a store without one) nothing is registered and such nodes fail saying
// that no executor is available.
func Register(r *node.Registry, c *catalog.Service) {
	if c != nil {
		r.Register(workflow.TypeUpsertEntity, New(c))
	}
}
