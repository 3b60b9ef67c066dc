package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	const secret = "tok_9f8e7d6c"
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"string", "Bearer " + secret, `"Bearer ***"`},
		{"no secret", map[string]any{"b": 1.5, "a": []any{true, nil, "x<y>&z"}}, `{"a":[true,null,"x<y>&z"],"b":1.5}`},
		{"key", map[string]any{secret: "v", "k": secret}, `{"k":"***","***":"v"}`},
		{"nested", map[string]any{"o": map[string]any{"l": []any{"x", map[string]any{"t": secret}}}}, `{"o":{"l":["x",{"t":"***"}]}}`},
		{"number equal to a secret", map[string]any{"n": 12345678.0}, `{"n":"***"}`},
		{"json.Number equal to a secret", []any{json.Number("12345678")}, `["***"]`},
		{"number containing a secret", []any{json.Number("9912345678.5")}, `["99***.5"]`},
		{"other numbers untouched", []any{json.Number("1e400"), 0.1, json.Number("-0")}, `[1e400,0.1,-0]`},
		{"invalid json.Number becomes a string", []any{json.Number("abc")}, `["abc"]`},
		{"struct via json.Marshal", struct {
			URL   string `json:"url"`
			Count int    `json:"count"`
		}{"https://h/?t=" + secret, 12345678}, `{"count":"***","url":"https://h/?t=***"}`},
		{"struct nested in a map", map[string]any{"s": struct{ A string }{secret}}, `{"s":{"A":"***"}}`},
		{"keys that collide stay", map[string]any{secret: 1.0, "x" + secret: 2.0}, `{"***":1,"x***":2}`},
		{"escaped form in a string", "line1\n" + secret, `"line1\n***"`},
		{"null", nil, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			r.Add(secret)
			r.Add("12345678")
			got, err := r.JSON(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Bytes()) != tt.want {
				t.Errorf("JSON = %s, want %s", got.Bytes(), tt.want)
			}
			if !json.Valid(got.Bytes()) {
				t.Errorf("JSON = %s is not valid", got.Bytes())
			}
			assertNoPattern(t, patternsOf(r), string(got.Bytes()))
		})
	}
}

// TestJSONSpanningSyntax: a value that spans JSON syntax is caught by the
// final byte pass, and the result falls back to a valid document.
func TestJSONSpanningSyntax(t *testing.T) {
	r := New()
	r.Add(`ab","cd`)
	got, err := r.JSONBytes([]byte(`{"a":"ab","cd":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Bytes()) != `"***"` {
		t.Errorf("got %s, want the fallback", got.Bytes())
	}
	// A pattern that ends the fallback leaves the empty string.
	r.Add(`"***`)
	got, err = r.JSONBytes([]byte(`{"a":"ab","cd":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got.Bytes()) {
		t.Errorf("%s is not valid JSON", got.Bytes())
	}
	assertNoPattern(t, patternsOf(r), string(got.Bytes()))
}

func TestJSONBytes(t *testing.T) {
	r := New()
	r.Add("s3cr3t-value")
	tests := []struct {
		in, want string
	}{
		{`{"z":1,"a":"s3cr3t-value","n":123456789012345678901234567890}`, `{"a":"***","n":123456789012345678901234567890,"z":1}`},
		{` [ "x" , "czNjcjN0LXZhbHVl" ] `, `["x","***"]`},
		{`"s3cr3t-value\u0021"`, `"***!"`},
		{`"\u0073\u0033cr3t-value"`, `"***"`}, // escapes are decoded first
		{`{"k":"<&>"}`, `{"k":"<&>"}`},
	}
	for _, tt := range tests {
		got, err := r.JSONBytes([]byte(tt.in))
		if err != nil {
			t.Fatalf("JSONBytes(%s): %v", tt.in, err)
		}
		if string(got.Bytes()) != tt.want {
			t.Errorf("JSONBytes(%s) = %s, want %s", tt.in, got.Bytes(), tt.want)
		}
	}
}

func TestJSONBytesInvalid(t *testing.T) {
	const secret = "s3cr3t-value"
	r := New()
	r.Add(secret)
	for _, in := range []string{
		`{"a": s3cr3t-value}`,
		`s3cr3t-value`,
		`{"a":"s3cr3t-value"`,
		`{"a":1} {"b":2}`,
		`{"a":1} s3cr3t-value`,
		``,
	} {
		_, err := r.JSONBytes([]byte(in))
		if err == nil {
			t.Errorf("JSONBytes(%q): no error", in)
			continue
		}
		// encoding/json quotes the offending character as 'c'; ours name
		// only offsets.
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "'") {
			t.Errorf("JSONBytes(%q): error %q quotes the input", in, err)
		}
		if !strings.HasPrefix(err.Error(), "redact: invalid JSON") {
			t.Errorf("JSONBytes(%q): error %q", in, err)
		}
	}
}

type failingMarshaler struct{ secret string }

func (f failingMarshaler) MarshalJSON() ([]byte, error) {
	return nil, errors.New("cannot marshal " + f.secret)
}

func TestJSONErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	r := New()
	r.Add(secret)
	tests := []struct {
		name string
		v    any
	}{
		{"NaN", math.NaN()},
		{"channel", map[string]any{"c": make(chan int)}},
		{"marshaler quoting a secret", []any{failingMarshaler{secret}}},
	}
	for _, tt := range tests {
		_, err := r.JSON(tt.v)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q holds the secret", tt.name, err)
		}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := r.JSON(cyclic); err == nil {
		t.Error("cyclic map: no error")
	}
}

func encodeNoHTML(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestJSONWithoutSecretsIsMarshal: a document without secrets comes out as
// json.Marshal writes it with HTML escaping off.
func TestJSONWithoutSecretsIsMarshal(t *testing.T) {
	r := New()
	r.Add("s3cr3t-value")
	docs := []string{
		`{"b":[1,2,{"c":null}],"a":"x<>&\u2028","d":-1.5e-7,"e":true}`,
		`[]`, `{}`, `"str"`, `0`,
	}
	for _, d := range docs {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			t.Fatal(err)
		}
		got, err := r.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeNoHTML(t, v); string(got.Bytes()) != want {
			t.Errorf("JSON(%s) = %s, want %s", d, got.Bytes(), want)
		}
	}
}
