package storetest

import (
	"bytes"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testFingerprints checks the FingerprintStore methods: conditional
// replacement, only current fingerprints listed, removal with the secret,
// and a stamp that moves on every change.
func testFingerprints(t *testing.T, open opener) {
	s := open(t)
	stamps := map[string]string{}
	stamp := func(what string) {
		t.Helper()
		st, err := s.SecretsStamp(ctx(t))
		must(t, "SecretsStamp", err)
		if prev, dup := stamps[st]; dup {
			t.Fatalf("SecretsStamp after %s = %q, the same as after %s", what, st, prev)
		}
		stamps[st] = what
	}
	stamp("nothing")
	fp := func(key string, anchor uint64, sum byte) store.SecretFingerprint {
		return store.SecretFingerprint{KeyID: key, Length: 12, Anchor: anchor, Sum: bytes.Repeat([]byte{sum}, 32)}
	}
	for i, name := range []string{"B", "A"} {
		must(t, "CreateSecret", s.CreateSecret(ctx(t), secret(name, i), event("secret.create", name, i)))
	}
	stamp("two secrets")
	a, err := s.GetSecret(ctx(t), "A")
	must(t, "GetSecret", err)
	b, err := s.GetSecret(ctx(t), "B")
	must(t, "GetSecret", err)

	// A stale or zero version writes nothing.
	err = s.ReplaceSecretFingerprints(ctx(t), "A", a.UpdatedAt.Add(-1), []store.SecretFingerprint{fp("k1", 1, 1)})
	wantErr(t, "ReplaceSecretFingerprints(stale)", err, store.ErrConflict)
	err = s.ReplaceSecretFingerprints(ctx(t), "MISSING", a.UpdatedAt, nil)
	wantErr(t, "ReplaceSecretFingerprints(missing)", err, store.ErrNotFound)

	must(t, "Replace A", s.ReplaceSecretFingerprints(ctx(t), "A", a.UpdatedAt, []store.SecretFingerprint{fp("k1", 1, 1), fp("k1", 1<<63+5, 2)}))
	stamp("A's fingerprints")
	must(t, "Replace B", s.ReplaceSecretFingerprints(ctx(t), "B", b.UpdatedAt, []store.SecretFingerprint{fp("k1", 3, 3)}))
	stamp("B's fingerprints")
	must(t, "Replace A again", s.ReplaceSecretFingerprints(ctx(t), "A", a.UpdatedAt, []store.SecretFingerprint{fp("k2", 1<<63+5, 2)}))
	stamp("A's fingerprints again")

	list, err := s.ListSecretFingerprints(ctx(t))
	must(t, "ListSecretFingerprints", err)
	if len(list) != 2 || list[0].Secret != "A" || list[1].Secret != "B" {
		t.Fatalf("ListSecretFingerprints = %+v, want A's one then B's one", list)
	}
	c := checker{t, "A's fingerprint"}
	c.eq("KeyID", list[0].KeyID, "k2")
	c.eq("Length", list[0].Length, 12)
	c.eq("Anchor", list[0].Anchor, uint64(1<<63+5))
	c.eq("Sum", list[0].Sum, bytes.Repeat([]byte{2}, 32))
	c.time("SecretUpdatedAt", list[0].SecretUpdatedAt, a.UpdatedAt)

	// Updating the secret makes its fingerprints stale: no longer listed.
	upd := a
	upd.UpdatedAt = a.UpdatedAt.Add(1000)
	must(t, "UpdateSecret", s.UpdateSecret(ctx(t), upd, a.UpdatedAt, event("secret.update", "A", 5)))
	stamp("updating A")
	list, err = s.ListSecretFingerprints(ctx(t))
	must(t, "ListSecretFingerprints", err)
	if len(list) != 1 || list[0].Secret != "B" {
		t.Fatalf("ListSecretFingerprints after updating A = %+v, want B's only", list)
	}

	// Deleting a secret deletes its fingerprints.
	must(t, "DeleteSecret", s.DeleteSecret(ctx(t), "B", event("secret.delete", "B", 6)))
	stamp("deleting B")
	list, err = s.ListSecretFingerprints(ctx(t))
	must(t, "ListSecretFingerprints", err)
	if len(list) != 0 {
		t.Fatalf("ListSecretFingerprints after deleting B = %+v, want none", list)
	}
}
