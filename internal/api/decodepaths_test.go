package api

import (
	"errors"
	"testing"
)

// decodeBody names the value of a type error with its indices and map
// keys, wherever the body puts it (whitespace before it included).
func TestDecodeBodyTypeErrorPaths(t *testing.T) {
	t.Parallel()
	type rule struct {
		Property string `json:"property"`
		Rules    []rule `json:"rules"`
	}
	type body struct {
		Logs    []logLine         `json:"logs"`
		Rules   []rule            `json:"rules"`
		Headers map[string]string `json:"headers"`
		Grid    [][]int           `json:"grid"`
		Nested  map[string][]rule `json:"nested"`
	}
	tests := []struct{ name, body, want string }{
		{"second line", `{"logs": [{}, {"logLevel": 5}]}`, "logs[1].logLevel"},
		{"leading whitespace", "\n\n   \t{\"logs\": [{}, {}, {\"log\": false}]}", "logs[2].log"},
		{"nested rules", `{"rules": [{"rules": [{}, {"rules": [{"property": []}]}]}]}`, "rules[0].rules[1].rules[0].property"},
		{"map key", `{"headers": {"a": "b", "odd key": 1}}`, `headers["odd key"]`},
		{"map of lists", `{"nested": {"x": [{}, {"property": 2}]}}`, "nested.x[1].property"},
		{"grid", `{"grid": [[1, 2], [3, "4"]]}`, "grid[1][1]"},
		{"array for an object", `{"logs": [[]]}`, "logs[0]"},
		{"object for an array", `{"grid": {}}`, "grid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b body
			err := decodeBody([]byte(tc.body), &b)
			var e *Error
			if !errors.As(err, &e) || e.Status != 422 || len(e.Details) != 1 || e.Details[0].Path != tc.want {
				t.Errorf("decodeBody = %#v, want a 422 at %s", err, tc.want)
			}
		})
	}
}

func TestOnFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		keys  []string
		field string
		want  bool
	}{
		{[]string{"logs", "logLevel"}, "logs.logLevel", true},
		{[]string{"in", "odd key", "logLevel"}, "in.logLevel", true},
		{[]string{"headers", "X"}, "headers", true},
		{[]string{"LOGS"}, "logs", true},
		{nil, "", true},
		{[]string{"anything"}, "", true},
		{[]string{"logs"}, "logs.logLevel", false},
		{[]string{"logLevel", "logs"}, "logs.logLevel", false},
		{nil, "status", false},
	}
	for _, tc := range tests {
		if got := onFields(tc.keys, tc.field); got != tc.want {
			t.Errorf("onFields(%q, %q) = %v, want %v", tc.keys, tc.field, got, tc.want)
		}
	}
}
