package secret

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// interleavingStore is a real store that lets a test act between a
// service's read of a secret and its write. When read is set, the first
// GetSecret closes it and waits until resume is closed; listRead and
// listResume do the same for the first ListSecrets. afterGet, when set, runs
// after every GetSecret. The fields are set before use and never changed.
type interleavingStore struct {
	store.Store
	read, resume         chan struct{}
	listRead, listResume chan struct{}
	afterGet             func()
	getOnce, listOnce    sync.Once
}

func (p *interleavingStore) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	sec, err := p.Store.GetSecret(ctx, name)
	if p.read != nil {
		p.getOnce.Do(func() { close(p.read); <-p.resume })
	}
	if p.afterGet != nil {
		p.afterGet()
	}
	return sec, err
}

func (p *interleavingStore) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	secs, err := p.Store.ListSecrets(ctx)
	if p.listRead != nil {
		p.listOnce.Do(func() { close(p.listRead); <-p.listResume })
	}
	return secs, err
}

// A PATCH {description} that read the secret before a PATCH {secretValue}
// committed must not write back the old ciphertext (found in review: the
// replaced, maybe leaked, value came back).
func TestConcurrentUpdateKeepsNewValue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.Create(ctx, "admin", "TOKEN", "leaked-old-value", "first"); err != nil {
		t.Fatal(err)
	}
	ps := &interleavingStore{Store: f.st, read: make(chan struct{}), resume: make(chan struct{})}
	svc := NewService(ps, f.svc.ring)
	type result struct {
		md  Metadata
		err error
	}
	done := make(chan result)
	go func() {
		md, err := svc.Update(ctx, "admin", "TOKEN", nil, ptr("new description"))
		done <- result{md, err}
	}()
	<-ps.read // the description update has read the old ciphertext
	valueMD, err := f.svc.Update(ctx, "admin", "TOKEN", ptr("rotated-new-value"), nil)
	if err != nil {
		t.Fatal(err)
	}
	close(ps.resume)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.md.Description != "new description" || !res.md.UpdatedAt.After(valueMD.UpdatedAt) {
		t.Errorf("description update = %+v; want the new description, updated after the value update (%s)", res.md, valueMD.UpdatedAt)
	}
	assertResolves(t, f.svc, map[string]string{"TOKEN": "rotated-new-value"})
	md, err := f.svc.Get(ctx, "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if md.Description != "new description" {
		t.Errorf("description = %q, want the one set by the second update", md.Description)
	}
	// One create and two updates, no more.
	evs, err := f.svc.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if fmt.Sprint(actions) != fmt.Sprint([]string{ActionResolve, ActionUpdate, ActionUpdate, ActionCreate}) {
		t.Errorf("audit actions newest first = %v", actions)
	}
}

// Update gives up with ErrConflict, writing nothing of its own, when the
// secret changes between every read and write.
func TestUpdateGivesUpOnConstantConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.Create(ctx, "admin", "TOKEN", "the-value", "first"); err != nil {
		t.Fatal(err)
	}
	meddles := 0
	ps := &interleavingStore{Store: f.st}
	ps.afterGet = func() {
		meddles++
		if _, err := f.svc.Update(ctx, "other", "TOKEN", nil, ptr(fmt.Sprintf("meddle %d", meddles))); err != nil {
			t.Error(err)
		}
	}
	_, err := NewService(ps, f.svc.ring).Update(ctx, "admin", "TOKEN", ptr("lost-value"), nil)
	if !errors.Is(err, ErrConflict) || !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "TOKEN") {
		t.Fatalf("Update racing a writer on every attempt: %v; want ErrConflict naming the secret", err)
	}
	if meddles != MaxUpdateAttempts {
		t.Errorf("%d attempts, want %d", meddles, MaxUpdateAttempts)
	}
	assertResolves(t, f.svc, map[string]string{"TOKEN": "the-value"})
	evs, err := f.svc.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Actor == "admin" && ev.Action == ActionUpdate {
			t.Errorf("audit records an update that did not happen: %+v", ev)
		}
	}
}

// A rotation (think `sluice keys rotate` in another process, with
// SLUICE_MASTER_KEY="NEW,OLD") that listed the secrets before a server still
// on the old key changed a value re-encrypts the current value, not the one
// it listed.
func TestRotationKeepsValueChangedMeanwhile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	oldKey, newKey := mustKey(t), mustKey(t)
	oldRing, err := NewKeyRing(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	server := NewService(f.st, oldRing, WithClock(f.svc.now))
	want := map[string]string{"A": "a-value-before", "B": "b-value-before"}
	for n, v := range want {
		if _, err := server.Create(ctx, "admin", n, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	bothRing, err := NewKeyRing(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ps := &interleavingStore{Store: f.st, listRead: make(chan struct{}), listResume: make(chan struct{})}
	rotator := NewService(ps, bothRing, WithClock(f.svc.now))
	type result struct {
		res RotateResult
		err error
	}
	done := make(chan result)
	go func() {
		res, err := rotator.Rotate(ctx, "admin")
		done <- result{res, err}
	}()
	<-ps.listRead // the rotation has listed the old values
	if _, err := server.Update(ctx, "admin", "B", ptr("b-value-after"), nil); err != nil {
		t.Fatal(err)
	}
	want["B"] = "b-value-after"
	close(ps.listResume)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.NewKeyID != KeyID(newKey) || r.res.Reencrypted != 2 {
		t.Errorf("rotation result %+v; want 2 secrets re-encrypted with key %s", r.res, KeyID(newKey))
	}
	newRing, err := NewKeyRing(newKey)
	if err != nil {
		t.Fatal(err)
	}
	assertUnder(t, f.st, KeyID(newKey))
	assertResolves(t, NewService(f.st, newRing), want)
}

// An update in another process that read a secret before a rotation
// re-encrypted it must not write back the ciphertext under the retired key.
func TestUpdateDuringRotationKeepsNewKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	want := map[string]string{"TOKEN": "the-token-value"}
	if _, err := f.svc.Create(ctx, "admin", "TOKEN", want["TOKEN"], "first"); err != nil {
		t.Fatal(err)
	}
	serverRing, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ps := &interleavingStore{Store: f.st, read: make(chan struct{}), resume: make(chan struct{})}
	server := NewService(ps, serverRing, WithClock(f.svc.now))
	done := make(chan error)
	go func() { _, err := server.Update(ctx, "admin", "TOKEN", nil, ptr("second")); done <- err }()
	<-ps.read // the update has read the ciphertext under the old key
	res, err := f.svc.Rotate(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	close(ps.resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	md, err := f.svc.Get(ctx, "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if md.Description != "second" {
		t.Errorf("description = %q, want the update's", md.Description)
	}
	assertAllUnder(t, f, res.NewKeyID, want)
}

// assertAllUnder checks that every secret is under key keyID and that a
// fresh process, with only the key file as it is now, resolves want.
func assertAllUnder(t *testing.T, f *fixture, keyID string, want map[string]string) {
	t.Helper()
	assertUnder(t, f.st, keyID)
	fresh, err := LoadKeyRing(KeyOptions{KeyFile: f.keyPath, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	assertResolves(t, NewService(f.st, fresh), want)
}

// assertUnder checks that every secret in st is under key keyID.
func assertUnder(t *testing.T, st store.Store, keyID string) {
	t.Helper()
	secs, err := st.ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		if s.KeyID != keyID {
			t.Errorf("%s is under key %s, want %s", s.Name, s.KeyID, keyID)
		}
	}
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
