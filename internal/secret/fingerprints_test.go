package secret

import (
	"net/url"
	"slices"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// matches returns the secrets the service's Matcher finds in text.
func matches(t *testing.T, svc *Service, text string) []string {
	t.Helper()
	x, err := svc.Matcher(t.Context())
	if err != nil {
		t.Fatalf("Matcher: %v", err)
	}
	return x.Secrets(text)
}

func TestFingerprintsFollowSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	const v1, v2 = "first-value-of-the-token", "second-value-of-the-token"
	if _, err := f.svc.Create(ctx, "admin", "TOKEN", v1, ""); err != nil {
		t.Fatal(err)
	}
	fps, err := f.st.ListSecretFingerprints(ctx)
	if err != nil || len(fps) == 0 {
		t.Fatalf("fingerprints after Create: %d, %v", len(fps), err)
	}
	for _, fp := range fps {
		if fp.KeyID != f.svc.Ring().PrimaryKeyID() {
			t.Fatalf("fingerprint under key %s, want the primary", fp.KeyID)
		}
	}
	if got := matches(t, f.svc, "x-"+url.QueryEscape(v1)+"-y"); !slices.Equal(got, []string{"TOKEN"}) {
		t.Fatalf("after Create: %v", got)
	}
	if _, err := f.svc.Update(ctx, "admin", "TOKEN", ptr(v2), nil); err != nil {
		t.Fatal(err)
	}
	if got := matches(t, f.svc, v1); len(got) != 0 {
		t.Fatalf("the old value still matches after Update: %v", got)
	}
	if got := matches(t, f.svc, v2); !slices.Equal(got, []string{"TOKEN"}) {
		t.Fatalf("the new value after Update: %v", got)
	}
	// A description change makes the fingerprints stale (the version
	// moved); the next check recomputes them.
	if _, err := f.svc.Update(ctx, "admin", "TOKEN", nil, ptr("new description")); err != nil {
		t.Fatal(err)
	}
	if got := matches(t, f.svc, v2); !slices.Equal(got, []string{"TOKEN"}) {
		t.Fatalf("after a description change: %v", got)
	}
	if err := f.svc.Delete(ctx, "admin", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	if got := matches(t, f.svc, v2); len(got) != 0 {
		t.Fatalf("a deleted secret still matches: %v", got)
	}
}

// TestFingerprintsBackfill covers secrets stored before fingerprints
// existed (or by a process that did not compute them): the first check
// fingerprints them, and only them.
func TestFingerprintsBackfill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	const old = "value-stored-before-0005"
	// The service's first write records the key, so that the store takes
	// a secret under it without a key fingerprint, as an older sluice
	// wrote it.
	if _, err := f.svc.Create(ctx, "admin", "NEW", "value-with-fingerprints", ""); err != nil {
		t.Fatal(err)
	}
	keyID, ct, err := f.svc.Ring().Encrypt("LEGACY", []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateSecret(ctx, store.Secret{Name: "LEGACY", KeyID: keyID, Ciphertext: ct, CreatedBy: "admin"}, store.AuditEvent{Action: ActionCreate, Actor: "admin", Secret: "LEGACY"}); err != nil {
		t.Fatal(err)
	}
	if got := matches(t, f.svc, "Bearer "+old); !slices.Equal(got, []string{"LEGACY"}) {
		t.Fatalf("legacy secret: %v", got)
	}
	n, err := f.svc.EnsureFingerprints(ctx)
	if err != nil || n != 0 {
		t.Fatalf("EnsureFingerprints after the backfill = %d, %v; want 0, nil", n, err)
	}
}

// TestFingerprintsAfterRotation checks that a rotation recomputes the
// fingerprints under the new key, and that they still match.
func TestFingerprintsAfterRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	const v = "rotated-secret-value"
	if _, err := f.svc.Create(ctx, "admin", "ROT", v, ""); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Rotate(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	fps, err := f.st.ListSecretFingerprints(ctx)
	if err != nil || len(fps) == 0 {
		t.Fatalf("fingerprints after Rotate: %d, %v", len(fps), err)
	}
	for _, fp := range fps {
		if fp.KeyID != res.NewKeyID {
			t.Fatalf("fingerprint under %s after rotating to %s", fp.KeyID, res.NewKeyID)
		}
	}
	if got := matches(t, f.svc, v); !slices.Equal(got, []string{"ROT"}) {
		t.Fatalf("after Rotate: %v", got)
	}
}
