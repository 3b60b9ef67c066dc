// Package pgtest gives each test a PostgreSQL database of its own: a new
// schema, named at random, in the server that SLUICE_TEST_DATABASE_URL
// points at, reached through a URL whose search_path is that schema. The
// schema is dropped when the test ends, so tests are hermetic and may run
// in parallel, in one process or several.
//
// The server is started by scripts/pg-start.sh (make test and .ci/run do it
// through scripts/with-postgres.sh). Without SLUICE_TEST_DATABASE_URL a test
// that needs PostgreSQL fails, saying how to start one, unless
// SLUICE_TEST_SKIP_POSTGRES=1 asks to skip it (a quick local run; CI never
// sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by URL.
const (
	// EnvURL names the server the tests use, e.g.
	// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	EnvURL = "SLUICE_TEST_DATABASE_URL"
	// EnvSkip, set to 1, skips the tests that need PostgreSQL when EnvURL
	// is not set, instead of failing them.
	EnvSkip = "SLUICE_TEST_SKIP_POSTGRES"
)

// Server returns the URL of the test server, or ends the test: it fails
// (or skips, with SLUICE_TEST_SKIP_POSTGRES=1) when none is configured.
func Server(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base != "" {
		return base
	}
	const how = `start one with: eval "$(scripts/pg-start.sh)" (scripts/pg-stop.sh "$SLUICE_TEST_PG_DIR" stops it), or run the tests with scripts/with-postgres.sh go test ./...; make test does it`
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("%s is not set and %s=1: skipping a test that needs PostgreSQL", EnvURL, EnvSkip)
	}
	t.Fatalf("%s is not set: this test needs a PostgreSQL server; %s. (%s=1 skips these tests in a quick local run.)", EnvURL, how, EnvSkip)
	return ""
}

// URL creates a new empty schema in the test server and returns a URL
// whose search_path is that schema, so that a store opened on it creates
// its tables there. The schema is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := Server(t)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "sluice_test_" + hex.EncodeToString(b[:])
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// WithSearchPath returns the connection string base with its search_path
// set to schema, in base's own form (a URL or key=value pairs).
func WithSearchPath(base, schema string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("pgtest: %s is not a valid URL", EnvURL)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return base + " search_path=" + schema, nil
}

// exec runs one statement on a connection of its own to the test server.
func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to the server of %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}
