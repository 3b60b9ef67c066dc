package jsontext

import (
	"encoding/json"
	"testing"
)

func TestTypeName(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "null"}, {"x", "string"}, {true, "boolean"}, {json.Number("1"), "number"}, {1.5, "number"},
		{3, "number"}, {map[string]any{}, "object"}, {[]any{}, "array"}, {struct{}{}, "struct {}"},
	} {
		if got := TypeName(tc.v); got != tc.want {
			t.Errorf("TypeName(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
