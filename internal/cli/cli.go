// Package cli is the sluice command line: the cobra commands and the wiring
// of the store, the secrets, the node executors and the engine behind them.
// cmd/sluice only calls Main, so the commands are tested in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the run ended FAILED or CANCELLED; a command failed
	ExitInvalid = 2 // the workflow, the inputs or the arguments are invalid
	ExitWaiting = 3 // the run waits on a node completed from outside
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func invalid(format string, a ...any) error {
	return &exitError{code: ExitInvalid, err: fmt.Errorf(format, a...)}
}

// IO is the process's environment: streams and variables. Tests pass their
// own; Main never reads os.* directly.
type IO struct {
	Stdin  *os.File // a file so that a terminal can be detected
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// app holds what the commands share.
type app struct {
	io      IO
	dataDir string
	sync    string
	logger  *slog.Logger
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, sio IO) int {
	if sio.Getenv == nil {
		sio.Getenv = func(string) string { return "" }
	}
	a := &app{io: sio}
	a.logger = slog.New(slog.NewTextHandler(sio.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(sio.Stdin)
	root.SetOut(sio.Stdout)
	root.SetErr(sio.Stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(sio.Stderr, "sluice:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(sio.Stderr, "sluice:", err)
	if isUsageError(err) {
		return ExitInvalid
	}
	return ExitFailed
}

// usageError marks errors from flag and argument parsing.
type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "sluice runs Port-format workflows on your own infrastructure",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", "./sluice-data", "directory of the embedded store and the generated master key")
	root.PersistentFlags().StringVar(&a.sync, "sqlite-sync", "normal", "SQLite durability: normal (survives a process crash) or full (survives power loss)")
	root.AddCommand(a.runCmd(), a.validateCmd(), a.secretsCmd(), a.keysCmd(), a.demoCmd(), a.serveCmd(), a.usersCmd(), a.clientsCmd(), a.workflowsCmd())
	return root
}

// args wraps a cobra argument validator so that its errors exit 2.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := v(c, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// openStore opens the embedded store in the data dir, creating the dir.
func (a *app) openStore(ctx context.Context) (*sqlite.Store, error) {
	var sync string
	switch a.sync {
	case "normal", "NORMAL", "":
		sync = "NORMAL"
	case "full", "FULL":
		sync = "FULL"
	default:
		return nil, invalid("--sqlite-sync: must be normal or full, got %q", a.sync)
	}
	if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(a.dataDir, "sluice.db"), sqlite.Options{Synchronous: sync})
}

// withStore opens the embedded store for fn and closes it after.
func (a *app) withStore(ctx context.Context, fn func(st store.Store) error) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}
