package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(h, "horse") {
		t.Fatalf("hash %q: not the expected PHC form", h)
	}
	if h2, _ := HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name, hash, password string
		want                 error // nil, ErrWrongPassword, or errAny
	}{
		{"right", h, "correct horse battery", nil},
		{"wrong", h, "correct horse batterY", ErrWrongPassword},
		{"empty", h, "", ErrWrongPassword},
		{"not argon2id", "$2a$10$abc", "x", errAny},
		{"bad version", strings.Replace(h, "v=19", "v=16", 1), "x", errAny},
		{"bad params", strings.Replace(h, "m=65536", "m=zz", 1), "x", errAny},
		{"huge memory", strings.Replace(h, "m=65536", "m=99999999", 1), "x", errAny},
		{"bad salt", strings.Join(append(strings.Split(h, "$")[:4], "!!", "AA"), "$"), "x", errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.hash, tc.password)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("CheckPassword = %v, want nil", err)
			case tc.want == ErrWrongPassword && !errors.Is(err, ErrWrongPassword):
				t.Errorf("CheckPassword = %v, want ErrWrongPassword", err)
			case tc.want == errAny && (err == nil || errors.Is(err, ErrWrongPassword)):
				t.Errorf("CheckPassword = %v, want an unreadable-hash error", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestPasswordRules(t *testing.T) {
	for _, p := range []string{"short", strings.Repeat("x", MaxPasswordBytes+1), "twelve bytes\xff"} {
		if _, err := HashPassword(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("HashPassword(%d bytes) = %v, want ErrInvalid", len(p), err)
		}
	}
}

// TestDummyPasswordHash: the dummy hash names the parameters of new hashes
// (so checking a password against it costs what checking a real one does),
// is read by CheckPassword, matches no password, and differs per call.
func TestDummyPasswordHash(t *testing.T) {
	real, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	d := DummyPasswordHash()
	if params(d) != params(real) {
		t.Errorf("dummy hash parameters %q, new hashes %q", params(d), params(real))
	}
	for _, p := range []string{"", "correct horse battery", "dummy-password"} {
		if err := CheckPassword(d, p); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("CheckPassword(dummy, %q) = %v, want ErrWrongPassword", p, err)
		}
	}
	if DummyPasswordHash() == d {
		t.Error("two dummy hashes are equal")
	}
}
