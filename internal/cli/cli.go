// Package cli is the sluice command line: the cobra commands and the wiring
// of the store, the secrets, the node executors and the engine behind them.
// cmd/sluice only calls Main, so the commands are tested in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
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
	// databaseURL is --database-url: when set (or SLUICE_DATABASE_URL),
	// the store is PostgreSQL rather than the SQLite file in dataDir.
	databaseURL string
	sync        string
	logFormat   string
	logLevel    string
	logger      *slog.Logger
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
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", "./sluice-data", "directory of the embedded store and the generated master key")
	root.PersistentFlags().StringVar(&a.databaseURL, "database-url", "", "PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...) of the store, else SLUICE_DATABASE_URL; without either, the embedded SQLite store in --data-dir is used")
	root.PersistentFlags().StringVar(&a.sync, "sqlite-sync", "normal", "SQLite durability: normal (survives a process crash) or full (survives power loss)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "", "process log format on stderr: text or json (default text on a terminal, json otherwise)")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "process log level: debug, info, warn or error (default info for serve, warn for the other commands)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		logger, err := a.newLogger(a.io.Stderr, slog.LevelWarn)
		if err != nil {
			return err
		}
		a.logger = logger
		return nil
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(a.runCmd(), a.validateCmd(), a.secretsCmd(), a.keysCmd(), a.demoCmd(), a.serveCmd(), a.usersCmd(), a.clientsCmd(), a.workflowsCmd(), a.kafkaCmd(), a.runsCmd(), a.integrationsCmd(), a.aiCmd(), a.catalogCmd(), a.workerCmd())
	a.addClientCmds(root)
	root.AddCommand(a.backupCmd()) // backup.go
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.RunE == nil {
			c.RunE = unknownSubcommand
		}
	}
	return root
}

// unknownSubcommand runs a command group (users, clients, ...) given no
// known subcommand: help without arguments, else an error that exits 2.
// Cobra checks subcommand names only under the root, so without it
// `sluice clients revok ID` printed the help and exited 0.
func unknownSubcommand(c *cobra.Command, argv []string) error {
	if len(argv) == 0 {
		return c.Help()
	}
	return usageError{fmt.Errorf("unknown command %q for %q (see '%s --help')", argv[0], c.CommandPath(), c.CommandPath())}
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

// storeURL returns the PostgreSQL URL the store is chosen by:
// --database-url, else SLUICE_DATABASE_URL; "" means the embedded store.
func (a *app) storeURL() string {
	if a.databaseURL != "" {
		return a.databaseURL
	}
	return a.io.Getenv("SLUICE_DATABASE_URL")
}

// openStore opens the store: PostgreSQL when a database URL is given
// (storeURL), else the embedded SQLite store in the data dir. The data dir
// is created either way: it holds the generated master key and serve's
// lock whatever the store.
func (a *app) openStore(ctx context.Context) (store.Store, error) {
	var sync string
	switch a.sync {
	case "normal", "NORMAL", "":
		sync = "NORMAL"
	case "full", "FULL":
		sync = "FULL"
	default:
		return nil, invalid("--sqlite-sync: must be normal or full, got %q", a.sync)
	}
	if err := prepareDataDir(a.dataDir); err != nil {
		return nil, err
	}
	if url := a.storeURL(); url != "" {
		st, err := postgres.Open(ctx, url)
		if errors.Is(err, postgres.ErrInvalidURL) {
			return nil, invalid("--database-url: %w", err)
		}
		if err != nil {
			return nil, fmt.Errorf("--database-url: %w", err)
		}
		return st, nil
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

// prepareDataDir creates the data dir when it is missing and checks that this
// process may create files in it, so that a bad dir is named ("data dir /x:
// permission denied") rather than reported by SQLite as "unable to open
// database file (14)".
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return dataDirError(dir, err)
	}
	const wOK, xOK = 0x2, 0x1 // access(2) modes
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return dataDirError(dir, err)
	}
	return nil
}

// dataDirError names the data dir and the reason only ("permission denied",
// "not a directory"), without the inner path and operation of a PathError.
func dataDirError(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("data dir %s: %w", dir, err)
}

// newLogger returns the process logger writing to w in the --log-format
// (text on a terminal, JSON otherwise, unless set) at the --log-level (def
// unless set).
func (a *app) newLogger(w io.Writer, def slog.Level) (*slog.Logger, error) {
	level := def
	if a.logLevel != "" {
		if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
			return nil, invalid("--log-level: must be debug, info, warn or error, got %q", a.logLevel)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "":
		if isTerminal(a.io.Stderr) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, invalid("--log-format: must be text or json, got %q", a.logFormat)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
