package workflow

import (
	"reflect"
	"testing"
)

func TestStoredStrings(t *testing.T) {
	data := []byte(`{"identifier":"wf","version":3,"createdBy":"x","nodes":[{"config":{"headers":{"X-Token":"a\"b","n":1,"b":true,"z":null}}}],"e":[]}`)
	var got [][2]string
	if err := StoredStrings(data, func(p, s string) { got = append(got, [2]string{p, s}) }); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"identifier", "identifier"}, {"identifier", "wf"},
		{"nodes", "nodes"},
		{"nodes[0].config", "config"},
		{"nodes[0].config.headers", "headers"},
		{`nodes[0].config.headers["X-Token"]`, "X-Token"}, {`nodes[0].config.headers["X-Token"]`, `a"b`},
		{"nodes[0].config.headers.n", "n"}, {"nodes[0].config.headers.b", "b"}, {"nodes[0].config.headers.z", "z"},
		{"e", "e"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StoredStrings =\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []string{`{"a":`, `{"a" 1}`, ``} {
		if err := StoredStrings([]byte(bad), func(string, string) {}); err == nil {
			t.Errorf("StoredStrings(%q): no error", bad)
		}
	}
}
