package jsontext

import (
	"encoding/json"
	"fmt"
)

// TypeName names the JSON type of a decoded value, for errors that say what a
// field got ("must be a string, got number"): null, string, boolean,
// number, array or object; a Go value JSON never decodes to is named by its
// Go type.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64, float32, int, int64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	default:
		return fmt.Sprintf("%T", v)
	}
}
