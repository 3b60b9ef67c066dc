package sqlitetest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sluice-run/sluice/internal/store/sqlite"
)

// schema returns every schema object's SQL and the recorded migration
// versions of the database at path.
func schema(t *testing.T, path string) (objects, versions []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, out := range map[string]*[]string{
		`SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`: &objects,
		`SELECT version FROM schema_migrations ORDER BY version`:                                        &versions,
	} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			*out = append(*out, s)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return objects, versions
}

func TestTemplateIsAFreshStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fresh, copied := filepath.Join(dir, "fresh.db"), filepath.Join(dir, "copied.db")
	for path, open := range map[string]func(context.Context, string, sqlite.Options) (*sqlite.Store, error){fresh: sqlite.Open, copied: Open} {
		s, err := open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wantObjects, wantVersions := schema(t, fresh)
	gotObjects, gotVersions := schema(t, copied)
	if len(wantVersions) == 0 || len(wantObjects) == 0 {
		t.Fatalf("the fresh store has %d migrations and %d schema objects", len(wantVersions), len(wantObjects))
	}
	if !reflect.DeepEqual(gotVersions, wantVersions) {
		t.Errorf("migrations: copy %v, fresh %v", gotVersions, wantVersions)
	}
	if !reflect.DeepEqual(gotObjects, wantObjects) {
		t.Errorf("schema: copy\n%q\nfresh\n%q", gotObjects, wantObjects)
	}
}

func TestOpenKeepsAnExistingFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, path, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	objects, _ := schema(t, path)
	found := false
	for _, o := range objects {
		found = found || o == "table kept CREATE TABLE kept (x INTEGER)"
	}
	if !found {
		t.Errorf("the second Open replaced the file: %q", objects)
	}
}

func TestPrepareRefusesABadPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "s.db")
	if err := Prepare(path); err == nil {
		t.Fatalf("Prepare(%s) succeeded", path)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s exists", path)
	}
}
