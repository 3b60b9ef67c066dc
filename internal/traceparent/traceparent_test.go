package traceparent

import (
	"net/http"
	"strings"
	"testing"
)

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want string // String() of the result when ok
	}{
		{"W3C's example", valid, true, valid},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
		{"a later version with more fields", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next", true, valid},
		{"a later version of exactly 55", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"},
		{"empty", "", false, ""},
		{"too short", valid[:54], false, ""},
		{"version 00 too long", valid + "-00", false, ""},
		{"version 00 with trailing space", valid + " ", false, ""},
		{"a later version without a dash after", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, ""},
		{"version ff", "ff" + valid[2:], false, ""},
		{"uppercase version", "0A" + valid[2:], false, ""},
		{"uppercase trace id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, ""},
		{"uppercase parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", false, ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, ""},
		{"all-zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, ""},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false, ""},
		{"bad flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z", false, ""},
		{"underscores for dashes", strings.ReplaceAll(valid, "-", "_"), false, ""},
		{"shifted fields", "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", false, ""},
		{"two joined with a comma", valid + "," + valid, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if !tt.ok {
				if !p.IsZero() {
					t.Errorf("a refused value gave %v, want the zero Parent", p)
				}
				return
			}
			if got := p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		ok     bool
	}{
		{"none", nil, false},
		{"one", []string{valid}, true},
		{"one malformed", []string{"00-xyz"}, false},
		{"two, even equal", []string{valid, valid}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "http://127.0.0.1/", nil)
			for _, v := range tt.values {
				r.Header.Add("Traceparent", v)
			}
			p, ok := FromRequest(r)
			if ok != tt.ok || (ok && p.String() != valid) || (!ok && !p.IsZero()) {
				t.Errorf("FromRequest = %v, %v; want ok %v", p, ok, tt.ok)
			}
		})
	}
}

func TestZero(t *testing.T) {
	if s := (Parent{}).String(); s != "" {
		t.Errorf("zero Parent String() = %q, want empty", s)
	}
}

// FuzzParse: Parse never panics, accepts only what it can print back, and
// what it prints parses to the same parent.
func FuzzParse(f *testing.F) {
	for _, s := range []string{valid, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", "ff" + valid[2:], "", "00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !p.IsZero() {
				t.Fatalf("Parse(%q) failed but returned %v", s, p)
			}
			return
		}
		out := p.String()
		if len(out) != versionLen {
			t.Fatalf("String() = %q, want %d characters", out, versionLen)
		}
		if s[:2] == "00" && out != s {
			t.Fatalf("Parse(%q).String() = %q", s, out)
		}
		q, err := Parse(out)
		if err != nil || q != p {
			t.Fatalf("Parse(String()) = %v, %v; want %v", q, err, p)
		}
	})
}
