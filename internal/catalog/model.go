// Package catalog is sluice's software catalog, with Port's model:
// blueprints (a JSON Schema of properties and relations to other
// blueprints) and the entities that follow them. Every committed entity
// change writes a catalog event into the store's outbox in the same
// transaction, which the server turns into runs of EVENT_TRIGGER
// workflows (package autostart). The catalog is reached through the API
// (package api) and the UPSERT_ENTITY node (package node/upsert); the
// engine knows nothing of it.
package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Errors of the catalog; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict is a change that does not apply to the current state:
	// deleting a blueprint that has entities, or an entity that others
	// relate to.
	ErrConflict = errors.New("conflict")
)

// Problem is one thing wrong with a blueprint, an entity or a query, at a
// JSON path of the body ("properties.version", "relations.service").
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found; the API answers it with 422
// and the problems as the error's details.
type ValidationError struct {
	What     string // "entity", "blueprint", "search query"
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid " + e.What
	}
	msg := "invalid " + e.What + ": " + e.Problems[0].String()
	if len(e.Problems) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return msg
}

// Blueprint is a blueprint as the API takes and shows it (Port's shape).
type Blueprint struct {
	Identifier  string              `json:"identifier"`
	Title       string              `json:"title,omitempty"`
	Icon        string              `json:"icon,omitempty"`
	Description string              `json:"description,omitempty"`
	Schema      Schema              `json:"schema"`
	Relations   map[string]Relation `json:"relations,omitempty"`
	// Port's computed properties are kept and shown as given; sluice does
	// not compute them (docs/catalog.md).
	CalculationProperties map[string]json.RawMessage `json:"calculationProperties,omitempty"`
	MirrorProperties      map[string]json.RawMessage `json:"mirrorProperties,omitempty"`
	AggregationProperties map[string]json.RawMessage `json:"aggregationProperties,omitempty"`

	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	CreatedBy string     `json:"createdBy,omitempty"`
	UpdatedBy string     `json:"updatedBy,omitempty"`
}

// Schema is a blueprint's properties: Port's subset of JSON Schema.
type Schema struct {
	Properties map[string]map[string]any `json:"properties"`
	Required   []string                  `json:"required,omitempty"`
}

// Relation is a blueprint's relation to another blueprint.
type Relation struct {
	Title    string `json:"title,omitempty"`
	Target   string `json:"target"`
	Required bool   `json:"required"`
	Many     bool   `json:"many"`
}

// Entity is an entity as the API shows it (Port's shape). Relations hold a
// target identifier (or null) for a single relation, a list for a "many"
// one.
type Entity struct {
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Blueprint  string         `json:"blueprint"`
	Team       []string       `json:"team"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
	CreatedBy  string         `json:"createdBy"`
	UpdatedBy  string         `json:"updatedBy"`
}

// EntityInput is an entity as a client or an UPSERT_ENTITY node sends it.
// A nil field is absent: a merge keeps what is stored.
type EntityInput struct {
	Identifier string         `json:"identifier"`
	Title      *string        `json:"title"`
	Icon       *string        `json:"icon"`
	Team       any            `json:"team"` // a string or a list of strings
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	// Blueprint is accepted (and must match the path) so that an entity
	// read from the API can be sent back.
	Blueprint string `json:"blueprint,omitempty"`
	// The server's fields are accepted and ignored, for the same reason.
	CreatedAt any `json:"createdAt,omitempty"`
	UpdatedAt any `json:"updatedAt,omitempty"`
	CreatedBy any `json:"createdBy,omitempty"`
	UpdatedBy any `json:"updatedBy,omitempty"`
}

// data is what the store keeps of an entity besides its keys and
// timestamps.
type data struct {
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       []string       `json:"team"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
}

// Identifier rules: Port's patterns. Blueprints: letters, digits, @ _ = -;
// entities also . + : / (paths and URLs are common identifiers).
var (
	blueprintIDRe = regexp.MustCompile(`^[A-Za-z0-9@_=\-]{1,100}$`)
	entityIDRe    = regexp.MustCompile(`^[A-Za-z0-9@_.+:/=\-]{1,1000}$`)
)

func checkBlueprintID(path, id string) *Problem {
	if !blueprintIDRe.MatchString(id) {
		return &Problem{Path: path, Message: "must be 1 to 100 letters, digits or @ _ = - characters"}
	}
	return nil
}

func checkEntityID(path, id string) *Problem {
	if !entityIDRe.MatchString(id) {
		return &Problem{Path: path, Message: "must be 1 to 1000 letters, digits or @ _ . + : / = - characters"}
	}
	return nil
}

// teamList reads a team field: a string, a list of strings, or null.
func teamList(v any) ([]string, *Problem) {
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		if t == "" {
			return []string{}, nil
		}
		return []string{t}, nil
	case []string:
		return t, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, &Problem{Path: "team", Message: "must be a team name or a list of team names"}
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, &Problem{Path: "team", Message: "must be a team name or a list of team names"}
}

// joinPath appends a key to a dotted path, bracketing keys that are not
// plain names.
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if !plain {
		b, _ := json.Marshal(key)
		key = "[" + string(b) + "]"
		if path == "" {
			return key
		}
		return path + key
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// pointerPath turns a JSON pointer's tokens under base into a dotted path.
func pointerPath(base string, tokens []string) string {
	p := base
	for _, t := range tokens {
		if isIndex(t) {
			p += "[" + t + "]"
			continue
		}
		p = joinPath(p, t)
	}
	return p
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
