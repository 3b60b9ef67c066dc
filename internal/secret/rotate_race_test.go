package secret

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// createSecrets creates n secrets S0..S(n-1) and returns their values.
func createSecrets(t *testing.T, f *fixture, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := range n {
		name, v := fmt.Sprintf("S%d", i), fmt.Sprintf("value-%d-before-rotation", i)
		want[name] = v
		if _, err := f.svc.Create(t.Context(), "admin", name, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// TestResolveAcrossAWholeRotation runs a whole rotation in the rotating
// process between the moment a resolution read its secrets and the moment
// it decrypts them: the ciphertexts it holds are under the key the
// rotation just retired. The resolution must read the secrets again
// rather than fail the node run.
func TestResolveAcrossAWholeRotation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		available bool   // ResolveAvailable instead of Resolve
		deleted   string // deleted by the hook after the rotation
		wantErr   string // "" for success
	}{
		{name: "rotation"},
		{name: "rotation, available", available: true},
		{name: "rotation then delete", deleted: "S1", wantErr: "S1"},
		{name: "rotation then delete, available", available: true, deleted: "S1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			want := createSecrets(t, f, 3)
			oldID := f.svc.Ring().PrimaryKeyID()
			var (
				res    RotateResult
				rotErr error
				hooked int
			)
			f.svc.hooks.resolveRead = func() {
				hooked++
				if hooked > 1 {
					return // a read again after the rotation
				}
				if res, rotErr = f.svc.Rotate(ctx, "admin"); rotErr != nil {
					return
				}
				if tc.deleted != "" {
					rotErr = f.svc.Delete(ctx, "admin", tc.deleted)
				}
			}
			names := []string{"S0", "S1", "S2"}
			ref := ResolveRef{RunID: "wfr_across", NodeRunID: "wfnr_across"}
			var (
				got map[string]string
				err error
			)
			if tc.available {
				got, err = f.svc.ResolveAvailable(ctx, ref, names)
			} else {
				got, err = f.svc.Resolve(ctx, ref, names)
			}
			if rotErr != nil {
				t.Fatal(rotErr)
			}
			if hooked == 0 || res.NewKeyID == oldID || len(res.RetiredKeyIDs) != 1 || res.RetiredKeyIDs[0] != oldID {
				t.Fatalf("the rotation did not run between the read and the decryption: hook ran %d times, result %+v", hooked, res)
			}
			if f.svc.Ring().KeyIDs()[0] != res.NewKeyID || len(f.svc.Ring().KeyIDs()) != 1 {
				t.Fatalf("ring after the rotation: %v; want only %s", f.svc.Ring().KeyIDs(), res.NewKeyID)
			}
			if tc.wantErr != "" {
				var nd *NotDefinedError
				if !errors.As(err, &nd) || nd.Name != tc.wantErr || got != nil {
					t.Fatalf("resolve: %v (values %d); want %s not defined", err, len(got), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("a resolution that read its secrets before a rotation failed after it: %v", err)
			}
			exp := maps.Clone(want)
			delete(exp, tc.deleted)
			if !maps.Equal(got, exp) {
				t.Fatalf("resolved %d values (%v); want %d, each its value", len(got), namesOf(got), len(exp))
			}
			evs, err := f.st.ListAudit(ctx, 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			resolved := 0
			for _, ev := range evs {
				if ev.Action == ActionResolve && ev.RunID == ref.RunID {
					resolved++
				}
			}
			if resolved != len(exp) {
				t.Fatalf("%d secret.resolve events; want one per value returned (%d)", resolved, len(exp))
			}
		})
	}
}

// namesOf lists a result's names, for messages (never its values).
func namesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	return out
}

// TestServerResolveAcrossARotation is the same race in another process (a
// service with its own ring, loaded before the rotation): it reads one
// secret already re-encrypted and one not yet, then the rotation finishes.
// Decrypting the first makes its ring reload the key file, which by then
// holds only the new key; the second, read under the old key, must be read
// again, not fail.
func TestServerResolveAcrossARotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	want := createSecrets(t, f, 3)
	serverRing, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	server := NewService(f.st, serverRing)
	if err := server.Check(ctx); err != nil {
		t.Fatal(err)
	}
	oldID := serverRing.PrimaryKeyID()

	readDone, rotated, resolved := make(chan struct{}), make(chan struct{}), make(chan struct{})
	server.hooks.resolveRead = func() {
		select {
		case <-readDone: // a read again: the rotation is over
			return
		default:
		}
		close(readDone)
		<-rotated
	}
	var (
		got      map[string]string
		names    []string
		resolveE error
	)
	f.svc.hooks.reencrypted = func(first string) {
		if names != nil {
			return
		}
		// One secret is under the new key, the others still under the
		// old one: the server reads both kinds, the new one first.
		names = []string{first}
		for n := range want {
			if n != first {
				names = append(names, n)
			}
		}
		go func() {
			defer close(resolved)
			got, resolveE = server.Resolve(ctx, ResolveRef{RunID: "wfr_server"}, names)
		}()
		<-readDone
	}
	res, err := f.svc.Rotate(ctx, "admin")
	close(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if names == nil {
		t.Fatal("the rotation re-encrypted nothing")
	}
	<-resolved
	if res.NewKeyID == oldID || len(res.RetiredKeyIDs) != 1 {
		t.Fatalf("rotate result %+v (old key %s)", res, oldID)
	}
	if resolveE != nil {
		t.Fatalf("a server resolution that read its secrets during a rotation failed after it: %v", resolveE)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("resolved %v; want every secret with its value", namesOf(got))
	}
	if ids := serverRing.KeyIDs(); len(ids) != 1 || ids[0] != res.NewKeyID {
		t.Fatalf("server ring %v; want only the new key %s", ids, res.NewKeyID)
	}
}

// TestResolveMissingKeyStillFails checks that reading a secret again does
// not hide a key that is really missing: the row read again is under the
// same key, and the resolution fails naming the secret and the key.
func TestResolveMissingKeyStillFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	createSecrets(t, f, 2)
	if err := f.svc.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// After the check, S1 is moved under a key no ring holds (a store
	// restored from another installation, say).
	sec, err := f.st.GetSecret(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	read := sec.UpdatedAt
	sec.KeyID, sec.UpdatedAt = KeyID(testKey(9)), read.Add(time.Microsecond)
	if err := f.st.UpdateSecret(ctx, sec, read, store.AuditEvent{Action: ActionUpdate, Actor: "admin", Secret: "S1", CreatedAt: sec.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Resolve(ctx, ResolveRef{RunID: "wfr_missing"}, []string{"S0", "S1"})
	var de *DecryptError
	if !errors.As(err, &de) || de.Name != "S1" || de.KeyID != sec.KeyID || got != nil ||
		!strings.Contains(err.Error(), "key "+sec.KeyID+" is not in the key ring") {
		t.Fatalf("resolve: %v; want S1 not decryptable, key %s not in the ring", err, sec.KeyID)
	}
}
