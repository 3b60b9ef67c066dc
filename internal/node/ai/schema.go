package ai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// outputSchema is a node's compiled outputSchema.
type outputSchema struct {
	doc any // as sent in response_format
	sch *jsonschema.Schema
}

// compileSchema compiles an outputSchema; references to other documents
// are refused (nothing is loaded).
func compileSchema(v any) (*outputSchema, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok || obj["type"] != "object" {
		return nil, errors.New(`must be a JSON Schema whose type is "object"`)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{})
	const loc = "sluice:outputSchema"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("is not valid JSON Schema: %v", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("is not valid JSON Schema: %v", err)
	}
	var plain any
	_ = json.Unmarshal(raw, &plain)
	return &outputSchema{doc: plain, sch: sch}, nil
}

// check reads an answer as JSON (a code fence around it is dropped) and
// validates it. It returns the JSON text that is the node's response, or
// the problems, each with its JSON pointer.
//
// mask passes a problem's text through the run's redactor before it is cut
// (a validator may quote the answer).
func (o *outputSchema) check(answer string, mask func(string) string) (string, []string) {
	s := strings.TrimSpace(answer)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
		s = strings.TrimSpace(s)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		return "", []string{"the answer is not one JSON value: " + clip(mask(err.Error()), 200)}
	}
	err = o.sch.Validate(inst)
	var ve *jsonschema.ValidationError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &ve):
		var out []string
		collect(ve, message.NewPrinter(language.English), &out)
		for i := range out {
			out[i] = clip(mask(out[i]), 300)
		}
		sort.Strings(out)
		if len(out) > 20 {
			out = append(out[:20], fmt.Sprintf("and %d more", len(out)-20))
		}
		return "", out
	}
	return "", []string{clip(mask(err.Error()), 300)}
}

// collect lists the leaf causes of a validation error with their paths.
func collect(ve *jsonschema.ValidationError, p *message.Printer, out *[]string) {
	if len(ve.Causes) == 0 {
		*out = append(*out, fmt.Sprintf("at /%s: %s", strings.Join(ve.InstanceLocation, "/"), ve.ErrorKind.LocalizedString(p)))
		return
	}
	for _, c := range ve.Causes {
		collect(c, p, out)
	}
}
