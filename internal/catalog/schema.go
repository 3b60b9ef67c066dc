package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// propertyTypes are the types Port's blueprint properties take.
var propertyTypes = []string{"string", "number", "boolean", "object", "array"}

// noCheckFormats are Port's formats that name a kind of string sluice
// stores as is (a user, a team, a markdown or YAML text, ...).
var noCheckFormats = []string{"user", "team", "markdown", "yaml", "entity", "proto", "blueprints", "ipv4", "ipv6"}

// compiled is a blueprint ready to validate entities.
type compiled struct {
	bp     Blueprint
	schema *jsonschema.Schema
}

// checkBlueprint validates a blueprint's own fields and compiles its
// schema. It does not check that relation targets exist (the service does).
func checkBlueprint(bp Blueprint) (*compiled, []Problem) {
	var probs []Problem
	if p := checkBlueprintID("identifier", bp.Identifier); p != nil {
		probs = append(probs, *p)
	}
	if len(bp.Title) > 100 {
		probs = append(probs, Problem{Path: "title", Message: "must be at most 100 characters"})
	}
	names := make([]string, 0, len(bp.Schema.Properties))
	for n := range bp.Schema.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := joinPath("schema.properties", n)
		prop := bp.Schema.Properties[n]
		if prop == nil {
			probs = append(probs, Problem{Path: path, Message: "must be an object"})
			continue
		}
		t, ok := prop["type"].(string)
		if !ok || !slices.Contains(propertyTypes, t) {
			probs = append(probs, Problem{Path: path + ".type", Message: "must be one of " + strings.Join(propertyTypes, ", ")})
		}
	}
	for i, r := range bp.Schema.Required {
		if _, ok := bp.Schema.Properties[r]; !ok {
			probs = append(probs, Problem{Path: fmt.Sprintf("schema.required[%d]", i), Message: fmt.Sprintf("names no property of the schema: %q", r)})
		}
	}
	rels := make([]string, 0, len(bp.Relations))
	for n := range bp.Relations {
		rels = append(rels, n)
	}
	sort.Strings(rels)
	for _, n := range rels {
		r := bp.Relations[n]
		path := joinPath("relations", n)
		if _, dup := bp.Schema.Properties[n]; dup {
			probs = append(probs, Problem{Path: path, Message: "a relation and a property cannot share a name"})
		}
		if p := checkBlueprintID(path+".target", r.Target); p != nil {
			probs = append(probs, *p)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	sch, err := compileSchema(bp)
	if err != nil {
		return nil, []Problem{{Path: "schema", Message: err.Error()}}
	}
	return &compiled{bp: bp, schema: sch}, nil
}

// compileSchema builds the JSON Schema (draft 2020-12) an entity's
// properties must match: the blueprint's properties and required list,
// no other property.
func compileSchema(bp Blueprint) (*jsonschema.Schema, error) {
	props := map[string]any{}
	for n, p := range bp.Schema.Properties {
		props[n] = p
	}
	doc := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(bp.Schema.Required) > 0 {
		doc["required"] = bp.Schema.Required
	}
	// Round-trip through JSON so the compiler sees json.Number and plain
	// maps and slices only.
	inst, err := normalize(doc)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "url", Validate: validateURL})
	c.RegisterFormat(&jsonschema.Format{Name: "timer", Validate: validateDateTime})
	for _, f := range noCheckFormats {
		c.RegisterFormat(&jsonschema.Format{Name: f, Validate: func(any) error { return nil }})
	}
	loc := "sluice:blueprint/" + url.PathEscape(bp.Identifier)
	if err := c.AddResource(loc, inst); err != nil {
		return nil, fmt.Errorf("the schema is not valid JSON Schema: %v", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("the schema is not valid JSON Schema: %s", schemaErrorText(err))
	}
	return sch, nil
}

// schemaErrorText is a compile error without the resource URL noise.
func schemaErrorText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "#/"); i >= 0 {
		msg = "at " + msg[i+1:]
	}
	return msg
}

func validateURL(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("is not an absolute URL")
	}
	return nil
}

func validateDateTime(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return errors.New("is not an RFC 3339 date-time")
	}
	return nil
}

// normalize round-trips v through JSON, numbers as json.Number.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// validateProperties checks an entity's properties against the compiled
// schema and returns each problem with its path under "properties".
func (c *compiled) validateProperties(props map[string]any) []Problem {
	inst, err := normalize(props)
	if err != nil {
		return []Problem{{Path: "properties", Message: err.Error()}}
	}
	err = c.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Path: "properties", Message: err.Error()}}
	}
	var probs []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out := e.BasicOutput()
			msg := ""
			if out != nil && out.Error != nil {
				msg = out.Error.String()
			}
			for _, u := range out.Errors {
				if u.Error != nil {
					msg = u.Error.String()
				}
			}
			probs = append(probs, Problem{Path: pointerPath("properties", e.InstanceLocation), Message: msg})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
	return probs
}

// defaults fills the properties a blueprint gives a default and the input
// leaves out.
func (c *compiled) defaults(props map[string]any) {
	for n, p := range c.bp.Schema.Properties {
		if _, set := props[n]; set {
			continue
		}
		if d, ok := p["default"]; ok {
			props[n] = d
		}
	}
}

// timers returns the entity's timer properties: every property of format
// "timer" (Port's timer type), and every "date-time" property whose value
// is still in the future.
func (c *compiled) timers(props map[string]any, now time.Time) []timer {
	var out []timer
	for n, p := range c.bp.Schema.Properties {
		f, _ := p["format"].(string)
		if f != "timer" && f != "date-time" {
			continue
		}
		s, ok := props[n].(string)
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || (f == "date-time" && !t.After(now)) {
			continue
		}
		out = append(out, timer{property: n, at: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].property < out[j].property })
	return out
}

type timer struct {
	property string
	at       time.Time
}
