package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// MaxDepth is how long a chain of runs, each started by a catalog change
// that the previous one made, may grow: an event of a greater depth starts
// no run (package autostart logs a warning on the node that made it).
const MaxDepth = 10

// Origin says who or what changes the catalog.
type Origin struct {
	// Actor is recorded as createdBy / updatedBy.
	Actor string
	// RunID and NodeRunID name the run and node run of an UPSERT_ENTITY
	// node; "" for a change through the API.
	RunID     string
	NodeRunID string
}

// Mode says how an entity write treats an entity that exists.
type Mode int

// Entity write modes.
const (
	// Create fails with ErrExists when the entity exists.
	Create Mode = iota
	// Upsert creates the entity or replaces it entirely.
	Upsert
	// UpsertMerge creates the entity or merges the input into it: the
	// given properties and relations replace theirs, others stay.
	UpsertMerge
	// Replace replaces an existing entity entirely (ErrNotFound when it
	// is missing).
	Replace
	// Patch merges the input into an existing entity (ErrNotFound when
	// it is missing).
	Patch
	// upsertIfChanged is Upsert that writes nothing (and answers
	// errUnchanged) when the entity would be stored as it is (Apply).
	upsertIfChanged
)

// errUnchanged is what writeOnce answers in mode upsertIfChanged when the
// entity is already stored as it would write it.
var errUnchanged = errors.New("unchanged")

// Service is the catalog over a store. It is safe for concurrent use.
type Service struct {
	st  store.CatalogStore
	now func() time.Time
	// onEvent is called after a committed change wrote an event.
	onEvent func()

	mu       sync.Mutex
	compiled map[string]*compiled // blueprint identifier@updatedAt → compiled
}

// Options configure a Service.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnEvent, when set, is called after each committed change that
	// wrote a catalog event (the server wakes its event loop).
	OnEvent func()
}

// New returns the catalog over st.
func New(st store.CatalogStore, opts Options) *Service {
	s := &Service{st: st, now: opts.Now, onEvent: opts.OnEvent, compiled: map[string]*compiled{}}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// SetOnEvent sets the function called after each committed change that
// wrote an event. Call it before the service is used concurrently.
func (s *Service) SetOnEvent(f func()) { s.onEvent = f }

// Store returns the store the catalog keeps its data in.
func (s *Service) Store() store.CatalogStore { return s.st }

// mapStoreErr turns the store's sentinels into the catalog's, without the
// store's own wording (callers add what was not found).
func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrExists):
		return ErrExists
	case errors.Is(err, store.ErrConflict):
		return ErrConflict
	}
	return err
}

// --- blueprints

func fromStoredBlueprint(b store.Blueprint) (Blueprint, error) {
	var bp Blueprint
	if err := json.Unmarshal(b.Definition, &bp); err != nil {
		return Blueprint{}, fmt.Errorf("stored blueprint %s does not decode: %w", b.Identifier, err)
	}
	c, u := b.CreatedAt, b.UpdatedAt
	bp.CreatedAt, bp.UpdatedAt, bp.CreatedBy, bp.UpdatedBy = &c, &u, b.CreatedBy, b.UpdatedBy
	if bp.Schema.Properties == nil {
		bp.Schema.Properties = map[string]map[string]any{}
	}
	return bp, nil
}

func definitionOf(bp Blueprint) ([]byte, error) {
	bp.CreatedAt, bp.UpdatedAt, bp.CreatedBy, bp.UpdatedBy = nil, nil, "", ""
	if bp.Schema.Properties == nil {
		bp.Schema.Properties = map[string]map[string]any{}
	}
	return json.Marshal(bp)
}

// compiledFor returns the compiled form of a stored blueprint, cached per
// version.
func (s *Service) compiledFor(b store.Blueprint) (*compiled, error) {
	key := b.Identifier + "@" + b.UpdatedAt.Format(time.RFC3339Nano)
	s.mu.Lock()
	c := s.compiled[key]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	bp, err := fromStoredBlueprint(b)
	if err != nil {
		return nil, err
	}
	c, probs := checkBlueprint(bp)
	if len(probs) > 0 {
		return nil, fmt.Errorf("stored blueprint %s no longer validates: %s", b.Identifier, probs[0])
	}
	s.mu.Lock()
	if len(s.compiled) > 1024 {
		clear(s.compiled)
	}
	s.compiled[key] = c
	s.mu.Unlock()
	return c, nil
}

// checkTargets reports relations whose target blueprint does not exist.
func (s *Service) checkTargets(ctx context.Context, bp Blueprint) ([]Problem, error) {
	var probs []Problem
	names := slices.Sorted(maps.Keys(bp.Relations))
	for _, n := range names {
		t := bp.Relations[n].Target
		if t == bp.Identifier {
			continue
		}
		if _, err := s.st.GetBlueprint(ctx, t); errors.Is(err, store.ErrNotFound) {
			probs = append(probs, Problem{Path: joinPath("relations", n) + ".target", Message: fmt.Sprintf("no blueprint %q", t)})
		} else if err != nil {
			return nil, err
		}
	}
	return probs, nil
}

// CreateBlueprint validates and stores a new blueprint.
func (s *Service) CreateBlueprint(ctx context.Context, bp Blueprint, by string) (Blueprint, error) {
	if _, probs := checkBlueprint(bp); len(probs) > 0 {
		return Blueprint{}, &ValidationError{What: "blueprint", Problems: probs}
	}
	probs, err := s.checkTargets(ctx, bp)
	if err != nil {
		return Blueprint{}, err
	}
	if len(probs) > 0 {
		return Blueprint{}, &ValidationError{What: "blueprint", Problems: probs}
	}
	def, err := definitionOf(bp)
	if err != nil {
		return Blueprint{}, err
	}
	now := s.now().UTC()
	if err := s.st.CreateBlueprint(ctx, store.Blueprint{Identifier: bp.Identifier, Definition: def, CreatedBy: by, UpdatedBy: by, CreatedAt: now, UpdatedAt: now}); err != nil {
		return Blueprint{}, fmt.Errorf("blueprint %s: %w", bp.Identifier, mapStoreErr(err))
	}
	return s.GetBlueprint(ctx, bp.Identifier)
}

// UpdateBlueprint replaces a blueprint (PUT), or, with patch, merges the
// given top-level fields into it (PATCH: each field given replaces the
// stored one). Entities already stored are not validated again.
func (s *Service) UpdateBlueprint(ctx context.Context, id string, body []byte, patch bool, by string) (Blueprint, error) {
	for range 5 {
		cur, err := s.st.GetBlueprint(ctx, id)
		if err != nil {
			return Blueprint{}, fmt.Errorf("blueprint %s: %w", id, mapStoreErr(err))
		}
		var bp Blueprint
		if patch {
			merged := map[string]json.RawMessage{}
			if err := json.Unmarshal(cur.Definition, &merged); err != nil {
				return Blueprint{}, err
			}
			var p map[string]json.RawMessage
			if err := json.Unmarshal(body, &p); err != nil {
				return Blueprint{}, &ValidationError{What: "blueprint", Problems: []Problem{{Message: "the body must be a JSON object"}}}
			}
			maps.Copy(merged, p)
			b, _ := json.Marshal(merged)
			if err := json.Unmarshal(b, &bp); err != nil {
				return Blueprint{}, &ValidationError{What: "blueprint", Problems: []Problem{{Message: "the merged blueprint does not decode: " + err.Error()}}}
			}
		} else if err := json.Unmarshal(body, &bp); err != nil {
			return Blueprint{}, &ValidationError{What: "blueprint", Problems: []Problem{{Message: "the body does not decode: " + err.Error()}}}
		}
		if bp.Identifier == "" {
			bp.Identifier = id
		}
		if bp.Identifier != id {
			return Blueprint{}, &ValidationError{What: "blueprint", Problems: []Problem{{Path: "identifier", Message: fmt.Sprintf("must be %q, the blueprint in the path (a blueprint cannot be renamed)", id)}}}
		}
		if _, probs := checkBlueprint(bp); len(probs) > 0 {
			return Blueprint{}, &ValidationError{What: "blueprint", Problems: probs}
		}
		probs, err := s.checkTargets(ctx, bp)
		if err != nil {
			return Blueprint{}, err
		}
		if len(probs) > 0 {
			return Blueprint{}, &ValidationError{What: "blueprint", Problems: probs}
		}
		def, err := definitionOf(bp)
		if err != nil {
			return Blueprint{}, err
		}
		now := s.now().UTC()
		if !now.After(cur.UpdatedAt) {
			now = cur.UpdatedAt.Add(time.Microsecond)
		}
		err = s.st.UpdateBlueprint(ctx, store.Blueprint{Identifier: id, Definition: def, UpdatedBy: by, UpdatedAt: now}, cur.UpdatedAt)
		if errors.Is(err, store.ErrConflict) {
			continue // changed meanwhile: apply to the new state
		}
		if err != nil {
			return Blueprint{}, mapStoreErr(err)
		}
		return s.GetBlueprint(ctx, id)
	}
	return Blueprint{}, fmt.Errorf("%w: blueprint %s kept changing; try again", ErrConflict, id)
}

// GetBlueprint returns a blueprint.
func (s *Service) GetBlueprint(ctx context.Context, id string) (Blueprint, error) {
	b, err := s.st.GetBlueprint(ctx, id)
	if err != nil {
		return Blueprint{}, fmt.Errorf("blueprint %s: %w", id, mapStoreErr(err))
	}
	return fromStoredBlueprint(b)
}

// ListBlueprints returns every blueprint.
func (s *Service) ListBlueprints(ctx context.Context) ([]Blueprint, error) {
	bs, err := s.st.ListBlueprints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Blueprint, 0, len(bs))
	for _, b := range bs {
		bp, err := fromStoredBlueprint(b)
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	return out, nil
}

// DeleteBlueprint removes a blueprint: ErrConflict while it has entities
// or another blueprint's relation targets it.
func (s *Service) DeleteBlueprint(ctx context.Context, id string) error {
	bs, err := s.ListBlueprints(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Identifier == id {
			continue
		}
		for n, r := range b.Relations {
			if r.Target == id {
				return fmt.Errorf("%w: relation %s of blueprint %s targets blueprint %s", ErrConflict, n, b.Identifier, id)
			}
		}
	}
	if err := s.st.DeleteBlueprint(ctx, id); errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: blueprint %s has entities", ErrConflict, id)
	} else if err != nil {
		return fmt.Errorf("blueprint %s: %w", id, mapStoreErr(err))
	}
	return nil
}

// DeleteAllEntities deletes every entity of a blueprint, each with its
// DELETE event, and then, with deleteBlueprint, the blueprint. It returns
// how many entities it deleted. An entity another blueprint's entity
// relates to stops it with ErrConflict (what was deleted stays deleted).
func (s *Service) DeleteAllEntities(ctx context.Context, bp string, deleteBlueprint bool, o Origin) (int, error) {
	if _, err := s.st.GetBlueprint(ctx, bp); err != nil {
		return 0, fmt.Errorf("blueprint %s: %w", bp, mapStoreErr(err))
	}
	deleted := 0
	for {
		es, err := s.st.ListEntities(ctx, bp)
		if err != nil {
			return deleted, err
		}
		if len(es) == 0 {
			break
		}
		progress := false
		var lastErr error
		for _, e := range es {
			err := s.DeleteEntity(ctx, bp, e.Identifier, o)
			switch {
			case err == nil:
				deleted++
				progress = true
			case errors.Is(err, ErrNotFound):
			default:
				lastErr = err
			}
		}
		if !progress {
			return deleted, lastErr
		}
	}
	if deleteBlueprint {
		return deleted, s.DeleteBlueprint(ctx, bp)
	}
	return deleted, nil
}

// --- entities

// Public returns the entity as the API shows it.
func Public(e store.Entity) (Entity, error) {
	var d data
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return Entity{}, fmt.Errorf("stored entity %s of blueprint %s does not decode: %w", e.Identifier, e.Blueprint, err)
	}
	out := Entity{Identifier: e.Identifier, Title: d.Title, Icon: d.Icon, Blueprint: e.Blueprint, Team: d.Team, Properties: d.Properties, Relations: d.Relations,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, CreatedBy: e.CreatedBy, UpdatedBy: e.UpdatedBy}
	if out.Team == nil {
		out.Team = []string{}
	}
	if out.Properties == nil {
		out.Properties = map[string]any{}
	}
	if out.Relations == nil {
		out.Relations = map[string]any{}
	}
	return out, nil
}

// GetEntity returns an entity.
func (s *Service) GetEntity(ctx context.Context, bp, id string) (Entity, error) {
	e, err := s.st.GetEntity(ctx, bp, id)
	if err != nil {
		return Entity{}, fmt.Errorf("entity %s of blueprint %s: %w", id, bp, mapStoreErr(err))
	}
	return Public(e)
}

// ListEntities returns the entities of a blueprint (ErrNotFound when the
// blueprint is missing).
func (s *Service) ListEntities(ctx context.Context, bp string) ([]Entity, error) {
	if _, err := s.st.GetBlueprint(ctx, bp); err != nil {
		return nil, fmt.Errorf("blueprint %s: %w", bp, mapStoreErr(err))
	}
	return s.list(ctx, bp)
}

func (s *Service) list(ctx context.Context, bp string) ([]Entity, error) {
	es, err := s.st.ListEntities(ctx, bp)
	if err != nil {
		return nil, err
	}
	out := make([]Entity, 0, len(es))
	for _, e := range es {
		p, err := Public(e)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// newEntityID is a generated identifier for an entity sent without one.
func newEntityID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i, x := range b {
		b[i] = alphabet[int(x)%len(alphabet)]
	}
	return "e_" + string(b[:])
}

// WriteEntity creates, replaces or merges an entity of blueprint bp,
// validated against the blueprint (a *ValidationError lists every
// problem), and records the change's catalog event in the same
// transaction.
func (s *Service) WriteEntity(ctx context.Context, bp string, in EntityInput, mode Mode, o Origin) (Entity, error) {
	if in.Blueprint != "" && in.Blueprint != bp {
		return Entity{}, &ValidationError{What: "entity", Problems: []Problem{{Path: "blueprint", Message: fmt.Sprintf("must be %q, the blueprint in the path", bp)}}}
	}
	if in.Identifier == "" && (mode == Create || mode == Upsert || mode == UpsertMerge) {
		in.Identifier = newEntityID()
	}
	if p := checkEntityID("identifier", in.Identifier); p != nil {
		return Entity{}, &ValidationError{What: "entity", Problems: []Problem{*p}}
	}
	depth := 1
	if o.RunID != "" {
		d, err := s.st.RunDepth(ctx, o.RunID)
		if err != nil {
			return Entity{}, err
		}
		depth = d + 1
	}
	for range 5 {
		e, err := s.writeOnce(ctx, bp, in, mode, o, depth)
		if errors.Is(err, errRetry) {
			continue
		}
		return e, err
	}
	return Entity{}, fmt.Errorf("%w: entity %s of blueprint %s kept changing; try again", ErrConflict, in.Identifier, bp)
}

var errRetry = errors.New("changed meanwhile")

func (s *Service) writeOnce(ctx context.Context, bp string, in EntityInput, mode Mode, o Origin, depth int) (Entity, error) {
	sb, err := s.st.GetBlueprint(ctx, bp)
	if err != nil {
		return Entity{}, fmt.Errorf("blueprint %s: %w", bp, mapStoreErr(err))
	}
	c, err := s.compiledFor(sb)
	if err != nil {
		return Entity{}, err
	}
	cur, err := s.st.GetEntity(ctx, bp, in.Identifier)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Entity{}, err
	}
	switch {
	case exists && mode == Create:
		return Entity{}, fmt.Errorf("%w: entity %s of blueprint %s", ErrExists, in.Identifier, bp)
	case !exists && (mode == Replace || mode == Patch):
		return Entity{}, fmt.Errorf("%w: entity %s of blueprint %s", ErrNotFound, in.Identifier, bp)
	}
	var before *Entity
	d := data{Properties: map[string]any{}, Relations: map[string]any{}}
	merge := mode == UpsertMerge || mode == Patch
	if exists {
		b, err := Public(cur)
		if err != nil {
			return Entity{}, err
		}
		before = &b
		if merge {
			d = data{Title: b.Title, Icon: b.Icon, Team: b.Team, Properties: maps.Clone(b.Properties), Relations: maps.Clone(b.Relations)}
		}
	}
	var probs []Problem
	if in.Title != nil {
		d.Title = *in.Title
	}
	if in.Icon != nil {
		d.Icon = *in.Icon
	}
	if in.Team != nil || !merge {
		team, p := teamList(in.Team)
		if p != nil {
			probs = append(probs, *p)
		}
		d.Team = team
	}
	maps.Copy(d.Properties, in.Properties)
	if !exists || !merge {
		c.defaults(d.Properties)
	}
	maps.Copy(d.Relations, in.Relations)
	probs = append(probs, c.validateProperties(d.Properties)...)
	refs, rprobs := c.checkRelations(d.Relations)
	probs = append(probs, rprobs...)
	if len(probs) > 0 {
		return Entity{}, &ValidationError{What: "entity", Problems: probs}
	}
	// Store the relations in their canonical form.
	now := s.now().UTC()
	se := store.Entity{Blueprint: bp, Identifier: in.Identifier, CreatedBy: o.Actor, UpdatedBy: o.Actor, CreatedAt: now, UpdatedAt: now}
	w := store.EntityWrite{Refs: refs}
	if exists {
		se.CreatedAt, se.CreatedBy = cur.CreatedAt, cur.CreatedBy
		if !now.After(cur.UpdatedAt) {
			se.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond)
		}
		w.IfUpdatedAt = cur.UpdatedAt
	}
	if se.Data, err = json.Marshal(d); err != nil {
		return Entity{}, fmt.Errorf("encode entity: %w", err)
	}
	if exists && mode == upsertIfChanged && bytes.Equal(se.Data, cur.Data) {
		return *before, errUnchanged
	}
	for _, t := range c.timers(d.Properties, now) {
		w.Timers = append(w.Timers, store.EntityTimer{Property: t.property, At: t.at})
	}
	after, err := Public(se)
	if err != nil {
		return Entity{}, err
	}
	ev := &store.CatalogEvent{Action: store.ActionCreate, Blueprint: bp, Entity: in.Identifier, Depth: depth, SourceRun: o.RunID, SourceNode: o.NodeRunID, CreatedAt: now}
	if before != nil {
		ev.Action = store.ActionUpdate
		if ev.Before, err = json.Marshal(before); err != nil {
			return Entity{}, err
		}
	}
	if ev.After, err = json.Marshal(after); err != nil {
		return Entity{}, err
	}
	w.Entity, w.Event = se, ev
	err = s.st.WriteEntity(ctx, w)
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists) && mode != Create:
		return Entity{}, errRetry
	case errors.Is(err, store.ErrNotFound):
		return Entity{}, &ValidationError{What: "entity", Problems: []Problem{{Path: "relations", Message: "a related entity does not exist: " + err.Error()}}}
	case err != nil:
		return Entity{}, fmt.Errorf("entity %s of blueprint %s: %w", in.Identifier, bp, mapStoreErr(err))
	}
	s.notify()
	return after, nil
}

func (s *Service) notify() {
	if s.onEvent != nil {
		s.onEvent()
	}
}

// checkRelations validates an entity's relations against the blueprint's
// and returns the entities they point at.
func (c *compiled) checkRelations(rels map[string]any) ([]store.EntityRef, []Problem) {
	var (
		refs  []store.EntityRef
		probs []Problem
	)
	names := slices.Sorted(maps.Keys(rels))
	for _, n := range names {
		path := joinPath("relations", n)
		def, ok := c.bp.Relations[n]
		if !ok {
			probs = append(probs, Problem{Path: path, Message: fmt.Sprintf("blueprint %s has no relation %q", c.bp.Identifier, n)})
			continue
		}
		switch v := rels[n].(type) {
		case nil:
			if def.Many {
				rels[n] = []any{}
			}
		case string:
			if def.Many {
				probs = append(probs, Problem{Path: path, Message: "is a many relation: must be a list of entity identifiers"})
				continue
			}
			refs = append(refs, store.EntityRef{Blueprint: def.Target, Identifier: v})
		case []any:
			if !def.Many {
				probs = append(probs, Problem{Path: path, Message: "is a single relation: must be one entity identifier or null"})
				continue
			}
			for i, x := range v {
				s, ok := x.(string)
				if !ok || s == "" {
					probs = append(probs, Problem{Path: fmt.Sprintf("%s[%d]", path, i), Message: "must be an entity identifier"})
					continue
				}
				refs = append(refs, store.EntityRef{Blueprint: def.Target, Identifier: s})
			}
		default:
			probs = append(probs, Problem{Path: path, Message: "must be an entity identifier, a list of them, or null"})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(c.bp.Relations)) {
		def := c.bp.Relations[n]
		v, set := rels[n]
		empty := !set || v == nil
		if l, ok := v.([]any); ok && len(l) == 0 {
			empty = true
		}
		if def.Required && empty {
			probs = append(probs, Problem{Path: joinPath("relations", n), Message: "is a required relation"})
		}
	}
	sort.Slice(refs, func(i, j int) bool {
		return refs[i].Blueprint+"/"+refs[i].Identifier < refs[j].Blueprint+"/"+refs[j].Identifier
	})
	return refs, probs
}

// DeleteEntity deletes an entity and records its DELETE event: ErrConflict
// while another entity relates to it.
func (s *Service) DeleteEntity(ctx context.Context, bp, id string, o Origin) error {
	depth := 1
	if o.RunID != "" {
		d, err := s.st.RunDepth(ctx, o.RunID)
		if err != nil {
			return err
		}
		depth = d + 1
	}
	for range 5 {
		cur, err := s.st.GetEntity(ctx, bp, id)
		if err != nil {
			return fmt.Errorf("entity %s of blueprint %s: %w", id, bp, mapStoreErr(err))
		}
		before, err := Public(cur)
		if err != nil {
			return err
		}
		b, err := json.Marshal(before)
		if err != nil {
			return err
		}
		ev := &store.CatalogEvent{Action: store.ActionDelete, Blueprint: bp, Entity: id, Before: b, Depth: depth, SourceRun: o.RunID, SourceNode: o.NodeRunID, CreatedAt: s.now().UTC()}
		err = s.st.WriteEntity(ctx, store.EntityWrite{Entity: store.Entity{Blueprint: bp, Identifier: id}, Delete: true, IfUpdatedAt: cur.UpdatedAt, Event: ev})
		if errors.Is(err, store.ErrConflict) {
			if refs, rerr := s.st.ReferringEntities(ctx, store.EntityRef{Blueprint: bp, Identifier: id}); rerr == nil && len(refs) > 0 {
				return fmt.Errorf("%w: entity %s of blueprint %s relates to entity %s of blueprint %s", ErrConflict, refs[0].Identifier, refs[0].Blueprint, id, bp)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("entity %s of blueprint %s: %w", id, bp, mapStoreErr(err))
		}
		s.notify()
		return nil
	}
	return fmt.Errorf("%w: entity %s of blueprint %s kept changing; try again", ErrConflict, id, bp)
}
