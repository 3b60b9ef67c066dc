package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// open opens a store on a new file in a temporary directory.
func open(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pragma reads a pragma on the given pool.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	cases := []struct {
		sync string
		want string // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"", "1"},
		{"NORMAL", "1"},
		{"normal", "1"},
		{"FULL", "2"},
	}
	for _, tc := range cases {
		t.Run(tc.sync, func(t *testing.T) {
			s := open(t, Options{Synchronous: tc.sync})
			defer s.Close()
			for pool, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
				if got := pragma(t, db, "synchronous"); got != tc.want {
					t.Errorf("%s: synchronous = %s, want %s", pool, got, tc.want)
				}
				if got := pragma(t, db, "journal_mode"); got != "wal" {
					t.Errorf("%s: journal_mode = %s, want wal", pool, got)
				}
				if got := pragma(t, db, "foreign_keys"); got != "1" {
					t.Errorf("%s: foreign_keys = %s, want 1", pool, got)
				}
				if got := pragma(t, db, "busy_timeout"); got != "5000" {
					t.Errorf("%s: busy_timeout = %s, want 5000", pool, got)
				}
			}
			if got := pragma(t, s.r, "query_only"); got != "1" {
				t.Errorf("reader: query_only = %s, want 1", got)
			}
		})
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, opts := range []Options{{Synchronous: "OFF"}, {Synchronous: "EXTRA; DROP"}, {BusyTimeout: -1}} {
		if s, err := Open(t.Context(), filepath.Join(dir, "x.db"), opts); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded, want an error", opts)
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?#% name.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{Synchronous: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if _, err := s.CreateWorkflow(ctx, store.Workflow{Identifier: "deploy", Definition: []byte(`{}`), CreatedBy: "ann"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing twice and finds the data.
	for range 2 {
		s, err = Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var n, max int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		ms, err := migrations()
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || max != len(ms) {
			t.Errorf("schema_migrations: %d rows up to version %d, want %d", n, max, len(ms))
		}
		w, err := s.GetWorkflow(ctx, "deploy")
		if err != nil || w.Version != 1 || w.CreatedBy != "ann" {
			t.Errorf("GetWorkflow after reopen = %+v, %v", w, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 999, newer than this binary knows") {
		t.Fatalf("Open of a newer schema: error = %v, want one about the schema version", err)
	}
}

func TestMigrationsWellFormed(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
}

func TestMapErr(t *testing.T) {
	s := open(t, Options{})
	defer s.Close()
	ctx := t.Context()
	_, err := s.w.ExecContext(ctx, `INSERT INTO secrets (name, description, key_id, ciphertext, created_by, created_at, updated_at) VALUES ('A', '', 'k', x'00', 'ann', 0, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO secrets (name, description, key_id, ciphertext, created_by, created_at, updated_at) VALUES ('A', '', 'k', x'00', 'ann', 0, 0)`)
	if got := mapErr(err); !errors.Is(got, store.ErrExists) {
		t.Errorf("duplicate primary key: %v, want ErrExists", got)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO node_run_logs (node_run_id, level, message, created_at) VALUES ('nope', 'INFO', '', 0)`)
	if got := mapErr(err); !errors.Is(got, store.ErrNotFound) {
		t.Errorf("missing foreign key: %v, want ErrNotFound", got)
	}
	if got := mapErr(sql.ErrConnDone); got != sql.ErrConnDone {
		t.Errorf("mapErr changed an unrelated error: %v", got)
	}
}

// TestUpgradeFromFirstSchema opens a file that has only migration 1 and
// data in it: the later migrations apply on top, the node runs it held are
// not waiting, and the new tables work.
func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sluice.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, SyncNormal, DefaultBusyTimeout, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		ms[0].sql,
		`INSERT INTO schema_migrations VALUES (1, '` + ms[0].name + `', 0)`,
		`INSERT INTO runs (identifier, workflow_id, workflow_version, status, created_by, trigger_node, created_at, updated_at)
			VALUES ('wfr_1', 'deploy', 1, 'IN_PROGRESS', 'ann', 'trigger', 0, 0)`,
		`INSERT INTO node_runs (identifier, run_id, node_id, seq, status, created_at, updated_at)
			VALUES ('wfnr_1', 'wfr_1', 'trigger', 0, 'IN_PROGRESS', 0, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of a version 1 file: %v", err)
	}
	defer s.Close()
	nr, err := s.GetNodeRun(ctx, "wfnr_1")
	if err != nil {
		t.Fatal(err)
	}
	if nr.Waiting || nr.Status != store.StatusInProgress {
		t.Errorf("node run from version 1: Waiting %v, Status %s; want false, IN_PROGRESS", nr.Waiting, nr.Status)
	}
	if err := s.Apply(ctx, store.Transition{RunID: "wfr_1", Wait: "wfnr_1"}); err != nil {
		t.Fatalf("Wait on a node run from version 1: %v", err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "usr_1", Email: "ann@example.test", Role: store.RoleAdmin}); err != nil {
		t.Fatalf("CreateUser after the upgrade: %v", err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows after the upgrade, want %d", n, len(ms))
	}
}
