package auth

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// plainStore hides the store's ClientBootstrapper: Bootstrap takes its
// list-then-create path.
type plainStore struct{ Store }

// TestBootstrapPaths runs Bootstrap on a store that creates the first
// client atomically and on one that cannot: the same answers either way.
func TestBootstrapPaths(t *testing.T) {
	const id, secret = "cl_admin", "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		wrap   func(*sqlite.Store) Store
		atomic bool
	}{
		{"ClientBootstrapper", func(s *sqlite.Store) Store { return s }, true},
		{"list then create", func(s *sqlite.Store) Store { return plainStore{s} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			raw := openStore(t)
			st := tc.wrap(raw)
			if _, ok := st.(store.ClientBootstrapper); ok != tc.atomic {
				t.Fatalf("the store implements ClientBootstrapper: %v, want %v", ok, tc.atomic)
			}
			// Bad credentials from the environment fail an empty store's
			// start, naming the field, and write nothing.
			_, created, err := Bootstrap(ctx, st, id, "short")
			var inv *InvalidError
			if created || !errors.As(err, &inv) || inv.Field != "clientSecret" {
				t.Fatalf("Bootstrap with a short secret = %v, %v; want an InvalidError on clientSecret", created, err)
			}
			if cs, err := st.ListClients(ctx); err != nil || len(cs) != 0 {
				t.Fatalf("after a refused Bootstrap: %d clients, %v", len(cs), err)
			}

			cred, created, err := Bootstrap(ctx, st, id, secret)
			if err != nil || !created || cred != (Credentials{ClientID: id, ClientSecret: secret}) {
				t.Fatalf("Bootstrap = %+v, %v, %v", cred, created, err)
			}
			got, err := st.GetClient(ctx, id)
			if err != nil || got.Name != "admin" || len(got.Scopes) != 1 || got.Scopes[0] != "admin" || got.UserID != "" {
				t.Errorf("the first client = %+v, %v; want a machine client admin with scope admin", got, err)
			}
			// Once a client exists, nothing is created and nothing
			// fails, whatever the environment holds.
			for _, env := range [][2]string{{"", ""}, {"cl_other", secret}, {id, "short"}} {
				cred, created, err := Bootstrap(ctx, st, env[0], env[1])
				if err != nil || created || cred != (Credentials{}) {
					t.Errorf("Bootstrap(%q, ...) with a client stored = %+v, %v, %v; want nothing", env[0], cred, created, err)
				}
			}
			if cs, err := st.ListClients(ctx); err != nil || len(cs) != 1 {
				t.Errorf("ListClients = %d clients, %v; want the first only", len(cs), err)
			}
		})
	}
}

// TestBootstrapConcurrent bootstraps one empty SQLite file from several
// stores at once, as several processes would: one Admin client is created,
// and only its creator gets credentials.
func TestBootstrapConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	const n = 6
	stores := make([]*sqlite.Store, n)
	for i := range stores {
		s, err := sqlitetest.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	type result struct {
		cred    Credentials
		created bool
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			cred, created, err := Bootstrap(t.Context(), s, "", "")
			results[i] = result{cred, created, err}
		})
	}
	close(start)
	wg.Wait()
	var winners []Credentials
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("process %d: Bootstrap: %v", i, r.err)
		case r.created:
			winners = append(winners, r.cred)
		case r.cred != (Credentials{}):
			t.Errorf("process %d created nothing but returned credentials %s", i, r.cred.ClientID)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d processes created an Admin client, want 1", len(winners))
	}
	cs, err := stores[0].ListClients(t.Context())
	if err != nil || len(cs) != 1 || cs[0].ID != winners[0].ClientID {
		t.Fatalf("ListClients = %+v, %v; want only %s", cs, err, winners[0].ClientID)
	}
	a := New(stores[n-1], Options{})
	if _, _, err := a.IssueToken(t.Context(), winners[0].ClientID, winners[0].ClientSecret); err != nil {
		t.Errorf("the printed credentials are refused: %v", err)
	}
}
