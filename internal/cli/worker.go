package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
)

// workerFlags are the flags of `sluice worker`, named as serve's.
type workerFlags struct {
	shutdownGrace  time.Duration
	signingKeyFile string
	maxTmplBytes   int
	maxRunning     int
	leaseTTL       time.Duration
	otlpEndpoint   string
	kafka          kafkaFlags
	smtp           smtpFlags
	config         string
}

func (a *app) workerCmd() *cobra.Command {
	var f workerFlags
	c := &cobra.Command{
		Use:   "worker",
		Short: "Drive runs and the background loops on a shared PostgreSQL, without the API",
		Long: `Run the engine and serve's background loops (runs no process drives,
wait deadlines, wakes and integration polls, INPUT decisions, schedules and
catalog events, the purge of expired tokens) without the HTTP API, on the
PostgreSQL store of --database-url (or SLUICE_DATABASE_URL) that serve
processes share. A worker takes runs over from processes that died, and
drives on the runs whose outside completion or timer it picks up; serve
processes take the requests. docs/operating.md, "Several processes".

It needs the same master key as the serve processes (SLUICE_MASTER_KEY,
SLUICE_MASTER_KEY_FILE or <data-dir>/master.key) and the same webhook
signing key. SIGINT or SIGTERM stops it: node executions in flight get
--shutdown-grace to finish, then its leases are released so that the other
processes take its runs at once.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if _, err := a.applyConfig(c, f.config); err != nil {
				return err
			}
			if err := a.kafkaFromEnv(c.Flags()); err != nil {
				return err
			}
			return a.worker(c.Context(), f)
		},
	}
	fl := c.Flags()
	f.kafka.add(fl, false, true)
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 10*time.Second, "how long node executions in flight may finish at shutdown")
	fl.IntVar(&f.maxTmplBytes, "max-template-bytes", tmpl.DefaultMaxBytes, "most bytes one render of a node's templates may allocate; a template that would grow past it fails its node")
	fl.IntVar(&f.maxRunning, "max-running", api.DefaultMaxRunning, "most runs driven at once")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", engine.DefaultLeaseTTL, "how long a run stays leased to a process that stopped renewing it (renewed every third of it)")
	fl.StringVar(&f.signingKeyFile, "webhook-signing-key-file", "", "file holding the key that signs WEBHOOK requests (else SLUICE_WEBHOOK_SIGNING_KEY)")
	f.smtp.add(fl)
	fl.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", "OpenTelemetry collector's OTLP/HTTP URL to export a trace per run to, as serve's; off when empty (docs/operating.md)")
	fl.StringVar(&f.config, "config", "", "config file (YAML, or TOML for .toml; else SLUICE_CONFIG): keys named as these flags; order flag > SLUICE_<FLAG> > file > default")
	return c
}

func (a *app) worker(ctx context.Context, f workerFlags) error {
	if a.storeURL() == "" {
		return invalid("--database-url (or SLUICE_DATABASE_URL) is required: a worker shares a PostgreSQL store with serve processes; on the embedded store, serve alone drives the runs of its data dir")
	}
	if f.shutdownGrace < 0 {
		return invalid("--shutdown-grace must not be negative")
	}
	if f.maxTmplBytes <= 0 {
		return invalid("--max-template-bytes: must be positive, got %d", f.maxTmplBytes)
	}
	if f.maxRunning <= 0 {
		return invalid("--max-running: must be positive, got %d", f.maxRunning)
	}
	if f.leaseTTL < 3*time.Second {
		return invalid("--lease-ttl: must be at least 3s, got %s", f.leaseTTL)
	}
	if err := checkOTLPEndpoint(f.otlpEndpoint); err != nil {
		return err
	}
	key, err := a.signingKey(f.signingKeyFile)
	if err != nil {
		return err
	}
	procRed := redact.New()
	logOut := procRed.NewWriter(a.io.Stderr)
	defer logOut.Close()
	logger, err := a.newLogger(logOut, slog.LevelInfo)
	if err != nil {
		return err
	}
	a.logger = logger

	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, ok := st.(store.LeaseStore); !ok {
		return errors.New("worker: the store does not keep run leases")
	}
	svc, err := a.service(ctx, st)
	if err != nil {
		return err
	}
	// No API here: the links of INPUT notifications name no server.
	reg, cat, _, closeKafka, err := a.serverRegistry(serverNodes{st: st, svc: svc, procRed: procRed, signingKey: key, kafka: &f.kafka, smtp: f.smtp})
	if err != nil {
		return err
	}
	defer closeKafka()
	// Traces: the node runs this worker drives belong to their runs'
	// traces as serve's do (decision 018).
	tracer, stopTracing, err := a.tracer(f.otlpEndpoint, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	events, onEvent, stopEvents, err := a.runEvents(ctx, st, logger)
	if err != nil {
		return err
	}
	defer stopEvents()
	// The Server is used for its background loops only: nothing serves its
	// handler.
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{}), Logger: logger, ProcessRedactor: procRed,
		MaxTemplateBytes: f.maxTmplBytes, Catalog: cat, MaxRunning: f.maxRunning,
		LeaseOwner: engine.NewLeaseOwner(), LeaseTTL: f.leaseTTL, Events: events, OnEvent: onEvent, Tracer: tracer})
	if err != nil {
		return err
	}
	n, err := srv.Resume(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Stdout, "sluice worker running (lease owner %s, %d runs taken over)\n", srv.Engine().LeaseOwner(), n)
	<-ctx.Done()
	logger.Info("shutting down", "grace_ms", f.shutdownGrace.Milliseconds())
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(graceCtx); errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("node executions still running at the end of the grace period were cancelled; other processes take their runs over")
	}
	logger.Info("stopped")
	return nil
}
