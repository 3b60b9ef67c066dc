package api

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// parseLogTags reads the tags of a log line, at path (logs[2].tags). Port
// takes them as an object of strings ({"step": "build"}) and Ocean's
// integrations have sent them as a list of strings (["workflow_completion"],
// []); both are kept as sent (docs/api.md). Absent or null is no tags. A
// value of another type is a 422 naming its exact path (logs[2].tags[0]).
func parseLogTags(path string, raw json.RawMessage) (map[string]string, []string, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// The body was checked as JSON text before; this is a bug.
		return nil, nil, invalidField(path, "could not be decoded")
	}
	switch x := v.(type) {
	case nil:
		return nil, nil, nil
	case map[string]any:
		tags := make(map[string]string, len(x))
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, nil, schemaMismatch(invalidField(path+jsontext.KeyStep(k, false), "must be a string, got %s", jsontext.TypeName(e)))
			}
			tags[k] = s
		}
		return tags, nil, nil
	case []any:
		list := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, nil, schemaMismatch(invalidField(path+"["+strconv.Itoa(i)+"]", "must be a string, got %s", jsontext.TypeName(e)))
			}
			list[i] = s
		}
		return nil, list, nil
	}
	return nil, nil, schemaMismatch(invalidField(path, "must be an object of strings or an array of strings, got %s", jsontext.TypeName(v)))
}
