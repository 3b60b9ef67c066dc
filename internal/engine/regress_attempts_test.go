package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/workflow"
)

// attemptsDef is trigger → one (WEBHOOK) → two (UPSERT_ENTITY); onFailure
// of node one is filled in.
const attemptsDef = `{"identifier": "att", "nodes": [` + trigger + `,
	{"identifier": "one", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/x", "onFailure": %q}},
	{"identifier": "two", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "svc", "mapping": {"identifier": "x"}}}],
	"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "one"}, {"sourceIdentifier": "one", "targetIdentifier": "two"}]}`

// storeWorkflow parses def and stores it.
func storeWorkflow(t *testing.T, st store.Store, def string) (*workflow.Workflow, int) {
	t.Helper()
	wf, ps := workflow.Parse([]byte(def))
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	rec, err := st.CreateWorkflow(context.Background(), store.Workflow{Identifier: wf.Identifier, Definition: wf.Source})
	if err != nil {
		t.Fatal(err)
	}
	return wf, rec.Version
}

// TestInterruptedNodeIsFailedAfterMaxAttempts simulates a node whose
// execution kills the process: each "process" (a fresh engine over the same
// store) begins executing node one and stops there (its context is
// cancelled while the node runs, so the node run stays IN_PROGRESS). After
// MaxAttempts such executions, the next process fails the node with a
// message saying why, without executing it, and the run follows onFailure.
func TestInterruptedNodeIsFailedAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		maxAttempts int // 0: the default
		onFailure   string
		wantExecs   int
		wantResult  string
		wantTwo     bool // node two ran
	}{
		{name: "default bound, terminate", onFailure: "terminate", wantExecs: 3, wantResult: store.ResultFailed},
		{name: "default bound, continue", onFailure: "continue", wantExecs: 3, wantResult: store.ResultSuccess, wantTwo: true},
		{name: "bound of one", maxAttempts: 1, onFailure: "terminate", wantExecs: 1, wantResult: store.ResultFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"`+tc.onFailure+`"`, 1))

			var execs, twos atomic.Int32
			// process is one life of the server: an engine whose WEBHOOK
			// executor kills it (die cancels the context it drives runs
			// with) as soon as it runs, so the node run stays IN_PROGRESS.
			process := func(die context.CancelFunc) *engine.Engine {
				reg := node.NewRegistry()
				reg.Register("WEBHOOK", funcExec(func(c context.Context, _ *node.Request) (node.Result, error) {
					execs.Add(1)
					die()
					<-c.Done()
					return node.Result{}, c.Err()
				}))
				reg.Register(workflow.TypeUpsertEntity, funcExec(func(context.Context, *node.Request) (node.Result, error) {
					twos.Add(1)
					return node.Result{Output: map[string]any{"ok": true}}, nil
				}))
				return engine.New(engine.Options{Store: st, Nodes: reg, MaxAttempts: tc.maxAttempts})
			}
			// The first life starts the run and drives it, as serve does:
			// the creation's commit starts node one and counts its first
			// attempt, which that life's execution is.
			var runID string
			for life := 1; ; life++ {
				if life > 10 {
					t.Fatalf("the run never completed: node one executed %d times", execs.Load())
				}
				pctx, die := context.WithCancel(ctx)
				eng := process(die)
				if life == 1 {
					run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
					if err != nil {
						t.Fatal(err)
					}
					runID = run.Identifier
				}
				got, err := eng.Execute(pctx, runID)
				die()
				if got.Status == store.StatusCompleted {
					if err != nil {
						t.Fatalf("Execute: %v", err)
					}
					break
				}
			}
			if got := int(execs.Load()); got != tc.wantExecs {
				t.Errorf("node one executed %d times, want %d", got, tc.wantExecs)
			}
			final, err := st.GetRun(ctx, runID)
			if err != nil {
				t.Fatal(err)
			}
			if final.Result != tc.wantResult {
				t.Errorf("run result %s, want %s", final.Result, tc.wantResult)
			}
			if ran := twos.Load() == 1; ran != tc.wantTwo {
				t.Errorf("node two ran: %v, want %v", ran, tc.wantTwo)
			}
			nrs, err := st.NodeRuns(ctx, runID)
			if err != nil {
				t.Fatal(err)
			}
			one := nrs[1]
			if one.Result != store.ResultFailed || one.Attempts != tc.wantExecs {
				t.Errorf("node one: %s with %d attempts, want FAILED with %d", one.Result, one.Attempts, tc.wantExecs)
			}
			want := fmt.Sprintf("node execution was interrupted %d times", tc.wantExecs)
			if msg := string(one.Output.Bytes()); !strings.Contains(msg, want) || !strings.Contains(msg, "not retried again") {
				t.Errorf("node one's output = %s, want the message %q...", msg, want)
			}
			logs, err := st.Logs(ctx, one.Identifier)
			if err != nil || len(logs) != 1 || !strings.Contains(logs[0].Message.String(), want) {
				t.Errorf("node one's logs = %+v, %v; want the message", logs, err)
			}
		})
	}
}

// TestAttemptsAreCountedOnce checks what counts as an attempt: a node run
// started and executed in one go counts one (in the Start commit), a node
// run that waits for an outside completion is not executed again after a
// restart and is not counted again, and the node started by an outside
// completion is counted once, by the driver that executes it.
func TestAttemptsAreCountedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	def := `{"identifier": "w", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "http://127.0.0.1:1/x", "synchronized": false}},
		{"identifier": "two", "config": {"type": "UPSERT_ENTITY", "blueprintIdentifier": "svc", "mapping": {"identifier": "x"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}, {"sourceIdentifier": "wait", "targetIdentifier": "two"}]}`
	wf, version := storeWorkflow(t, st, def)
	var execs atomic.Int32
	newEngine := func() *engine.Engine {
		reg := node.NewRegistry()
		reg.Register("WEBHOOK", funcExec(func(context.Context, *node.Request) (node.Result, error) {
			execs.Add(1)
			return node.Result{Pending: true}, nil
		}))
		reg.Register(workflow.TypeUpsertEntity, funcExec(func(context.Context, *node.Request) (node.Result, error) {
			return node.Result{Output: map[string]any{"ok": true}}, nil
		}))
		return engine.New(engine.Options{Store: st, Nodes: reg})
	}
	eng := newEngine()
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	// Restarts: the waiting node is neither executed nor counted again.
	for range 4 {
		if _, err := newEngine().Execute(ctx, run.Identifier); err != nil {
			t.Fatal(err)
		}
	}
	nrs, _ := st.NodeRuns(ctx, run.Identifier)
	if execs.Load() != 1 || nrs[1].Attempts != 1 || !nrs[1].Waiting {
		t.Fatalf("after restarts: executed %d times, %d attempts, waiting %v; want 1, 1, true", execs.Load(), nrs[1].Attempts, nrs[1].Waiting)
	}
	eng = newEngine()
	if _, err := eng.CompleteNodeRun(ctx, nrs[1].Identifier, engine.Completion{Status: store.StatusCompleted, Result: store.ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	done, err := eng.Execute(ctx, run.Identifier)
	if err != nil || done.Result != store.ResultSuccess {
		t.Fatalf("after the completion: %+v, %v", done, err)
	}
	nrs, _ = st.NodeRuns(ctx, run.Identifier)
	if nrs[2].Attempts != 1 {
		t.Errorf("the node started by the completion has %d attempts, want 1", nrs[2].Attempts)
	}
}

// holdLock takes the write lock of the SQLite file at path from a
// connection of its own (as another process would) until release.
func holdLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatalf("BEGIN EXCLUSIVE: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// signalHandler is a slog handler that sends every message it handles.
type signalHandler struct{ msgs chan string }

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// waitMsg waits until the handler saw a message containing want.
func (h signalHandler) waitMsg(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a hang guard, not a timing assertion
	for {
		select {
		case m := <-h.msgs:
			if strings.Contains(m, want) {
				return
			}
		case <-deadline:
			t.Fatalf("never logged %q", want)
		}
	}
}

// TestStepRetriedWhileStoreLocked holds a real lock on the database file
// (another connection's BEGIN EXCLUSIVE) while a node runs, for longer than
// the store's busy timeout: the step that follows the node is refused as
// unavailable. With a retry bound long enough, the driver retries it and
// the run completes once the lock is released; with a short one, the driver
// gives up, nothing of the step is applied, and ExecuteIfIdle (what a
// server's sweep calls) drives the run to its end once the lock is gone.
func TestStepRetriedWhileStoreLocked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		retryFor time.Duration
	}{
		{name: "retried until the lock is released", retryFor: time.Hour},
		{name: "given up, then swept", retryFor: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "sluice.db")
			st, err := sqlitetest.Open(ctx, path, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"terminate"`, 1))
			logs := signalHandler{msgs: make(chan string, 64)}
			var release func()
			var execs atomic.Int32
			reg := node.NewRegistry()
			reg.Register("WEBHOOK", funcExec(func(context.Context, *node.Request) (node.Result, error) {
				if execs.Add(1) == 1 {
					release = holdLock(t, path) // the store becomes unavailable mid-node
				}
				return node.Result{Output: map[string]any{"ok": true}}, nil
			}))
			reg.Register(workflow.TypeUpsertEntity, funcExec(func(context.Context, *node.Request) (node.Result, error) {
				return node.Result{Output: map[string]any{"ok": true}}, nil
			}))
			eng := engine.New(engine.Options{Store: st, Nodes: reg, RetryFor: tc.retryFor, Logger: slog.New(logs)})
			run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				run store.Run
				err error
			}
			done := make(chan result, 1)
			go func() { r, err := eng.Execute(ctx, run.Identifier); done <- result{r, err} }()

			if tc.retryFor > 0 {
				logs.waitMsg(t, "retrying") // the driver met the lock
				release()
				r := <-done
				if r.err != nil || r.run.Result != store.ResultSuccess {
					t.Fatalf("Execute = %+v, %v; want SUCCESS", r.run, r.err)
				}
			} else {
				r := <-done
				if !errors.Is(r.err, store.ErrUnavailable) {
					t.Fatalf("Execute with no retries under a held lock = %v, want an error matching ErrUnavailable", r.err)
				}
				nrs, err := st.NodeRuns(ctx, run.Identifier)
				if err != nil {
					t.Fatal(err)
				}
				if len(nrs) != 2 || nrs[1].Status != store.StatusInProgress {
					t.Fatalf("after the refused step: %+v, want node one still IN_PROGRESS and nothing else", nrs)
				}
				release()
				got, driven, err := eng.ExecuteIfIdle(ctx, run.Identifier)
				if err != nil || !driven || got.Result != store.ResultSuccess {
					t.Fatalf("ExecuteIfIdle = %+v, %v, %v; want SUCCESS", got, driven, err)
				}
			}
			nrs, err := st.NodeRuns(ctx, run.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if len(nrs) != 3 || nrs[1].Result != store.ResultSuccess || nrs[2].Result != store.ResultSuccess {
				t.Errorf("node runs = %+v, want trigger, one and two, each SUCCESS", nrs)
			}
		})
	}
}

// TestExecuteIfIdle drives a run only when no driver of this process holds
// it and it does not wait for an outside completion.
func TestExecuteIfIdle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wf, version := storeWorkflow(t, st, strings.Replace(attemptsDef, "%q", `"terminate"`, 1))
	entered, proceed := make(chan struct{}), make(chan struct{})
	var pending atomic.Bool
	reg := node.NewRegistry()
	reg.Register("WEBHOOK", funcExec(func(context.Context, *node.Request) (node.Result, error) {
		if pending.Load() {
			return node.Result{Pending: true}, nil
		}
		entered <- struct{}{}
		<-proceed
		return node.Result{Output: map[string]any{}}, nil
	}))
	reg.Register(workflow.TypeUpsertEntity, funcExec(func(context.Context, *node.Request) (node.Result, error) {
		return node.Result{Output: map[string]any{}}, nil
	}))
	eng := engine.New(engine.Options{Store: st, Nodes: reg})
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := eng.Execute(ctx, run.Identifier); done <- err }()
	<-entered
	if _, driven, err := eng.ExecuteIfIdle(ctx, run.Identifier); driven || err != nil {
		t.Errorf("ExecuteIfIdle of a run being driven: driven %v, %v; want false", driven, err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	pending.Store(true)
	run, err = eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Execute(ctx, run.Identifier); err != nil {
		t.Fatal(err)
	}
	if _, driven, err := eng.ExecuteIfIdle(ctx, run.Identifier); driven || err != nil {
		t.Errorf("ExecuteIfIdle of a waiting run: driven %v, %v; want false", driven, err)
	}
}
