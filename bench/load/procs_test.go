package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
)

func TestPick(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		elsewhere bool
		want      [][2]int // post, wait for i = 0, 1, 2...
	}{
		{"one process", 1, false, [][2]int{{0, 0}, {0, 0}, {0, 0}}},
		{"one process, elsewhere is itself", 1, true, [][2]int{{0, 0}, {0, 0}}},
		{"two processes", 2, false, [][2]int{{0, 0}, {1, 1}, {0, 0}, {1, 1}}},
		{"two processes, elsewhere", 2, true, [][2]int{{0, 1}, {1, 0}, {0, 1}, {1, 0}}},
		{"three processes, elsewhere", 3, true, [][2]int{{0, 1}, {1, 2}, {2, 0}, {0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, w := range tt.want {
				post, wait := pick(uint64(i), tt.n, tt.elsewhere)
				if post != w[0] || wait != w[1] {
					t.Errorf("pick(%d, %d, %v) = %d, %d; want %d, %d", i, tt.n, tt.elsewhere, post, wait, w[0], w[1])
				}
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	// Field 14 and 15 of proc(5) (utime, stime) are 250 and 50 ticks.
	rest := " S 1 2 3 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0 12345 0 0"
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr string
	}{
		{"plain", "42 (sluice)" + rest, 3 * time.Second, ""},
		{"name with spaces and parentheses", "42 (a) b (c))" + rest, 3 * time.Second, ""},
		{"no name", "42 sluice" + rest, 0, "no command name"},
		{"short", "42 (sluice) S 1 2", 0, "short"},
		{"bad utime", "42 (sluice) S 1 2 3 0 -1 4194304 100 0 0 0 x 50", 0, "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStat = %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStat = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestCPUSums checks that cpu adds up the processes it is given (this test
// process counted twice is at least itself once) and gives up on any it
// cannot read or did not start.
func TestCPUSums(t *testing.T) {
	self := &proc{pid: os.Getpid()}
	one, ok := cpu([]*proc{self})
	if !ok {
		t.Fatal("cpu of this process: not readable")
	}
	two, ok := cpu([]*proc{self, self})
	if !ok || two < 2*one {
		t.Fatalf("cpu of this process twice = %v, %v; want at least 2 × %v", two, ok, one)
	}
	if _, ok := cpu([]*proc{self, {url: "http://elsewhere"}}); ok {
		t.Error("cpu with a process not started here (-url) reported a figure")
	}
	if _, ok := cpu(nil); ok {
		t.Error("cpu of no process reported a figure")
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		base string
	}{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{"postgresql://u:p%40ss@db.example:5433/app?sslmode=require&pool_max_conns=8"},
		{"postgres://postgres@127.0.0.1:5432?sslmode=disable"},
		{"host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable"},
		{"host=127.0.0.1 user=postgres sslmode=disable "},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			got, err := withDatabase(tt.base, "sluice_load_x")
			if err != nil {
				t.Fatal(err)
			}
			want, err := pgconn.ParseConfig(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := pgconn.ParseConfig(got)
			if err != nil {
				t.Fatalf("withDatabase = %q: %v", got, err)
			}
			if cfg.Database != "sluice_load_x" {
				t.Errorf("withDatabase = %q: database %q, want sluice_load_x", got, cfg.Database)
			}
			// Everything else stays.
			if cfg.Host != want.Host || cfg.Port != want.Port || cfg.User != want.User || cfg.Password != want.Password ||
				fmt.Sprint(cfg.RuntimeParams) != fmt.Sprint(want.RuntimeParams) || (cfg.TLSConfig == nil) != (want.TLSConfig == nil) {
				t.Errorf("withDatabase = %q changed more than the database: %+v, was %+v", got, cfg, want)
			}
		})
	}
	if _, err := withDatabase("postgres://[::1", "x"); err == nil || !strings.Contains(err.Error(), "-database-url") {
		t.Errorf("withDatabase of a bad URL: %v, want an error naming -database-url", err)
	}
}

func TestFreshDBName(t *testing.T) {
	now := time.Date(2026, 11, 29, 4, 5, 6, 0, time.UTC)
	a, err := freshDBName(now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := freshDBName(now)
	if a == b {
		t.Errorf("two names in the same second are equal: %s", a)
	}
	if !strings.HasPrefix(a, "sluice_load_20261129_040506_") || len(a) > 63 || strings.ToLower(a) != a {
		t.Errorf("freshDBName = %q: want sluice_load_20261129_040506_<hex>, lower case, at most 63 bytes", a)
	}
}

func TestCPUDelta(t *testing.T) {
	s := time.Second
	tests := []struct {
		name          string
		before, after map[int]time.Duration
		want          time.Duration
	}{
		{"same backends", map[int]time.Duration{1: s, 2: 2 * s}, map[int]time.Duration{1: 3 * s, 2: 2 * s}, 2 * s},
		{"a backend started meanwhile counts whole", map[int]time.Duration{1: s}, map[int]time.Duration{1: s, 7: 5 * s}, 5 * s},
		{"a backend ended meanwhile is lost", map[int]time.Duration{1: s, 2: s}, map[int]time.Duration{1: 2 * s}, s},
		{"none", nil, nil, 0},
	}
	for _, tt := range tests {
		if got := cpuDelta(tt.before, tt.after); got != tt.want {
			t.Errorf("%s: cpuDelta = %v, want %v", tt.name, got, tt.want)
		}
	}
	var none *freshDB
	if none.backendCPU() != nil || none.label() != "" {
		t.Error("a nil freshDB (SQLite) reported backends or a label")
	}
}

func TestCheck(t *testing.T) {
	ok := config{processes: 1, clients: 1, rate: 1, maxOpen: 1, duration: time.Second}
	tests := []struct {
		name    string
		edit    func(*config)
		wantErr string
	}{
		{"defaults", func(*config) {}, ""},
		{"postgres ×2", func(c *config) { c.databaseURL = "postgres://x/y"; c.processes = 2 }, ""},
		{"sqlite ×2", func(c *config) { c.processes = 2 }, "-processes 2 needs -database-url"},
		{"no process", func(c *config) { c.processes = 0 }, "-processes 0"},
		{"url and database", func(c *config) { c.url = "http://x"; c.databaseURL = "postgres://x/y" }, "-url"},
		{"url and processes", func(c *config) { c.url = "http://x"; c.processes = 2 }, "-url"},
		{"no clients", func(c *config) { c.clients = 0 }, "-clients"},
		{"no duration", func(c *config) { c.duration = 0 }, "-duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.check()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("check: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("check = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestStoreLabel(t *testing.T) {
	tests := []struct {
		db, url string
		n       int
		server  string
		want    string
	}{
		{"", "", 1, "", "sqlite"},
		{"postgres://x/y", "", 1, "", "postgres ×1"},
		{"postgres://x/y", "", 2, "PostgreSQL 15.14, fsync off", "postgres ×2 (PostgreSQL 15.14, fsync off)"},
		{"", "http://x", 1, "", "the server at -url (store not known here)"},
	}
	for _, tt := range tests {
		if got := storeLabel(tt.db, tt.url, tt.n, tt.server); got != tt.want {
			t.Errorf("storeLabel(%q, %q, %d, %q) = %q, want %q", tt.db, tt.url, tt.n, tt.server, got, tt.want)
		}
	}
}

func TestChildEnv(t *testing.T) {
	parent := []string{"PATH=/bin", "SLUICE_MASTER_KEY=old", "SLUICE_MASTER_KEY_FILE=/k", "SLUICE_DATABASE_URL=postgres://a/b",
		"SLUICE_ADMIN_CLIENT_ID=x", "SLUICE_ADMIN_CLIENT_SECRET=y", "SLUICE_DATA_DIR=/d", "SLUICE_LOG_FORMAT=json"}
	got := childEnv(parent, "KEY")
	want := []string{"PATH=/bin", "SLUICE_LOG_FORMAT=json", "SLUICE_MASTER_KEY=KEY"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

// TestFreshDatabase creates a database in the test server and drops it:
// the servers of one invocation start on empty tables, and nothing stays.
func TestFreshDatabase(t *testing.T) {
	base := pgtest.Server(t)
	ctx := context.Background()
	db, err := freshDatabase(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db.label(), "PostgreSQL ") {
		t.Errorf("label = %q, want PostgreSQL <version>, fsync <on|off>", db.label())
	}
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		_ = db.drop()
		t.Fatalf("connect to the fresh database: %v", err)
	}
	// The server runs on this machine: its backend for conn shows.
	if cpu := db.backendCPU(); len(cpu) != 1 {
		t.Errorf("backendCPU with one connection = %v, want one backend", cpu)
	}
	var name string
	var tables int
	err = conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&name, &tables)
	conn.Close(ctx)
	if err != nil || !strings.HasPrefix(name, "sluice_load_") || tables != 0 {
		t.Errorf("fresh database: %q with %d tables, %v; want sluice_load_*, empty", name, tables, err)
	}
	if err := db.drop(); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var left int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&left); err != nil || left != 0 {
		t.Errorf("after drop: %d databases named %s, %v", left, name, err)
	}
}

func TestParsePhases(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "baseline,closed,open", want: []string{"baseline", "closed", "open"}},
		{in: "closed", want: []string{"closed"}},
		{in: "floor,closed", want: []string{"floor", "closed"}},
		{in: " open , closed ", want: []string{"closed", "open"}},
		{in: "closed,warmup", wantErr: `unknown phase "warmup"`},
		{in: ",", wantErr: "name at least one"},
	}
	for _, tc := range tests {
		got, err := parsePhases(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parsePhases(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("parsePhases(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for _, p := range tc.want {
			if !got[p] {
				t.Errorf("parsePhases(%q) lacks %s", tc.in, p)
			}
		}
	}
}
