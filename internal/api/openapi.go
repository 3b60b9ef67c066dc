package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIYAML is the API's OpenAPI 3 document, written by hand. The tests
// validate every request they send and every answer they get against it,
// so it cannot drift from the handlers.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the parsed and validated OpenAPI document.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("api: load openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIJSON returns the document as JSON, as /v1/openapi.json serves it.
func openAPIJSON() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api: encode openapi document: %w", err)
	}
	return b, nil
}
