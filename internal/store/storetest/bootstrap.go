package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// bootstrapCallers is how many callers the concurrency cases of
// CreateFirstClient race.
const bootstrapCallers = 8

// testClientBootstrap checks store.ClientBootstrapper on one store handle,
// for stores that implement it; others skip it. RunClientBootstrapShared
// races several handles on one store.
func testClientBootstrap(t *testing.T, open opener) {
	bootstrapper := func(t *testing.T) (store.Store, store.ClientBootstrapper) {
		t.Helper()
		s := open(t)
		b, ok := s.(store.ClientBootstrapper)
		if !ok {
			t.Skip("the store does not implement store.ClientBootstrapper")
		}
		return s, b
	}

	t.Run("FirstThenNone", func(t *testing.T) {
		s, b := bootstrapper(t)
		// Rejected, writing nothing: no id, no secret hash, a user that
		// does not exist.
		bad := []struct {
			name   string
			c      store.Client
			target error
		}{
			{"no id", store.Client{Name: "admin", SecretHash: hash("x"), Scopes: []string{"admin"}}, nil},
			{"no secret hash", store.Client{ID: "cl_admin", Name: "admin", Scopes: []string{"admin"}}, nil},
			{"no such user", client("cl_ann", "usr_missing", 0), store.ErrNotFound},
		}
		for _, tc := range bad {
			created, err := b.CreateFirstClient(ctx(t), tc.c)
			if err == nil || created {
				t.Errorf("CreateFirstClient (%s) = %v, %v; want an error", tc.name, created, err)
			}
			if tc.target != nil {
				wantErr(t, "CreateFirstClient ("+tc.name+")", err, tc.target)
			}
		}
		checkClientCount(t, s, 0)

		first := client("cl_first", "", 1, "admin")
		created, err := b.CreateFirstClient(ctx(t), first)
		must(t, "CreateFirstClient (empty store)", err)
		if !created {
			t.Fatal("CreateFirstClient on an empty store = false, want true")
		}
		got, err := s.GetClient(ctx(t), first.ID)
		must(t, "GetClient", err)
		checkClient(t, "GetClient (the first client)", got, first)

		// Any client, whatever it is, means there is nothing to bootstrap;
		// a taken id too is no error, since nothing is written.
		for _, c := range []store.Client{client("cl_second", "", 2, "admin"), first} {
			created, err := b.CreateFirstClient(ctx(t), c)
			must(t, "CreateFirstClient (a client exists) "+c.ID, err)
			if created {
				t.Errorf("CreateFirstClient %s with a client stored = true, want false", c.ID)
			}
		}
		checkClientCount(t, s, 1)
	})

	t.Run("AfterCreateClient", func(t *testing.T) {
		s, b := bootstrapper(t)
		must(t, "CreateUser", s.CreateUser(ctx(t), user("usr_ann", "ann@example.test", 0)))
		must(t, "CreateClient", s.CreateClient(ctx(t), client("cl_ann", "usr_ann", 1)))
		created, err := b.CreateFirstClient(ctx(t), client("cl_admin", "", 2, "admin"))
		must(t, "CreateFirstClient", err)
		if created {
			t.Error("CreateFirstClient after a user's client = true, want false")
		}
		checkClientCount(t, s, 1)
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, b := bootstrapper(t)
		handles := slices.Repeat([]store.ClientBootstrapper{b}, bootstrapCallers) // one store, called at once
		raceFirstClient(t, s, handles)
	})
}

// RunClientBootstrapShared races CreateFirstClient across several handles
// on ONE empty store, as processes starting together do: open must return
// n stores (separate connection pools, or separate handles on one file)
// over the same new, empty database. It closes them when the test ends.
// The stores must implement store.ClientBootstrapper.
func RunClientBootstrapShared(t *testing.T, open func(t *testing.T, n int) []store.Store) {
	t.Helper()
	stores, handles := sharedHandles[store.ClientBootstrapper](t, open, bootstrapCallers, "store.ClientBootstrapper")
	raceFirstClient(t, stores[0], handles)
}

// sharedHandles opens n stores over one database with open, closes them
// when the test ends, and returns them with each as a T (the capability
// named what), failing the test for a store that is not one.
func sharedHandles[T any](t *testing.T, open func(t *testing.T, n int) []store.Store, n int, what string) ([]store.Store, []T) {
	t.Helper()
	stores := open(t, n)
	if len(stores) != n {
		t.Fatalf("open returned %d stores, want %d", len(stores), n)
	}
	handles := make([]T, len(stores))
	for i, s := range stores {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close store %d: %v", i, err)
			}
		})
		h, ok := s.(T)
		if !ok {
			t.Fatalf("store %d (%T) does not implement %s", i, s, what)
		}
		handles[i] = h
	}
	return stores, handles
}

// raceFirstClient calls CreateFirstClient from one goroutine per handle,
// released at once, each with a client of its own, on an empty store:
// exactly one must create its client, the others must answer false and no
// error, and that one client must be all the store holds.
func raceFirstClient(t *testing.T, s store.Store, handles []store.ClientBootstrapper) {
	t.Helper()
	type result struct {
		created bool
		err     error
	}
	results := make([]result, len(handles))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, b := range handles {
		wg.Go(func() {
			<-start
			c := client(fmt.Sprintf("cl_admin_%d", i), "", i, "admin")
			created, err := b.CreateFirstClient(ctx(t), c)
			results[i] = result{created, err}
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("caller %d: CreateFirstClient: %v", i, r.err)
		case r.created && winner != "":
			t.Errorf("caller %d created a client too, after %s", i, winner)
		case r.created:
			winner = fmt.Sprintf("cl_admin_%d", i)
		}
	}
	if winner == "" {
		t.Fatal("no caller created the first client")
	}
	list, err := s.ListClients(ctx(t))
	must(t, "ListClients", err)
	if len(list) != 1 || list[0].ID != winner {
		ids := make([]string, len(list))
		for i, c := range list {
			ids[i] = c.ID
		}
		t.Errorf("the store holds clients %v, want only %s", ids, winner)
	}
}

// checkClientCount fails the test unless the store holds n clients.
func checkClientCount(t *testing.T, s store.Store, n int) {
	t.Helper()
	list, err := s.ListClients(ctx(t))
	must(t, "ListClients", err)
	if len(list) != n {
		t.Fatalf("ListClients = %d clients, want %d", len(list), n)
	}
}
