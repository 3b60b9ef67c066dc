package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
)

// countingStore counts the token reads Authenticate makes.
type countingStore struct {
	*sqlite.Store
	tokens atomic.Int64
}

func (c *countingStore) GetToken(ctx context.Context, hash []byte) (store.Token, error) {
	c.tokens.Add(1)
	return c.Store.GetToken(ctx, hash)
}

// A verified token is answered from memory for CacheTTL: no store read,
// never past the token's expiry; a client deleted meanwhile (from another
// process) stops working once the TTL has passed; the cache is bounded and
// can be disabled.
func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		cacheTTL  time.Duration
		tokenTTL  time.Duration
		advance   time.Duration // after the first Authenticate
		remove    bool          // delete the client before the second
		wantReads int64         // store token reads over both calls
		wantErr   error         // of the second call
	}{
		{"a second request within the TTL reads nothing", 2 * time.Second, time.Hour, time.Second, false, 1, nil},
		{"a deletion is not seen within the TTL", 2 * time.Second, time.Hour, time.Second, true, 1, nil},
		{"a deletion is seen once the TTL passed", 2 * time.Second, time.Hour, 2 * time.Second, true, 2, ErrInvalidToken},
		{"a token that expires within the TTL expires", time.Minute, 3 * time.Second, 3 * time.Second, false, 2, ErrInvalidToken},
		{"a disabled cache reads every time", -1, time.Hour, 0, true, 2, ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &countingStore{Store: openStore(t)}
			clk := newClock()
			a := New(st, Options{TokenTTL: tc.tokenTTL, Now: clk.now, CacheTTL: tc.cacheTTL})
			cred, err := CreateClient(ctx, st, ClientSpec{Name: "ci", Scopes: []string{authz.ScopeReadRuns}})
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := a.IssueToken(ctx, cred.ClientID, cred.ClientSecret)
			if err != nil {
				t.Fatal(err)
			}
			first, err := a.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			first.Scopes[0] = "changed by a caller" // must not reach the cache
			clk.advance(tc.advance)
			if tc.remove {
				if err := st.DeleteClient(ctx, cred.ClientID); err != nil {
					t.Fatal(err)
				}
			}
			second, err := a.Authenticate(ctx, tok)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("second Authenticate: %v, want %v", err, tc.wantErr)
			}
			if err == nil && (second.ClientID != cred.ClientID || second.Scopes[0] != authz.ScopeReadRuns) {
				t.Errorf("second actor = %+v", second)
			}
			if got := st.tokens.Load(); got != tc.wantReads {
				t.Errorf("token reads = %d, want %d", got, tc.wantReads)
			}
		})
	}
}

func TestTokenCacheBoundedAndForget(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openStore(t)}
	clk := newClock()
	a := New(st, Options{Now: clk.now, CacheSize: 2})
	cred, err := CreateClient(ctx, st, ClientSpec{Name: "ci", Scopes: []string{authz.ScopeReadRuns}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		tok, _, err := a.IssueToken(ctx, cred.ClientID, cred.ClientSecret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if n := len(a.cache.entries); n > 2 {
			t.Fatalf("%d entries, bound 2", n)
		}
	}
	a.Forget()
	if n := len(a.cache.entries); n != 0 {
		t.Errorf("%d entries after Forget", n)
	}
}
