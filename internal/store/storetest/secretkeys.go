package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// fingerprint is a stand-in for the fingerprint of key id: the store keeps
// it as opaque bytes.
func fingerprint(id string) []byte { return append([]byte{0, 0xfe}, "fp-"+id...) }

// keyRecords returns the key records as "id=fingerprint" strings.
func keyRecords(t *testing.T, s store.Store) []string {
	t.Helper()
	keys, err := s.ListSecretKeys(ctx(t))
	must(t, "ListSecretKeys", err)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s=%x", k.ID, k.Fingerprint)
	}
	return out
}

func records(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf("%s=%x", id, fingerprint(id))
	}
	return out
}

func checkRecords(t *testing.T, what string, s store.Store, want []string) {
	t.Helper()
	got := keyRecords(t, s)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: key records = %v, want %v", what, got, want)
	}
}

// testSecretKeys checks the key records: a secret is never stored under a
// key that is not recorded, a record never changes its fingerprint, and a
// record in use cannot be removed.
func testSecretKeys(t *testing.T, open opener) {
	s := open(t)
	checkRecords(t, "empty store", s, nil)

	// Recording a key directly, and again with the same fingerprint.
	must(t, "AddSecretKey", s.AddSecretKey(ctx(t), store.SecretKey{ID: "k2", Fingerprint: fingerprint("k2"), CreatedAt: at(1)}))
	must(t, "AddSecretKey again", s.AddSecretKey(ctx(t), store.SecretKey{ID: "k2", Fingerprint: fingerprint("k2"), CreatedAt: at(2)}))
	keys, err := s.ListSecretKeys(ctx(t))
	must(t, "ListSecretKeys", err)
	if len(keys) != 1 {
		t.Fatalf("ListSecretKeys = %d records, want 1", len(keys))
	}
	checker{t, "ListSecretKeys[0]"}.time("CreatedAt", keys[0].CreatedAt, at(1))
	wantErr(t, "AddSecretKey with another fingerprint", s.AddSecretKey(ctx(t), store.SecretKey{ID: "k2", Fingerprint: fingerprint("other")}), store.ErrConflict)
	checkRecords(t, "after a conflicting AddSecretKey", s, records("k2"))

	// Writing a secret records its key in the same transaction.
	a := secret("A", 3)
	must(t, "CreateSecret under k1", s.CreateSecret(ctx(t), a, event("secret.create", "A", 3)))
	checkRecords(t, "after CreateSecret under k1", s, records("k1", "k2"))
	got, err := s.GetSecret(ctx(t), "A")
	must(t, "GetSecret", err)
	if !bytes.Equal(got.KeyFingerprint, fingerprint("k1")) {
		t.Errorf("GetSecret.KeyFingerprint = %x, want the recorded %x", got.KeyFingerprint, fingerprint("k1"))
	}

	// A write whose fingerprint differs from the record writes nothing.
	before := audit(t, s)
	bad := secret("B", 4)
	bad.KeyFingerprint = fingerprint("impostor")
	wantErr(t, "CreateSecret with another fingerprint", s.CreateSecret(ctx(t), bad, event("secret.create", "B", 4)), store.ErrConflict)
	_, err = s.GetSecret(ctx(t), "B")
	wantErr(t, "GetSecret after a refused create", err, store.ErrNotFound)
	upd := a
	upd.KeyFingerprint, upd.Ciphertext, upd.UpdatedAt = fingerprint("impostor"), []byte("other"), at(5)
	wantErr(t, "UpdateSecret with another fingerprint", s.UpdateSecret(ctx(t), upd, got.UpdatedAt, event("secret.update", "A", 5)), store.ErrConflict)
	after, err := s.GetSecret(ctx(t), "A")
	must(t, "GetSecret", err)
	checkSecret(t, "GetSecret after a refused update", after, got)
	checkAudits(t, "ListAudit after refused writes", audit(t, s), before)
	checkRecords(t, "after refused writes", s, records("k1", "k2"))

	// A key that is not recorded needs its fingerprint.
	anon := secret("C", 6)
	anon.KeyID, anon.KeyFingerprint = "k3", nil
	if err := s.CreateSecret(ctx(t), anon, event("secret.create", "C", 6)); err == nil {
		t.Error("CreateSecret under an unrecorded key without a fingerprint succeeded")
	}
	_, err = s.GetSecret(ctx(t), "C")
	wantErr(t, "GetSecret after a create without fingerprint", err, store.ErrNotFound)
	checkRecords(t, "after a create without fingerprint", s, records("k1", "k2"))
	// A recorded key does not: a description change keeps the key as read.
	desc := got
	desc.KeyFingerprint, desc.Description, desc.UpdatedAt = nil, "new description", at(7)
	must(t, "UpdateSecret of a recorded key without fingerprint", s.UpdateSecret(ctx(t), desc, got.UpdatedAt, event("secret.update", "A", 7)))

	// An update to another key records it; the old record stays until it is
	// removed, which only works once no secret uses it.
	cur, err := s.GetSecret(ctx(t), "A")
	must(t, "GetSecret", err)
	wantErr(t, "DeleteSecretKey(k1) while A uses it", s.DeleteSecretKey(ctx(t), "k1"), store.ErrConflict)
	checkRecords(t, "after a refused DeleteSecretKey", s, records("k1", "k2"))
	rot := cur
	rot.KeyID, rot.KeyFingerprint, rot.Ciphertext, rot.UpdatedAt = "k4", fingerprint("k4"), []byte("sealed-k4"), at(8)
	must(t, "UpdateSecret to k4", s.UpdateSecret(ctx(t), rot, cur.UpdatedAt, event("key.rotate", "A", 8)))
	checkRecords(t, "after UpdateSecret to k4", s, records("k1", "k2", "k4"))
	must(t, "DeleteSecretKey(k1)", s.DeleteSecretKey(ctx(t), "k1"))
	must(t, "DeleteSecretKey(k2)", s.DeleteSecretKey(ctx(t), "k2"))
	wantErr(t, "DeleteSecretKey(k1) again", s.DeleteSecretKey(ctx(t), "k1"), store.ErrNotFound)
	checkRecords(t, "after DeleteSecretKey", s, records("k4"))
	got, err = s.GetSecret(ctx(t), "A")
	must(t, "GetSecret", err)
	if !bytes.Equal(got.KeyFingerprint, fingerprint("k4")) {
		t.Errorf("GetSecret.KeyFingerprint = %x, want %x", got.KeyFingerprint, fingerprint("k4"))
	}

	// Deleting the last secret of a key lets its record go.
	must(t, "DeleteSecret", s.DeleteSecret(ctx(t), "A", event("secret.delete", "A", 9)))
	must(t, "DeleteSecretKey(k4) once unused", s.DeleteSecretKey(ctx(t), "k4"))
	checkRecords(t, "at the end", s, nil)
}
