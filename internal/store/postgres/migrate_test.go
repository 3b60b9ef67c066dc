package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

// TestRunVisibilityBackfill checks that migration 0002 fills
// allow_anyone_to_view_runs of the versions stored before it from their
// definitions: a database at schema version 1 with one private, one public
// and one unreadable definition is opened, and a viewer's run list shows
// the runs of the public versions only.
func TestRunVisibilityBackfill(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The schema as a binary with migration 0001 only left it.
	for _, sql := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		ms[0].sql,
		`INSERT INTO schema_migrations (version, name) VALUES (1, '` + ms[0].name + `')`,
	} {
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	for i, def := range []string{
		`{"identifier":"priv","allowAnyoneToViewRuns":false,"nodes":[]}`,
		`{"identifier":"pub","allowAnyoneToViewRuns":true}`,
		`{"identifier":"dflt"}`,
		`not json`,
		`[false]`,
	} {
		id := []string{"priv", "pub", "dflt", "bad", "arr"}[i]
		if _, err := conn.Exec(ctx, `INSERT INTO workflows (identifier, version, definition, created_by, updated_by, created_at, updated_at)
			VALUES ($1, 1, $2, 'adm', 'adm', $3, $3)`, id, []byte(def), at); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO runs (identifier, workflow_id, workflow_version, status, created_by, trigger_node, created_at, updated_at)
			VALUES ($1, $2, 1, 'IN_PROGRESS', 'bob', 't', $3, $3)`, "wfr_"+id, id, at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, total, err := s.ListRuns(ctx, store.RunFilter{Viewer: &store.RunViewer{ActorID: "ann"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Identifier)
	}
	want := []string{"wfr_arr", "wfr_bad", "wfr_dflt", "wfr_pub"}
	if total != len(want) || len(got) != len(want) {
		t.Fatalf("ann sees %d runs %v, want %v", total, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ann sees %v, want %v", got, want)
		}
	}
}
