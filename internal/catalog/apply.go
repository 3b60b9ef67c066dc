package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/sluice-run/sluice/internal/store"
)

// Manifest is what `sluice catalog apply` reads: blueprints and entities
// (each naming its blueprint), in JSON or YAML.
type Manifest struct {
	Blueprints []Blueprint   `json:"blueprints"`
	Entities   []EntityInput `json:"entities"`
	paths      manifestPaths // where each item is in its file
}

type manifestPaths struct {
	blueprints []string
	entities   []string
}

// ParseManifest reads a manifest named name (for the paths of problems):
// a JSON or YAML document that is either an object with "blueprints" and
// "entities" lists, or one blueprint (an object with "schema"). Problems
// name the file and the path in it.
func ParseManifest(name string, data []byte) (Manifest, error) {
	bad := func(path, msg string) error {
		return &ValidationError{What: "manifest", Problems: []Problem{{Path: name + ": " + path, Message: msg}}}
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Manifest{}, bad("", "neither JSON nor YAML: "+err.Error())
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return Manifest{}, bad("", "holds something JSON cannot (a map with keys other than strings?): "+err.Error())
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return Manifest{}, bad("", "must be an object: {blueprints: [...], entities: [...]} or one blueprint")
	}
	var m Manifest
	if _, isBlueprint := top["schema"]; isBlueprint {
		var bp Blueprint
		if err := strictJSON(js, &bp); err != nil {
			return Manifest{}, bad("", "a blueprint that does not decode: "+err.Error())
		}
		m.Blueprints = []Blueprint{bp}
		m.paths.blueprints = []string{name}
		return m, nil
	}
	for k := range top {
		if k != "blueprints" && k != "entities" {
			return Manifest{}, bad(k, `unknown field; a manifest holds "blueprints" and "entities" (or is one blueprint, with "schema")`)
		}
	}
	var raw struct {
		Blueprints []json.RawMessage `json:"blueprints"`
		Entities   []json.RawMessage `json:"entities"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return Manifest{}, bad("", "blueprints and entities must be lists of objects: "+err.Error())
	}
	for i, b := range raw.Blueprints {
		var bp Blueprint
		if err := strictJSON(b, &bp); err != nil {
			return Manifest{}, bad(fmt.Sprintf("blueprints[%d]", i), "does not decode: "+err.Error())
		}
		m.Blueprints = append(m.Blueprints, bp)
		m.paths.blueprints = append(m.paths.blueprints, fmt.Sprintf("%s: blueprints[%d]", name, i))
	}
	for i, e := range raw.Entities {
		var in EntityInput
		if err := strictJSON(e, &in); err != nil {
			return Manifest{}, bad(fmt.Sprintf("entities[%d]", i), "does not decode: "+err.Error())
		}
		m.Entities = append(m.Entities, in)
		m.paths.entities = append(m.paths.entities, fmt.Sprintf("%s: entities[%d]", name, i))
	}
	return m, nil
}

// strictJSON decodes b into v, refusing unknown fields.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Join appends o's items to m.
func (m *Manifest) Join(o Manifest) {
	m.Blueprints = append(m.Blueprints, o.Blueprints...)
	m.Entities = append(m.Entities, o.Entities...)
	m.paths.blueprints = append(m.paths.blueprints, o.paths.blueprints...)
	m.paths.entities = append(m.paths.entities, o.paths.entities...)
}

// Change is what Apply did to one blueprint or entity.
type Change struct {
	Kind       string // "blueprint" or "entity"
	Blueprint  string
	Identifier string // the entity's; "" for a blueprint
	Action     string // "created", "updated" or "unchanged"
}

func (c Change) String() string {
	if c.Kind == "blueprint" {
		return fmt.Sprintf("blueprint %s %s", c.Blueprint, c.Action)
	}
	return fmt.Sprintf("entity %s/%s %s", c.Blueprint, c.Identifier, c.Action)
}

// path returns where item i of kind is in its file, or a path of its own.
func (p manifestPaths) path(kind string, i int) string {
	l := p.blueprints
	if kind == "entities" {
		l = p.entities
	}
	if i < len(l) {
		return l[i]
	}
	return fmt.Sprintf("%s[%d]", kind, i)
}

// Apply creates or updates every blueprint, then every entity, of m, in an
// order where each relation's target comes first. It is idempotent: an
// item equal to what is stored is left as it is ("unchanged"), so applying
// a file again changes nothing and fires no event. An entity is written
// whole (the file holds all of it, as a PUT). Everything is validated
// before anything is written: a *ValidationError lists every problem, each
// with the item's place in its file, and leaves the store as it was.
func (s *Service) Apply(ctx context.Context, m Manifest, o Origin) ([]Change, error) {
	bps, ents, err := s.planApply(ctx, m)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, bp := range bps {
		action, err := s.applyBlueprint(ctx, bp, o.Actor)
		if err != nil {
			return out, err
		}
		out = append(out, Change{Kind: "blueprint", Blueprint: bp.Identifier, Action: action})
	}
	for _, e := range ents {
		action, err := s.applyEntity(ctx, e.Blueprint, e, o)
		if err != nil {
			return out, err
		}
		out = append(out, Change{Kind: "entity", Blueprint: e.Blueprint, Identifier: e.Identifier, Action: action})
	}
	return out, nil
}

// planApply validates m whole and returns its blueprints and entities in
// the order to write them.
func (s *Service) planApply(ctx context.Context, m Manifest) ([]Blueprint, []EntityInput, error) {
	var probs []Problem
	at := func(kind string, i int, p Problem) {
		path := m.paths.path(kind, i)
		if p.Path != "" {
			path += "." + p.Path
		}
		probs = append(probs, Problem{Path: path, Message: p.Message})
	}
	// Blueprints: their own fields, duplicates, relation targets.
	fileBP := map[string]*compiled{}
	for i, bp := range m.Blueprints {
		c, ps := checkBlueprint(bp)
		for _, p := range ps {
			at("blueprints", i, p)
		}
		if _, dup := fileBP[bp.Identifier]; dup {
			at("blueprints", i, Problem{Path: "identifier", Message: fmt.Sprintf("blueprint %q is given twice", bp.Identifier)})
		}
		fileBP[bp.Identifier] = c
	}
	compiledOf := func(id string) (*compiled, error) {
		if c, ok := fileBP[id]; ok {
			return c, nil
		}
		sb, err := s.st.GetBlueprint(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s.compiledFor(sb)
	}
	for i, bp := range m.Blueprints {
		for _, n := range slices.Sorted(maps.Keys(bp.Relations)) {
			t := bp.Relations[n].Target
			if c, err := compiledOf(t); err != nil {
				return nil, nil, err
			} else if c == nil && t != bp.Identifier {
				at("blueprints", i, Problem{Path: joinPath("relations", n) + ".target", Message: fmt.Sprintf("no blueprint %q, in the store or the file", t)})
			}
		}
	}
	// Entities: identifier, blueprint, properties and relations.
	type key struct{ bp, id string }
	fileEnt := map[key]int{}
	for i, in := range m.Entities {
		if in.Blueprint == "" {
			at("entities", i, Problem{Path: "blueprint", Message: "is required: the identifier of the entity's blueprint"})
			continue
		}
		if in.Identifier == "" {
			at("entities", i, Problem{Path: "identifier", Message: "is required, so that applying the file again updates the same entity"})
			continue
		}
		if p := checkEntityID("identifier", in.Identifier); p != nil {
			at("entities", i, *p)
			continue
		}
		k := key{in.Blueprint, in.Identifier}
		if _, dup := fileEnt[k]; dup {
			at("entities", i, Problem{Path: "identifier", Message: fmt.Sprintf("entity %s/%s is given twice", in.Blueprint, in.Identifier)})
		}
		fileEnt[k] = i
	}
	deps := make([][]int, len(m.Entities)) // entity i must come after deps[i]
	for i, in := range m.Entities {
		if in.Blueprint == "" || checkEntityID("identifier", in.Identifier) != nil {
			continue
		}
		c, err := compiledOf(in.Blueprint)
		if err != nil {
			return nil, nil, err
		}
		if c == nil {
			at("entities", i, Problem{Path: "blueprint", Message: fmt.Sprintf("no blueprint %q, in the store or the file", in.Blueprint)})
			continue
		}
		if _, p := teamList(in.Team); p != nil {
			at("entities", i, *p)
		}
		props := maps.Clone(in.Properties)
		if props == nil {
			props = map[string]any{}
		}
		c.defaults(props)
		for _, p := range c.validateProperties(props) {
			at("entities", i, p)
		}
		refs, ps := c.checkRelations(maps.Clone(in.Relations))
		for _, p := range ps {
			at("entities", i, p)
		}
		for _, r := range refs {
			if j, ok := fileEnt[key{r.Blueprint, r.Identifier}]; ok {
				if j != i {
					deps[i] = append(deps[i], j)
				}
				continue
			}
			if _, err := s.st.GetEntity(ctx, r.Blueprint, r.Identifier); errors.Is(err, store.ErrNotFound) {
				at("entities", i, Problem{Path: "relations", Message: fmt.Sprintf("no entity %s/%s, in the store or the file", r.Blueprint, r.Identifier)})
			} else if err != nil {
				return nil, nil, err
			}
		}
	}
	// Blueprint order: relation targets first.
	bdeps := make([][]int, len(m.Blueprints))
	index := map[string]int{}
	for i, bp := range m.Blueprints {
		index[bp.Identifier] = i
	}
	for i, bp := range m.Blueprints {
		for _, r := range bp.Relations {
			if j, ok := index[r.Target]; ok && j != i {
				bdeps[i] = append(bdeps[i], j)
			}
		}
	}
	border, bcycle := topoOrder(bdeps)
	if bcycle != nil {
		var ids []string
		for _, i := range bcycle {
			ids = append(ids, m.Blueprints[i].Identifier)
		}
		probs = append(probs, Problem{Path: m.paths.path("blueprints", bcycle[0]), Message: "the relations of blueprints " + strings.Join(ids, ", ") + " form a cycle; create them without those relations first, then add them"})
	}
	eorder, ecycle := topoOrder(deps)
	if ecycle != nil {
		var ids []string
		for _, i := range ecycle {
			ids = append(ids, m.Entities[i].Blueprint+"/"+m.Entities[i].Identifier)
		}
		probs = append(probs, Problem{Path: m.paths.path("entities", ecycle[0]), Message: "the relations of entities " + strings.Join(ids, ", ") + " form a cycle; apply them without one of those relations first, then with it"})
	}
	if len(probs) > 0 {
		return nil, nil, &ValidationError{What: "manifest", Problems: probs}
	}
	var bps []Blueprint
	for _, i := range border {
		bps = append(bps, m.Blueprints[i])
	}
	var ents []EntityInput
	for _, i := range eorder {
		ents = append(ents, m.Entities[i])
	}
	return bps, ents, nil
}

// topoOrder returns the indexes 0..len(deps)-1 with every index after
// those it depends on, keeping the given order otherwise; on a cycle it
// returns the indexes left, which include one.
func topoOrder(deps [][]int) (order, cycle []int) {
	done := make([]bool, len(deps))
	for len(order) < len(deps) {
		progress := false
		for i := range deps {
			if done[i] {
				continue
			}
			ready := true
			for _, j := range deps[i] {
				ready = ready && done[j]
			}
			if ready {
				done[i] = true
				order = append(order, i)
				progress = true
			}
		}
		if !progress {
			for i := range deps {
				if !done[i] {
					cycle = append(cycle, i)
				}
			}
			return order, cycle
		}
	}
	return order, nil
}

// applyBlueprint creates bp or replaces the stored one when it differs.
func (s *Service) applyBlueprint(ctx context.Context, bp Blueprint, by string) (string, error) {
	cur, err := s.st.GetBlueprint(ctx, bp.Identifier)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.CreateBlueprint(ctx, bp, by); err != nil {
			return "", err
		}
		return "created", nil
	}
	if err != nil {
		return "", fmt.Errorf("blueprint %s: %w", bp.Identifier, err)
	}
	stored, err := fromStoredBlueprint(cur)
	if err != nil {
		return "", err
	}
	was, err := definitionOf(stored)
	if err != nil {
		return "", err
	}
	want, err := definitionOf(bp)
	if err != nil {
		return "", err
	}
	if bytes.Equal(was, want) {
		return "unchanged", nil
	}
	if _, err := s.UpdateBlueprint(ctx, bp.Identifier, want, false, by); err != nil {
		return "", err
	}
	return "updated", nil
}

// applyEntity writes in whole (Upsert), unless it equals the stored entity.
func (s *Service) applyEntity(ctx context.Context, bp string, in EntityInput, o Origin) (string, error) {
	for range 5 {
		e, err := s.writeOnce(ctx, bp, in, upsertIfChanged, o, 1)
		switch {
		case errors.Is(err, errRetry):
			continue
		case errors.Is(err, errUnchanged):
			return "unchanged", nil
		case err != nil:
			return "", err
		case e.CreatedAt.Equal(e.UpdatedAt):
			return "created", nil
		default:
			return "updated", nil
		}
	}
	return "", fmt.Errorf("%w: entity %s of blueprint %s kept changing; try again", ErrConflict, in.Identifier, bp)
}
