package auth

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlitetest.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clock is a settable clock for expiring tokens.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestTokenFlow(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := newClock()
	a := New(st, Options{TokenTTL: 10 * time.Minute, Now: clk.now})

	user, ucred, err := CreateUser(ctx, st, UserSpec{Email: "alice@example.com", Role: store.RoleMember, Teams: []string{"web"}, FirstName: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	mcred, err := CreateClient(ctx, st, ClientSpec{Name: "ci", Scopes: []string{authz.ScopeExecute, authz.ScopeReadRuns}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Credentials{ucred, mcred} {
		stored, err := st.GetClient(ctx, c.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored.SecretHash), c.ClientSecret) || len(stored.SecretHash) != 32 {
			t.Errorf("client %s: the stored hash is not a SHA-256", c.ClientID)
		}
	}

	tests := []struct {
		name string
		cred Credentials
		want authz.Actor
	}{
		{"user", ucred, authz.Actor{ID: user.ID, ClientID: ucred.ClientID, Email: "alice@example.com", FirstName: "Alice", Role: store.RoleMember, Teams: []string{"web"}}},
		{"machine", mcred, authz.Actor{ID: mcred.ClientID, ClientID: mcred.ClientID, Machine: true, Scopes: []string{authz.ScopeExecute, authz.ScopeReadRuns}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, ttl, err := a.IssueToken(ctx, tc.cred.ClientID, tc.cred.ClientSecret)
			if err != nil || ttl != 10*time.Minute || !strings.HasPrefix(tok, tokenPrefix) {
				t.Fatalf("IssueToken = %q, %v, %v", tok, ttl, err)
			}
			if _, err := st.GetToken(ctx, []byte(tok)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the token is stored in clear (GetToken by value: %v)", err)
			}
			got, err := a.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tc.want.ID || got.ClientID != tc.want.ClientID || got.Machine != tc.want.Machine ||
				got.Email != tc.want.Email || got.Role != tc.want.Role || !slices.Equal(got.Teams, tc.want.Teams) || !slices.Equal(got.Scopes, tc.want.Scopes) {
				t.Errorf("actor = %+v, want %+v", got, tc.want)
			}
			clk.advance(9 * time.Minute)
			if _, err := a.Authenticate(ctx, tok); err != nil {
				t.Errorf("before expiry: %v", err)
			}
			clk.advance(time.Minute)
			if _, err := a.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("at expiry: %v, want ErrInvalidToken", err)
			}
			clk.advance(time.Second)
			if n, err := a.DeleteExpired(ctx); err != nil || n != 1 {
				t.Errorf("DeleteExpired = %d, %v", n, err)
			}
		})
	}
}

func TestInvalidCredentials(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := New(st, Options{})
	cred, err := CreateClient(ctx, st, ClientSpec{Name: "ci", Scopes: []string{authz.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, id, secret string }{
		{"wrong secret", cred.ClientID, cred.ClientSecret + "x"},
		{"empty secret", cred.ClientID, ""},
		{"unknown client", "cl_nope", cred.ClientSecret},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, _, err := a.IssueToken(ctx, tc.id, tc.secret)
			if !errors.Is(err, ErrInvalidCredentials) || tok != "" {
				t.Errorf("IssueToken = %q, %v; want ErrInvalidCredentials", tok, err)
			}
			if strings.Contains(err.Error(), tc.secret) && tc.secret != "" {
				t.Error("the error quotes the secret")
			}
		})
	}
	for _, tok := range []string{"", "slt_", "Bearer x", "slt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", cred.ClientSecret} {
		if _, err := a.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Authenticate(%q) = %v", tok, err)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clientTests := []struct {
		name string
		spec ClientSpec
		want string
	}{
		{"no name", ClientSpec{Scopes: []string{"admin"}}, "name"},
		{"no scope", ClientSpec{Name: "x"}, "scopes"},
		{"unknown scope", ClientSpec{Name: "x", Scopes: []string{"read:runs", "write:all"}}, `scopes[1]: unknown scope "write:all"`},
		{"id without secret", ClientSpec{Name: "x", Scopes: []string{"admin"}, ClientID: "cl_x"}, "both"},
		{"short secret", ClientSpec{Name: "x", Scopes: []string{"admin"}, ClientID: "cl_x", ClientSecret: "short"}, "at least 32"},
	}
	for _, tc := range clientTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CreateClient(ctx, st, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateClient = %v, want an error with %q", err, tc.want)
			}
			if tc.spec.ClientSecret != "" && strings.Contains(err.Error(), tc.spec.ClientSecret) {
				t.Error("the error quotes the secret")
			}
		})
	}
	userTests := []struct {
		name string
		spec UserSpec
		want string
	}{
		{"bad email", UserSpec{Email: "alice", Role: store.RoleMember}, "email"},
		{"bad role", UserSpec{Email: "a@example.com", Role: "Owner"}, "role"},
		{"empty team", UserSpec{Email: "a@example.com", Role: store.RoleMember, Teams: []string{"x", " "}}, "teams[1]"},
	}
	for _, tc := range userTests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := CreateUser(ctx, st, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateUser = %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, _, err := CreateUser(ctx, st, UserSpec{Email: "dup@example.com", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CreateUser(ctx, st, UserSpec{Email: "dup@example.com", Role: store.RoleAdmin}); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate email: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	const id, secret = "cl_admin", "0123456789abcdef0123456789abcdef"
	cred, created, err := Bootstrap(ctx, st, id, secret)
	if err != nil || !created || cred.ClientID != id || cred.ClientSecret != secret {
		t.Fatalf("Bootstrap = %+v, %v, %v", cred, created, err)
	}
	if _, created, err = Bootstrap(ctx, st, "", ""); err != nil || created {
		t.Errorf("second Bootstrap created = %v, %v", created, err)
	}
	a := New(st, Options{})
	tok, _, err := a.IssueToken(ctx, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	actor, err := a.Authenticate(ctx, tok)
	if err != nil || !actor.IsAdmin() || !actor.Machine {
		t.Errorf("bootstrap actor = %+v, %v", actor, err)
	}
	// Fresh random credentials when none are given.
	st2 := openStore(t)
	cred, created, err = Bootstrap(ctx, st2, "", "")
	if err != nil || !created || !strings.HasPrefix(cred.ClientID, clientIDPrefix) || len(cred.ClientSecret) < MinSecretLen {
		t.Errorf("Bootstrap = %+v, %v, %v", cred, created, err)
	}
}
