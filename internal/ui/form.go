package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// field is one input of a run form, built from a trigger's userInputs.
type field struct {
	Name, Title, Description string
	// Type is the input's type: string, number, boolean, object, array.
	Type string
	// Control is the HTML control: text, email, url, number, checkbox,
	// select, textarea.
	Control  string
	Options  []option
	Required bool
	// Value is what the control shows: the value posted, else the default.
	Value   string
	Checked bool
	Error   string
}

type option struct {
	Value, Label string
	Selected     bool
}

type inputsSchema struct {
	Properties json.RawMessage `json:"properties"`
	Required   json.RawMessage `json:"required"`
	Order      []string        `json:"order"`
}

type inputProp struct {
	Type        string            `json:"type"`
	Format      string            `json:"format"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Enum        []json.RawMessage `json:"enum"`
	Default     json.RawMessage   `json:"default"`
}

// formFields builds the fields of a self-serve trigger's userInputs, in
// "order" when given, else in the order the definition lists them.
func formFields(raw json.RawMessage) ([]field, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s inputsSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("read userInputs: %w", err)
	}
	names, props, err := orderedProps(s.Properties)
	if err != nil {
		return nil, err
	}
	if len(s.Order) > 0 {
		seen := map[string]bool{}
		var ordered []string
		for _, n := range s.Order {
			if _, ok := props[n]; ok && !seen[n] {
				ordered, seen[n] = append(ordered, n), true
			}
		}
		for _, n := range names {
			if !seen[n] {
				ordered = append(ordered, n)
			}
		}
		names = ordered
	}
	var required []string
	_ = json.Unmarshal(s.Required, &required) // {"jqQuery": ...} is decided by the API
	var out []field
	for _, n := range names {
		p := props[n]
		f := field{Name: n, Title: p.Title, Description: p.Description, Type: p.Type, Required: contains(required, n)}
		if f.Title == "" {
			f.Title = n
		}
		if f.Type == "" {
			f.Type = "string"
		}
		def := ""
		if len(p.Default) > 0 && !bytes.HasPrefix(bytes.TrimSpace(p.Default), []byte("{\"jqQuery\"")) {
			def = controlValue(p.Default, f.Type)
		}
		switch {
		case len(p.Enum) > 0:
			f.Control = "select"
			if !f.Required {
				f.Options = append(f.Options, option{Value: "", Label: "(none)"})
			}
			for _, e := range p.Enum {
				v := controlValue(e, f.Type)
				f.Options = append(f.Options, option{Value: v, Label: v})
			}
		case f.Type == "boolean":
			f.Control = "checkbox"
			f.Checked = def == "true"
		case f.Type == "number":
			f.Control = "number"
		case f.Type == "object" || f.Type == "array":
			f.Control = "textarea"
		case p.Format == "email", p.Format == "url":
			f.Control = p.Format
		case p.Format == "multi-line", p.Format == "markdown", p.Format == "yaml":
			f.Control = "textarea"
		default:
			f.Control = "text"
		}
		f.setValue(def)
		out = append(out, f)
	}
	return out, nil
}

func (f *field) setValue(v string) {
	f.Value = v
	for i := range f.Options {
		f.Options[i].Selected = f.Options[i].Value == v
	}
}

// controlValue is how a JSON value shows in a control: strings as they
// are, anything else as JSON.
func controlValue(raw json.RawMessage, typ string) string {
	var s string
	if typ == "string" && json.Unmarshal(raw, &s) == nil {
		return s
	}
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// orderedProps reads a properties object keeping its keys' order.
func orderedProps(raw json.RawMessage) ([]string, map[string]inputProp, error) {
	props := map[string]inputProp{}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, props, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("userInputs.properties: not an object")
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("userInputs.properties: %w", err)
		}
		name, _ := t.(string)
		var p inputProp
		if err := dec.Decode(&p); err != nil {
			return nil, nil, fmt.Errorf("userInputs.properties.%s: %w", name, err)
		}
		if _, dup := props[name]; !dup {
			names = append(names, name)
		}
		props[name] = p
	}
	return names, props, nil
}

// readForm turns a posted form into the run's inputs by each field's type,
// keeping what was posted in the fields (to show again). An empty control
// is left out, so that the API applies the default or reports it required.
// A value that is not of its type gets an error beside its field.
func readForm(fields []field, form url.Values) (map[string]any, bool) {
	inputs := map[string]any{}
	ok := true
	for i := range fields {
		f := &fields[i]
		if f.Control == "checkbox" {
			f.Checked = form.Get("in."+f.Name) == "true"
			inputs[f.Name] = f.Checked
			continue
		}
		v := form.Get("in." + f.Name)
		f.setValue(v)
		if strings.TrimSpace(v) == "" {
			continue
		}
		switch f.Type {
		case "number":
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				f.Error, ok = "must be a number", false
				continue
			}
			inputs[f.Name] = n
		case "string":
			inputs[f.Name] = v
		default: // object, array, or an enum of another type: JSON
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				f.Error, ok = fmt.Sprintf("must be JSON (%s)%s", f.Type, jsonWhere([]byte(v), err)), false
				continue
			}
			inputs[f.Name] = x
		}
	}
	return inputs, ok
}

// fieldErrors puts the API's invalid_inputs details beside their fields
// (paths "inputs.NAME..." or "NAME"); the rest are returned.
func fieldErrors(fields []field, ds []detail) []string {
	var rest []string
	for _, d := range ds {
		p := strings.TrimPrefix(d.Path, "inputs.")
		matched := false
		for i := range fields {
			if p == fields[i].Name || strings.HasPrefix(p, fields[i].Name+".") || strings.HasPrefix(p, fields[i].Name+"[") {
				if fields[i].Error != "" {
					fields[i].Error += "; "
				}
				fields[i].Error += d.Message
				matched = true
				break
			}
		}
		if !matched {
			msg := d.Message
			if d.Path != "" {
				msg = d.Path + ": " + msg
			}
			rest = append(rest, msg)
		}
	}
	return rest
}
