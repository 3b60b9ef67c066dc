package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testSeals checks Transition.Seal and store.SealStore, for stores that
// implement it; others skip it.
func testSeals(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.SealStore); !ok {
		t.Skip("the store does not implement store.SealStore")
	}
	// started creates run id with a started node run id+"_1".
	started := func(t *testing.T, s store.Store, id string) {
		t.Helper()
		createRun(t, s, newRun(id, "deploy", "ann", 0))
		nr := newNodeRun(id+"_1", id, "publish", 1, 1)
		must(t, "Start "+nr.Identifier, s.Apply(ctx(t), store.Transition{RunID: id, Start: &nr}))
	}
	seal := func(origin bool, key, ct string) *store.SealedValues {
		return &store.SealedValues{Origin: origin, KeyID: key, Sealed: []byte(ct), CreatedAt: at(1)}
	}
	rows := func(t *testing.T, s store.Store, id string) []store.SealedValues {
		t.Helper()
		vs, err := s.(store.SealStore).RunSeals(ctx(t), id)
		must(t, "RunSeals "+id, err)
		return vs
	}
	keys := func(t *testing.T, s store.Store) []string {
		t.Helper()
		ids, err := s.(store.SealStore).SealKeyIDs(ctx(t))
		must(t, "SealKeyIDs", err)
		return ids
	}

	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"AppendedInOrderWithTheirStep", func(t *testing.T, s store.Store) {
			started(t, s, "wfr_a")
			must(t, "Wait with seal", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Wait: "wfr_a_1", Seal: seal(true, "k1", "first")}))
			must(t, "Logs with seal", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Seal: seal(false, "k2", "second")}))
			started(t, s, "wfr_b")
			must(t, "other run", s.Apply(ctx(t), store.Transition{RunID: "wfr_b", Seal: seal(true, "k1", "other")}))
			got := rows(t, s, "wfr_a")
			if len(got) != 2 || !got[0].Origin || got[1].Origin || string(got[0].Sealed) != "first" || string(got[1].Sealed) != "second" ||
				got[0].KeyID != "k1" || got[1].KeyID != "k2" || got[0].ID >= got[1].ID || got[0].RunID != "wfr_a" || !near(got[0].CreatedAt, at(1)) {
				t.Fatalf("RunSeals(wfr_a) = %+v, want origin k1 first, then k2 second", got)
			}
			if ks := keys(t, s); len(ks) != 2 || ks[0] != "k1" || ks[1] != "k2" {
				t.Errorf("SealKeyIDs = %v, want [k1 k2]", ks)
			}
			if got := rows(t, s, "wfr_missing"); len(got) != 0 {
				t.Errorf("RunSeals(missing run) = %+v, want none", got)
			}
		}},
		{"RefusedStepSealsNothing", func(t *testing.T, s store.Store) {
			started(t, s, "wfr_a")
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(2)}}))
			err := s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Seal: seal(false, "k1", "late")})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Apply(seal) on a finished run = %v, want ErrConflict", err)
			}
			err = s.Apply(ctx(t), store.Transition{RunID: "wfr_none", Seal: seal(false, "k1", "none")})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Apply(seal) on a missing run = %v, want ErrNotFound", err)
			}
			if got := rows(t, s, "wfr_a"); len(got) != 0 {
				t.Errorf("RunSeals after refused steps = %+v, want none", got)
			}
		}},
		{"EmptySealRefused", func(t *testing.T, s store.Store) {
			// A row without a key id or ciphertext could never open, and a
			// key id "" would fail the key check at every start.
			started(t, s, "wfr_a")
			for _, v := range []*store.SealedValues{
				{Origin: true, Sealed: []byte("x"), CreatedAt: at(1)},
				{Origin: true, KeyID: "k1", CreatedAt: at(1)},
			} {
				err := s.Apply(ctx(t), store.Transition{RunID: "wfr_a", Seal: v,
					Logs: []store.Log{{NodeRunID: "wfr_a_1", Level: "INFO", Message: redact.TrustedText("kept?"), CreatedAt: at(2)}}})
				if err == nil {
					t.Errorf("Apply(seal %+v) succeeded, want it refused", v)
				}
			}
			if got := rows(t, s, "wfr_a"); len(got) != 0 {
				t.Errorf("RunSeals after refused seals = %+v, want none", got)
			}
			if ls, err := s.Logs(ctx(t), "wfr_a_1"); err != nil || len(ls) != 0 {
				t.Errorf("Logs after refused seals = %+v, %v; want none (the step is refused whole)", ls, err)
			}
		}},
		{"FinishDeletesTheRunsRows", func(t *testing.T, s store.Store) {
			for _, id := range []string{"wfr_done", "wfr_kept"} {
				started(t, s, id)
				must(t, "seal "+id, s.Apply(ctx(t), store.Transition{RunID: id, Seal: seal(true, "k1", id)}))
			}
			// A Seal in the finishing step itself is not kept either.
			must(t, "Finish", s.Apply(ctx(t), store.Transition{RunID: "wfr_done", Seal: seal(false, "k1", "x"),
				Complete: &store.NodeRunCompletion{NodeRunID: "wfr_done_1", Result: store.ResultCancelled, CompletedAt: at(3)},
				Finish:   &store.RunCompletion{Result: store.ResultCancelled, CompletedAt: at(3)}}))
			if got := rows(t, s, "wfr_done"); len(got) != 0 {
				t.Errorf("RunSeals(finished run) = %+v, want none", got)
			}
			if got := rows(t, s, "wfr_kept"); len(got) != 1 {
				t.Errorf("RunSeals(unfinished run) = %+v, want its row", got)
			}
		}},
		{"ListAndReseal", func(t *testing.T, s store.Store) {
			ss := s.(store.SealStore)
			for _, id := range []string{"wfr_a", "wfr_b", "wfr_c"} {
				started(t, s, id)
				must(t, "seal "+id, s.Apply(ctx(t), store.Transition{RunID: id, Seal: seal(true, "old", id)}))
			}
			// A row under another key, between them, is not listed.
			must(t, "seal other key", s.Apply(ctx(t), store.Transition{RunID: "wfr_c", Seal: seal(false, "other", "x")}))
			started(t, s, "wfr_d")
			must(t, "seal wfr_d", s.Apply(ctx(t), store.Transition{RunID: "wfr_d", Seal: seal(true, "old", "wfr_d")}))
			first, err := ss.ListSealsByKey(ctx(t), "old", 0, 2)
			must(t, "ListSealsByKey", err)
			rest, err := ss.ListSealsByKey(ctx(t), "old", first[len(first)-1].ID, 0)
			must(t, "ListSealsByKey after", err)
			if len(first) != 2 || len(rest) != 2 || first[0].RunID != "wfr_a" || first[1].RunID != "wfr_b" || rest[0].RunID != "wfr_c" || rest[1].RunID != "wfr_d" {
				t.Fatalf("ListSealsByKey(old) pages = %+v then %+v, want wfr_a, wfr_b then wfr_c, wfr_d", first, rest)
			}
			for _, r := range append(first, rest...) {
				if r.KeyID != "old" {
					t.Errorf("ListSealsByKey(old) listed a row under key %s", r.KeyID)
				}
			}
			if none, err := ss.ListSealsByKey(ctx(t), "missing", 0, 0); err != nil || len(none) != 0 {
				t.Errorf("ListSealsByKey(missing) = %+v, %v; want none", none, err)
			}
			v := first[1]
			v.KeyID, v.Sealed = "new", []byte("resealed")
			must(t, "Reseal", ss.Reseal(ctx(t), v, "old"))
			if got := rows(t, s, "wfr_b"); len(got) != 1 || got[0].KeyID != "new" || !bytes.Equal(got[0].Sealed, []byte("resealed")) || !got[0].Origin {
				t.Errorf("RunSeals after Reseal = %+v, want key new, resealed, origin kept", got)
			}
			if err := ss.Reseal(ctx(t), v, "old"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Reseal of a row already moved = %v, want ErrConflict", err)
			}
			v.ID = 1 << 40
			if err := ss.Reseal(ctx(t), v, "old"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Reseal of a missing row = %v, want ErrNotFound", err)
			}
			bad := first[0]
			bad.KeyID = ""
			if err := ss.Reseal(ctx(t), bad, "old"); err == nil {
				t.Error("Reseal with an empty key id succeeded")
			}
			if got := rows(t, s, "wfr_a"); got[0].KeyID != "old" || string(got[0].Sealed) != "wfr_a" {
				t.Errorf("a refused Reseal changed the row: %+v", got[0])
			}
			if ks := keys(t, s); len(ks) != 3 || ks[0] != "new" || ks[1] != "old" || ks[2] != "other" {
				t.Errorf("SealKeyIDs = %v, want [new old other]", ks)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}
