package ui

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestFormFields(t *testing.T) {
	t.Parallel()
	raw := json.RawMessage(`{
		"properties": {
			"b": {"type": "number", "default": 3},
			"a": {"type": "string", "enum": ["x", "y"], "title": "Pick", "description": "one of two"},
			"c": {"type": "boolean", "default": true},
			"d": {"type": "array"},
			"e": {"type": "string", "format": "email", "default": {"jqQuery": ".user.email"}},
			"f": {"type": "string", "format": "multi-line"}
		},
		"required": ["a"],
		"order": ["a", "missing"]
	}`)
	fs, err := formFields(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Name+":"+f.Control+":"+f.Value)
	}
	want := []string{"a:select:", "b:number:3", "c:checkbox:true", "d:textarea:", "e:email:", "f:textarea:"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v (order first, then document order; jq defaults left to the API)", got, want)
	}
	if !fs[0].Required || fs[0].Title != "Pick" || len(fs[0].Options) != 2 || fs[1].Required {
		t.Errorf("field a = %+v", fs[0])
	}

	tests := []struct {
		name   string
		form   url.Values
		inputs map[string]any
		errs   map[string]string
	}{
		{"typed", url.Values{"in.a": {"y"}, "in.b": {"2.5"}, "in.c": {"true"}, "in.d": {`[1,"z"]`}, "in.f": {"two\nlines"}},
			map[string]any{"a": "y", "b": 2.5, "c": true, "d": []any{1.0, "z"}, "f": "two\nlines"}, nil},
		{"empty left out, unchecked false", url.Values{"in.a": {""}, "in.b": {" "}},
			map[string]any{"c": false}, nil},
		{"bad number and JSON", url.Values{"in.b": {"three"}, "in.d": {"[1,"}},
			map[string]any{"c": false}, map[string]string{"b": "must be a number", "d": "must be JSON (array): malformed at line 1, column 4, in [1]"}},
		{"JSON cut short in an object", url.Values{"in.d": {"{\"a\": [1, {\"b\": tru"}},
			map[string]any{"c": false}, map[string]string{"d": "must be JSON (array): malformed at line 1, column 20, in a[1].b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, _ := formFields(raw)
			in, ok := readForm(fs, tc.form)
			if !reflect.DeepEqual(in, tc.inputs) {
				t.Errorf("inputs = %#v, want %#v", in, tc.inputs)
			}
			if ok != (tc.errs == nil) {
				t.Errorf("ok = %v", ok)
			}
			for _, f := range fs {
				if f.Error != tc.errs[f.Name] {
					t.Errorf("error of %s = %q, want %q", f.Name, f.Error, tc.errs[f.Name])
				}
			}
		})
	}

	fs, _ = formFields(raw)
	rest := fieldErrors(fs, []detail{{Path: "inputs.a", Message: "is required"}, {Path: "inputs.d[1]", Message: "must be a number"}, {Path: "inputs", Message: "form rule failed"}})
	if fs[0].Error != "is required" || fs[3].Error != "must be a number" || !reflect.DeepEqual(rest, []string{"inputs: form rule failed"}) {
		t.Errorf("fieldErrors: a=%q d=%q rest=%v", fs[0].Error, fs[3].Error, rest)
	}
}

func FuzzFormFields(f *testing.F) {
	f.Add([]byte(`{"properties": {"a": {"type": "string", "enum": ["x"]}, "b": {"type": "number"}}, "required": ["a"], "order": ["b"]}`), "in.a=x&in.b=1")
	f.Add([]byte(`{"properties": {"c": {"type": "object", "default": {"k": 1}}}}`), "in.c=%7B%7D")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, raw []byte, form string) {
		fs, err := formFields(raw)
		if err != nil {
			return
		}
		vals, _ := url.ParseQuery(form)
		in, _ := readForm(fs, vals)
		for k := range in {
			found := false
			for _, f := range fs {
				found = found || f.Name == k
			}
			if !found {
				t.Fatalf("readForm made input %q that is no field", k)
			}
		}
	})
}

func TestLayout(t *testing.T) {
	t.Parallel()
	var d definition
	if err := json.Unmarshal([]byte(`{"nodes": [
		{"identifier": "t", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "c", "config": {"type": "CONDITION", "outlets": [{"identifier": "yes", "title": "Yes"}]}},
		{"identifier": "a", "config": {"type": "WEBHOOK"}},
		{"identifier": "b", "config": {"type": "WEBHOOK"}},
		{"identifier": "z", "config": {"type": "WEBHOOK"}}],
		"connections": [
		{"sourceIdentifier": "t", "targetIdentifier": "c"},
		{"sourceIdentifier": "c", "sourceOutletIdentifier": "yes", "targetIdentifier": "a"},
		{"sourceIdentifier": "c", "fallback": true, "targetIdentifier": "b"},
		{"sourceIdentifier": "a", "targetIdentifier": "z"},
		{"sourceIdentifier": "b", "targetIdentifier": "z"},
		{"sourceIdentifier": "b", "targetIdentifier": "nowhere"}]}`), &d); err != nil {
		t.Fatal(err)
	}
	g := layout(d, map[string]string{"t": "success", "c": "success", "b": "failed"}, nil)
	cols := map[string]int{}
	for _, b := range g.Boxes {
		cols[b.ID] = (b.X - margin) / (boxW + colGap)
	}
	if want := map[string]int{"t": 0, "c": 1, "a": 2, "b": 2, "z": 3}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns = %v, want %v", cols, want)
	}
	var labels []string
	taken := 0
	for _, e := range g.Edges {
		if e.Label != "" {
			labels = append(labels, e.Label)
		}
		if e.Taken {
			taken++
		}
	}
	if !reflect.DeepEqual(labels, []string{"Yes", "fallback"}) || len(g.Edges) != 5 || taken != 2 {
		t.Errorf("edges: labels %v, %d edges, %d taken; want [Yes fallback], 5 (the dangling one dropped), 2", labels, len(g.Edges), taken)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := newLimiter()
	now := time.Unix(1000, 0)
	for i := 0; i < limitFailures; i++ {
		if !l.allowed("ip:1", limitFailures, now) {
			t.Fatalf("refused after %d failures", i)
		}
		l.fail("ip:1", now)
	}
	if l.allowed("ip:1", limitFailures, now.Add(time.Minute)) {
		t.Error("allowed after the limit")
	}
	if !l.allowed("ip:1", limitFailures+1, now) {
		t.Error("a higher limit is already reached")
	}
	if !l.allowed("ip:2", limitFailures, now) {
		t.Error("another key is limited")
	}
	if !l.allowed("ip:1", limitFailures, now.Add(limitWindow)) {
		t.Error("still limited once the window passed")
	}
	l.reset("ip:1")
	if !l.allowed("ip:1", limitFailures, now) {
		t.Error("limited after reset")
	}
}

func TestSafeNextAndOrigin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "/workflows", "/runs?status=X": "/runs?status=X", "//evil.example": "/workflows",
		"https://evil.example": "/workflows", "/\\evil": "/workflows", "/login": "/workflows"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct {
		origin, site string
		want         bool
	}{{"", "", true}, {"http://example.com", "", true}, {"http://evil.example", "", false}, {"null", "", false}, {"", "cross-site", false}, {"", "same-origin", true}} {
		r := httptest.NewRequest("POST", "http://example.com/secrets", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("sameOrigin(Origin %q, Sec-Fetch-Site %q) = %v", tc.origin, tc.site, got)
		}
	}
}
