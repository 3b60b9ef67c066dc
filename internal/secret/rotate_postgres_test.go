package secret

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// lateStore is process A's PostgreSQL store during a rotation. When the
// rotation's sweep of key old first finds nothing left, it runs late once
// (another process commits a row under old then). Every SealKeyIDs checks
// that no row is under old once the key file no longer holds it: a row the
// rotation meets only after it retired the key.
type lateStore struct {
	*postgres.Store
	t       *testing.T
	old     string
	keyPath string
	late    func()
	once    sync.Once
	mu      sync.Mutex
	retired []string // violations
}

func (l *lateStore) ListSealsByKey(ctx context.Context, keyID string, after int64, limit int) ([]store.SealedValues, error) {
	rows, err := l.Store.ListSealsByKey(ctx, keyID, after, limit)
	if err == nil && len(rows) == 0 && keyID == l.old {
		l.once.Do(l.late)
	}
	return rows, err
}

func (l *lateStore) SealKeyIDs(ctx context.Context) ([]string, error) {
	ids, err := l.Store.SealKeyIDs(ctx)
	if err == nil && slices.Contains(ids, l.old) && !slices.Contains(readKeyFileIDs(l.t, l.keyPath), l.old) {
		l.mu.Lock()
		l.retired = append(l.retired, l.old)
		l.mu.Unlock()
	}
	return ids, err
}

// TestRotateAcrossProcessesPostgres: processes A and B share a PostgreSQL
// store and a key file. B seals a run's values under the old key and its
// transaction takes a row id before A's rotation sweeps past it, but
// commits only after A's sweep of that key found nothing left: the row is
// late, and below the sweep's cursor. It is still re-sealed before the old
// key leaves the key file, and every row opens in both processes after.
func TestRotateAcrossProcessesPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	keyPath := filepath.Join(t.TempDir(), DefaultKeyFileName)
	if _, err := LoadKeyRing(KeyOptions{DataDir: filepath.Dir(keyPath), Env: envOf(nil), Generate: true}); err != nil {
		t.Fatal(err)
	}
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	svcB, err := Open(ctx, stB, loadFile(t, keyPath))
	if err != nil {
		t.Fatal(err)
	}
	old := svcB.Ring().PrimaryKeyID()
	value := func(id string) RunValues { return RunValues{Values: []string{"value-of-" + id + "-0123456789"}} }
	createRun := func(id string) {
		t.Helper()
		run := store.Run{Identifier: id, WorkflowID: "wf", WorkflowVersion: 1, CreatedBy: "u", TriggerNode: "trigger"}
		first := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess}
		if err := stB.CreateRun(ctx, run, first, nil); err != nil {
			t.Fatal(err)
		}
	}
	sealB := func(id string) {
		t.Helper()
		keyID, sealed, release, err := svcB.SealRunHeld(id, value(id))
		defer release()
		if err != nil {
			t.Fatal(err)
		}
		if err := stB.Apply(ctx, store.Transition{RunID: id, Seal: &store.SealedValues{Origin: true, KeyID: keyID, Sealed: sealed}}); err != nil {
			t.Fatal(err)
		}
	}
	runs := []string{"wfr_1", "wfr_2", "wfr_3", "wfr_late", "wfr_5"}
	for _, id := range runs {
		createRun(id)
	}
	for _, id := range runs[:3] {
		sealB(id)
	}
	// B's late step: sealed and given a row id now, committed later.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyID, sealed, err := svcB.SealRun("wfr_late", value("wfr_late"))
	if err != nil || keyID != old {
		t.Fatalf("SealRun = %s, %v; want key %s", keyID, err, old)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO run_seals (run_id, origin, key_id, sealed, created_at) VALUES ($1, TRUE, $2, $3, $4)`,
		"wfr_late", keyID, sealed, time.Now()); err != nil {
		t.Fatal(err)
	}
	sealB("wfr_5")

	var lateID, lastID int64
	if err := conn.QueryRow(ctx, `SELECT currval('run_seals_id_seq')`).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	if rows, err := stB.RunSeals(ctx, "wfr_5"); err != nil || len(rows) != 1 {
		t.Fatalf("RunSeals(wfr_5) = %+v, %v", rows, err)
	} else {
		lastID = rows[0].ID
	}
	if lateID >= lastID {
		t.Fatalf("the late row's id %d is not below the last committed row's %d: the test would not show a late commit", lateID, lastID)
	}

	a := &lateStore{Store: stA, t: t, old: old, keyPath: keyPath, late: func() {
		if err := tx.Commit(ctx); err != nil {
			t.Errorf("commit the late row: %v", err)
		}
	}}
	svcA, err := Open(ctx, a, loadFile(t, keyPath))
	if err != nil {
		t.Fatal(err)
	}
	res, err := svcA.Rotate(ctx, "admin")
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if len(res.RetiredKeyIDs) != 1 || res.RetiredKeyIDs[0] != old {
		t.Fatalf("Rotate = %+v, want key %s retired", res, old)
	}
	if len(a.retired) > 0 {
		t.Errorf("a row was still under key %s after it left the key file: the rotation re-sealed it only after retiring the key", old)
	}
	for _, id := range runs {
		rows, err := stA.RunSeals(ctx, id)
		if err != nil || len(rows) != 1 {
			t.Fatalf("RunSeals(%s) = %+v, %v", id, rows, err)
		}
		if rows[0].KeyID != res.NewKeyID {
			t.Errorf("run %s: row under key %s after the rotation to %s", id, rows[0].KeyID, res.NewKeyID)
		}
		for name, svc := range map[string]*Service{"A": svcA, "B": svcB} {
			got, err := svc.OpenRun(id, rows[0].KeyID, rows[0].Sealed)
			if err != nil || !slices.Equal(got.Values, value(id).Values) {
				t.Errorf("process %s: OpenRun(%s) = %+v, %v", name, id, got, err)
			}
		}
	}
	// B learns the new key from the key file at its next seal.
	createRun("wfr_after")
	sealB("wfr_after")
	if rows, err := stB.RunSeals(ctx, "wfr_after"); err != nil || len(rows) != 1 || rows[0].KeyID != res.NewKeyID {
		t.Errorf("B sealed after the rotation under %+v, %v; want key %s", rows, err, res.NewKeyID)
	}
	if why, err := svcA.unfinishedRotation(ctx); err != nil || why != "" {
		t.Errorf("after the rotation: unfinished = %q, %v", why, err)
	}
}
