package secret

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// sealStep stores v sealed for run runID, as the engine does with a step.
func sealStep(t *testing.T, f *fixture, runID string, v RunValues) {
	t.Helper()
	ctx := t.Context()
	run := store.Run{Identifier: runID, WorkflowID: "wf", WorkflowVersion: 1, CreatedBy: "u", TriggerNode: "trigger"}
	first := store.NodeRun{Identifier: runID + "_0", RunID: runID, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess}
	if err := f.st.CreateRun(ctx, run, first, nil); err != nil {
		t.Fatal(err)
	}
	keyID, sealed, err := f.svc.SealRun(runID, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.Apply(ctx, store.Transition{RunID: runID, Seal: &store.SealedValues{Origin: true, KeyID: keyID, Sealed: sealed}}); err != nil {
		t.Fatal(err)
	}
}

func TestSealRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := RunValues{Values: []string{"value-0123456789"}, Derived: []string{"derived-0123456789"}}
	keyID, sealed, err := f.svc.SealRun("wfr_a", want)
	if err != nil {
		t.Fatal(err)
	}
	if keyID != f.svc.Ring().PrimaryKeyID() {
		t.Errorf("sealed with %s, want the primary key %s", keyID, f.svc.Ring().PrimaryKeyID())
	}
	tests := []struct {
		name   string
		runID  string
		keyID  string
		sealed []byte
		ok     bool
	}{
		{"its run", "wfr_a", keyID, sealed, true},
		{"another run", "wfr_b", keyID, sealed, false},
		{"tampered", "wfr_a", keyID, append(slices.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1), false},
		{"truncated", "wfr_a", keyID, sealed[:5], false},
		{"unknown key", "wfr_a", "k_missing", sealed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.svc.OpenRun(tc.runID, tc.keyID, tc.sealed)
			if tc.ok {
				if err != nil || !slices.Equal(got.Values, want.Values) || !slices.Equal(got.Derived, want.Derived) {
					t.Fatalf("OpenRun = %+v, %v; want %+v", got, err, want)
				}
				return
			}
			var de *DecryptError
			if !errors.As(err, &de) {
				t.Fatalf("OpenRun = %+v, %v; want a *DecryptError", got, err)
			}
		})
	}
}

// TestSealedRowsUnderALostKey: a ring that lacks the key of a run's sealed
// values (and of no secret) is accepted, with a warning that names the
// runs and the key and says what to do; secrets keep working, a rotation
// leaves those rows as they are (nothing can open them) and is finished
// afterwards; the right ring opens them again. A ring that lacks a
// secret's key is still refused.
func TestSealedRowsUnderALostKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	lostKey := f.svc.Ring().PrimaryKeyID()
	for _, id := range []string{"wfr_a", "wfr_b"} {
		sealStep(t, f, id, RunValues{Values: []string{"value-0123456789"}})
	}
	keyDir := t.TempDir()
	other, err := LoadKeyRing(KeyOptions{DataDir: keyDir, Env: envOf(nil), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	svc, err := Open(ctx, f.st, other, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatalf("Open with a ring that lacks only the key of sealed run values = %v, want it accepted", err)
	}
	for _, want := range []string{"level=WARN", lostKey, "wfr_a", "wfr_b", "2 waiting run(s)", "masked whole", "restore " + other.Path(), "lost for good"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the warning does not say %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), "value-0123456789") {
		t.Error("the warning shows a sealed value")
	}
	if _, err := svc.Create(ctx, "admin", "TOKEN", "token-0123456789", ""); err != nil {
		t.Fatalf("Create with the new ring: %v", err)
	}
	res, err := svc.Rotate(ctx, "admin")
	if err != nil {
		t.Fatalf("Rotate with rows under a lost key: %v", err)
	}
	if len(res.RetiredKeyIDs) != 1 || res.NewKeyID == res.RetiredKeyIDs[0] {
		t.Errorf("Rotate = %+v, want a new key and the ring's old one retired", res)
	}
	for _, id := range []string{"wfr_a", "wfr_b"} {
		rows, err := f.st.RunSeals(ctx, id)
		if err != nil || len(rows) != 1 || rows[0].KeyID != lostKey {
			t.Errorf("RunSeals(%s) after the rotation = %+v, %v; want the row left under the lost key", id, rows, err)
		}
	}
	if why, err := svc.unfinishedRotation(ctx); err != nil || why != "" {
		t.Errorf("after the rotation: unfinished = %q, %v; want finished (rows under a lost key cannot count)", why, err)
	}
	// The old ring lacks the key of secret TOKEN: refused, naming it.
	_, err = Open(ctx, f.st, f.svc.Ring())
	var mismatch *KeyMismatchError
	if !errors.As(err, &mismatch) || len(mismatch.Problems) != 1 || mismatch.Problems[0].Secrets[0] != "TOKEN" {
		t.Fatalf("Open with a ring that lacks a secret's key = %v, want a *KeyMismatchError naming TOKEN", err)
	}
	// Given back its key (a ring with both), a row opens again.
	primaryRaw := func(r *KeyRing) []byte { set := r.set.Load(); return set.keys[set.primary].raw }
	both, err := NewKeyRing(primaryRaw(svc.Ring()), primaryRaw(f.svc.Ring()))
	if err != nil {
		t.Fatal(err)
	}
	back, err := Open(ctx, f.st, both)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.st.RunSeals(ctx, "wfr_a")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := back.OpenRun("wfr_a", rows[0].KeyID, rows[0].Sealed); err != nil || got.Values[0] != "value-0123456789" {
		t.Errorf("OpenRun with the key given back = %+v, %v", got, err)
	}
}

// TestRotateReseals: a rotation moves the sealed values of waiting runs to
// the new key, and they still open.
func TestRotateReseals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := RunValues{Values: []string{"value-0123456789"}}
	sealStep(t, f, "wfr_a", want)
	old := f.svc.Ring().PrimaryKeyID()
	res, err := f.svc.Rotate(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.st.RunSeals(t.Context(), "wfr_a")
	if err != nil || len(rows) != 1 {
		t.Fatalf("RunSeals = %+v, %v", rows, err)
	}
	if rows[0].KeyID != res.NewKeyID || rows[0].KeyID == old {
		t.Fatalf("sealed row under %s after the rotation from %s to %s", rows[0].KeyID, old, res.NewKeyID)
	}
	got, err := f.svc.OpenRun("wfr_a", rows[0].KeyID, rows[0].Sealed)
	if err != nil || !slices.Equal(got.Values, want.Values) {
		t.Fatalf("OpenRun after rotation = %+v, %v", got, err)
	}
	if pending, err := f.svc.unfinishedRotation(t.Context()); err != nil || pending != "" {
		t.Errorf("unfinishedRotation after rotating = %q, %v; want finished", pending, err)
	}
}

// FuzzOpenRun: whatever bytes a sealed row holds, OpenRun returns an error
// or the values sealed for that run, and never panics.
func FuzzOpenRun(f *testing.F) {
	ring, err := NewKeyRing(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	svc := NewService(nil, ring)
	keyID, sealed, err := svc.SealRun("wfr_a", RunValues{Values: []string{"value-0123456789"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, "wfr_a")
	f.Add([]byte{}, "wfr_a")
	f.Add(sealed[:12], "wfr_b")
	f.Fuzz(func(t *testing.T, data []byte, runID string) {
		v, err := svc.OpenRun(runID, keyID, data)
		if err != nil {
			return
		}
		// Every worker seals with a fresh nonce: what opens is a seal of
		// the same values for the same run, never another run's.
		if runID != "wfr_a" || !slices.Equal(v.Values, []string{"value-0123456789"}) {
			t.Fatalf("OpenRun(%q, %x) opened %+v", runID, data, v)
		}
	})
}

// TestSealRunHeldHoldsRotation: a rotation cannot start while a sealed row
// is on its way to the store (the read lock is held until release), and
// can once it is released; release may be called twice.
func TestSealRunHeldHoldsRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, _, release, err := f.svc.SealRunHeld("wfr_a", RunValues{Values: []string{"value-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.svc.rotMu.TryLock() {
		f.svc.rotMu.Unlock()
		t.Fatal("a rotation could take its lock while a sealed row was not yet stored")
	}
	release()
	release()
	if !f.svc.rotMu.TryLock() {
		t.Fatal("a rotation cannot take its lock after release")
	}
	f.svc.rotMu.Unlock()
}
