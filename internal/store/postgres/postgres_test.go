package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres/pgtest"
	"github.com/sluice-run/sluice/internal/store/storetest"
)

// open opens a store on a new schema of the test server.
func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// schemaVersions returns how many migrations the store's schema records
// and the highest.
func schemaVersions(t *testing.T, s *Store) (n, max int) {
	t.Helper()
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	return n, max
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			if _, err := s.CreateWorkflow(ctx, store.Workflow{Identifier: "deploy", Definition: []byte(`{}`), CreatedBy: "ann"}); err != nil {
				t.Fatal(err)
			}
		}
		// Reopening applies nothing twice and finds the data.
		if n, max := schemaVersions(t, s); n != len(ms) || max != len(ms) {
			t.Errorf("open %d: schema_migrations has %d rows up to version %d, want %d", i, n, max, len(ms))
		}
		if w, err := s.GetWorkflow(ctx, "deploy"); err != nil || w.Version != 1 || w.CreatedBy != "ann" {
			t.Errorf("open %d: GetWorkflow = %+v, %v", i, w, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentOpen opens one empty schema from many goroutines at once:
// the advisory lock lets one apply the migrations and the others find them
// applied.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.URL(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), url) })
	}
	wg.Wait()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if got, max := schemaVersions(t, stores[0]); got != len(ms) || max != len(ms) {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", got, max, len(ms))
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, url)
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

func TestOpenRejectsBadURL(t *testing.T) {
	for _, url := range []string{"", "postgres://ann:hunter2@host:notaport/db", "not a url ://"} {
		s, err := Open(t.Context(), url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the error shows the password: %v", url, err)
		}
	}
}

// TestMapErr checks the errors a store returns for what PostgreSQL says.
func TestMapErr(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
	cases := []struct {
		name string
		err  error
		want error // nil: matches none of the store's errors
	}{
		{"unique violation", pg("23505"), store.ErrExists},
		{"foreign key violation", pg("23503"), store.ErrNotFound},
		{"sluice_assert not found", pg(codeNotFound), store.ErrNotFound},
		{"sluice_assert conflict", pg(codeConflict), store.ErrConflict},
		{"no rows", pgx.ErrNoRows, store.ErrNotFound},
		{"connection failure", pg("08006"), store.ErrUnavailable},
		{"serialization failure", pg("40001"), store.ErrUnavailable},
		{"deadlock", pg("40P01"), store.ErrUnavailable},
		{"disk full", pg("53100"), store.ErrUnavailable},
		{"out of memory", pg("53200"), store.ErrUnavailable},
		{"too many connections", pg("53300"), store.ErrUnavailable},
		{"admin shutdown", pg("57P01"), store.ErrUnavailable},
		{"crash shutdown", pg("57P02"), store.ErrUnavailable},
		{"cannot connect now", pg("57P03"), store.ErrUnavailable},
		{"I/O error", pg("58030"), store.ErrUnavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, store.ErrUnavailable},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), store.ErrUnavailable},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), store.ErrUnavailable},
		{"syntax error", pg("42601"), nil},
		{"check violation", pg("23514"), nil},
		{"invalid text", pg("22021"), nil},
		{"cancelled", context.Canceled, nil},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), nil},
	}
	all := []error{store.ErrExists, store.ErrNotFound, store.ErrConflict, store.ErrUnavailable}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr(tc.err)
			for _, e := range all {
				if is := errors.Is(got, e); is != (e == tc.want) {
					t.Errorf("mapErr(%v) = %v: errors.Is(%v) = %v, want %v", tc.err, got, e, is, !is)
				}
			}
			if !errors.Is(got, tc.err) && tc.err != pgx.ErrNoRows && !strings.Contains(got.Error(), "m") {
				t.Errorf("mapErr(%v) = %v lost the original error", tc.err, got)
			}
		})
	}
}

// TestUnreachableServerIsUnavailable opens a store on a loopback port
// nobody listens on: the error matches store.ErrUnavailable.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Open(t.Context(), "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=5")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open on a closed port = %v, want an error matching ErrUnavailable", err)
	}
}

// TestTerminatedConnectionIsUnavailable has the server end the store's only
// connection (as an administrator's pg_terminate_backend or a restart
// does): the next write fails with an error matching store.ErrUnavailable
// and applies nothing, and the same write then succeeds on a new
// connection.
func TestTerminatedConnectionIsUnavailable(t *testing.T) {
	ctx := t.Context()
	base := pgtest.URL(t)
	s, err := Open(ctx, base+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run := store.Run{Identifier: "wfr_1", WorkflowID: "deploy", WorkflowVersion: 1, CreatedBy: "ann", TriggerNode: "trigger"}
	if err := s.CreateRun(ctx, run, store.NodeRun{Identifier: "wfnr_1", NodeID: "trigger"}, nil); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := s.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	// Wait until the backend is gone (a bounded loop, not a timed check).
	for i := 0; ; i++ {
		var alive bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&alive); err != nil {
			t.Fatal(err)
		}
		if !alive {
			break
		}
		if i == 1000 {
			t.Fatal("the terminated backend is still there")
		}
		time.Sleep(10 * time.Millisecond)
	}
	step := store.Transition{RunID: "wfr_1", Complete: &store.NodeRunCompletion{NodeRunID: "wfnr_1", Result: store.ResultSuccess}, Finish: &store.RunCompletion{Result: store.ResultSuccess}}
	err = s.Apply(ctx, step)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Apply on a terminated connection = %v, want an error matching ErrUnavailable", err)
	}
	if r, err := s.GetRun(ctx, "wfr_1"); err != nil || r.Status != store.StatusInProgress {
		t.Fatalf("after the refused Apply: run %+v, %v; want it IN_PROGRESS", r, err)
	}
	if err := s.Apply(ctx, step); err != nil {
		t.Fatalf("Apply again on a new connection: %v", err)
	}
}

// TestConcurrentCancelAndStep races a cancel (Finish) against a stream of
// steps of the same run: every step that starts after the cancel returned
// fails with ErrConflict, and the node runs stored are exactly the steps
// that succeeded.
func TestConcurrentCancelAndStep(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	defer s.Close()
	const runs = 8
	for r := range runs {
		id := fmt.Sprintf("wfr_%d", r)
		if err := s.CreateRun(ctx, store.Run{Identifier: id, WorkflowID: "w", WorkflowVersion: 1, TriggerNode: "t"}, store.NodeRun{Identifier: id + "_0", NodeID: "t"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	applied := make([]int, runs) // steps that succeeded, per run
	var wg sync.WaitGroup
	for r := range runs {
		id := fmt.Sprintf("wfr_%d", r)
		var cancelled atomic.Bool
		wg.Go(func() {
			for i := 1; i <= 200; i++ {
				after := cancelled.Load()
				nr := store.NodeRun{Identifier: fmt.Sprintf("%s_%d", id, i), NodeID: "n", Seq: i}
				err := s.Apply(ctx, store.Transition{RunID: id, Start: &nr})
				switch {
				case errors.Is(err, store.ErrConflict):
					return
				case err != nil:
					t.Errorf("step %d of %s: %v", i, id, err)
					return
				case after:
					t.Errorf("step %d of %s started after the cancel returned and succeeded", i, id)
				}
				applied[r] = i
			}
		})
		wg.Go(func() {
			if err := s.Apply(ctx, store.Transition{RunID: id, Finish: &store.RunCompletion{Result: store.ResultCancelled}}); err != nil {
				t.Errorf("cancel %s: %v", id, err)
			}
			cancelled.Store(true)
		})
	}
	wg.Wait()
	for r := range runs {
		id := fmt.Sprintf("wfr_%d", r)
		nrs, err := s.NodeRuns(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(nrs) != applied[r]+1 {
			t.Errorf("%s: %d node runs stored, want the trigger and the %d steps that succeeded", id, len(nrs), applied[r])
		}
	}
}
