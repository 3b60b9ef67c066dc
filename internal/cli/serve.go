package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/ui"
)

// serveFlags are the flags of `sluice serve`.
type serveFlags struct {
	addr           string
	shutdownGrace  time.Duration
	tokenTTL       time.Duration
	tokenCacheTTL  time.Duration
	debugAddr      string
	maxBodyBytes   int64
	signingKeyFile string
	literalCreds   string
	maxTmplBytes   int
	maxRunning     int
	uiSessionTTL   time.Duration
	uiSecure       bool
	// autostartEvery is --autostart-interval (checkAutostartInterval).
	autostartEvery time.Duration
	kafka          kafkaFlags
	smtp           smtpFlags
	config         string
	retain         retainFlags // retain.go
	otlpEndpoint   string
	leaseTTL       time.Duration
}

func (a *app) serveCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API and run workflows (the engine) in one process",
		Long: `Serve runs the HTTP API (docs/api.md, /v1/openapi.json) and the engine in
one process, on the embedded SQLite store in --data-dir, or on PostgreSQL
with --database-url (or SLUICE_DATABASE_URL).

Only one serve may run on a data dir: it holds an exclusive lock on
<data-dir>/serve.lock (which names its pid and address) while it runs, and a
second serve fails at once. Other commands stay allowed. The lock and the
generated master key stay in the data dir with PostgreSQL too. Several serve
(and sluice worker) processes, each with its own data dir and the same master
key, may share one PostgreSQL database: each run is leased to the process
that drives it and taken over by another after --lease-ttl when that process
dies (docs/operating.md, "Several processes").

Serve binds --addr first. Then, on the first start with no API client in the
store, it creates an Admin machine client and prints its clientId and
clientSecret once on stdout (or takes them from SLUICE_ADMIN_CLIENT_ID and
SLUICE_ADMIN_CLIENT_SECRET); a busy port changes nothing in the store. On
every start it resumes the runs left IN_PROGRESS.

A lost Admin secret is replaced from the command line on the data dir, with
the server running or not: sluice clients create --name admin --scope admin.

WEBHOOK requests are signed (X-Sluice-Signature) when a signing key is given
by --webhook-signing-key-file or SLUICE_WEBHOOK_SIGNING_KEY.

On SIGTERM or SIGINT it stops accepting requests, lets node executions in
flight finish within --shutdown-grace, then cancels the rest: their node runs
stay IN_PROGRESS and resume at the next start.

KAFKA nodes publish to --kafka-brokers (TLS and SASL flags in
docs/configuration.md; each flag also reads SLUICE_<FLAG> in upper case,
SLUICE_KAFKA_BROKERS, ...). --dev-kafka starts an in-process broker on
127.0.0.1:9092 instead, for trying things out: its messages live in memory
only. A waiting node's timeoutSeconds is kept in the store and applied
within about a second of its deadline, across restarts.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			// Every flag also from SLUICE_<FLAG> and the --config file
			// (config.go); the logger is made again with what they set.
			if _, err := a.applyConfig(c, f.config); err != nil {
				return err
			}
			if err := a.kafkaFromEnv(c.Flags()); err != nil {
				return err
			}
			return a.serve(c.Context(), f)
		},
	}
	fl := c.Flags()
	f.kafka.add(fl, true, true)
	fl.StringVar(&f.addr, "addr", "127.0.0.1:7070", "address to listen on (port 0 picks a free one)")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 10*time.Second, "how long node executions in flight may finish at shutdown")
	fl.DurationVar(&f.tokenTTL, "token-ttl", auth.DefaultTokenTTL, "lifetime of issued access tokens")
	fl.DurationVar(&f.tokenCacheTTL, "token-cache-ttl", auth.DefaultCacheTTL, "how long a verified access token is trusted without reading the store; credentials revoked or deleted from the command line stop working within it (0 disables the cache)")
	fl.StringVar(&f.debugAddr, "debug-addr", "", "loopback address to serve Go's profiler on (/debug/pprof/), such as 127.0.0.1:6060; off when empty")
	fl.IntVar(&f.maxTmplBytes, "max-template-bytes", tmpl.DefaultMaxBytes, "most bytes one render of a node's templates may allocate; a template that would grow past it fails its node")
	fl.IntVar(&f.maxRunning, "max-running", api.DefaultMaxRunning, "most runs driven at once; run creation answers 503 with Retry-After past it")
	fl.Int64Var(&f.maxBodyBytes, "max-body-bytes", api.DefaultMaxBodyBytes, "largest request body accepted (413 past it)")
	fl.StringVar(&f.signingKeyFile, "webhook-signing-key-file", "", "file holding the key that signs WEBHOOK requests (else SLUICE_WEBHOOK_SIGNING_KEY)")
	fl.DurationVar(&f.uiSessionTTL, "ui-session-ttl", ui.DefaultSessionTTL, "lifetime of a web UI session after sign-in")
	fl.BoolVar(&f.uiSecure, "ui-secure-cookies", false, "mark web UI cookies Secure on plain HTTP too, for a TLS-terminating proxy in front (requests over TLS always get it)")
	f.smtp.add(fl)
	f.retain.add(fl)
	fl.StringVar(&f.config, "config", "", "config file (YAML, or TOML for .toml; else SLUICE_CONFIG): keys named as these flags; order flag > SLUICE_<FLAG> > file > default")
	fl.DurationVar(&f.autostartEvery, "autostart-interval", api.DefaultAutostartInterval, "how often serve looks for due schedules, entity timers and catalog events written by other processes (this process's catalog writes are seen at once); 10ms to 30s")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", engine.DefaultLeaseTTL, "how long a run stays leased to a process that stopped renewing it (renewed every third of it); another process sharing the database takes the run over after it")
	fl.StringVar(&f.literalCreds, "literal-credentials", api.LiteralCredentialsReject, "a definition saved with a credential as literal text: reject, warn (save, and warn callers who may manage secrets) or allow")
	fl.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", "OpenTelemetry collector's OTLP/HTTP URL (http://127.0.0.1:4318) to export a trace per run to; off when empty (docs/operating.md)")
	return c
}

// signingKey reads the webhook signing key from the file flag or the
// environment; nil when neither is set.
func (a *app) signingKey(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, invalid("--webhook-signing-key-file: %w", err)
		}
		key := []byte(strings.TrimSpace(string(b)))
		if len(key) < 16 {
			return nil, invalid("--webhook-signing-key-file %s: the key must be at least 16 bytes", file)
		}
		return key, nil
	}
	if env := a.io.Getenv("SLUICE_WEBHOOK_SIGNING_KEY"); env != "" {
		if len(env) < 16 {
			return nil, invalid("SLUICE_WEBHOOK_SIGNING_KEY: the key must be at least 16 bytes")
		}
		return []byte(env), nil
	}
	return nil, nil
}

func (a *app) serve(ctx context.Context, f serveFlags) error {
	if f.shutdownGrace < 0 || f.tokenTTL <= 0 || f.maxBodyBytes <= 0 {
		return invalid("--shutdown-grace must not be negative; --token-ttl and --max-body-bytes must be positive")
	}
	if f.tokenCacheTTL < 0 {
		return invalid("--token-cache-ttl must not be negative (0 disables the cache)")
	}
	if f.maxTmplBytes <= 0 {
		return invalid("--max-template-bytes: must be positive, got %d", f.maxTmplBytes)
	}
	if f.maxRunning <= 0 {
		return invalid("--max-running: must be positive, got %d", f.maxRunning)
	}
	if f.uiSessionTTL < time.Minute {
		return invalid("--ui-session-ttl: must be at least 1m, got %s", f.uiSessionTTL)
	}
	if f.leaseTTL < 3*time.Second {
		return invalid("--lease-ttl: must be at least 3s, got %s", f.leaseTTL)
	}
	if !api.ValidLiteralCredentials(f.literalCreds) || f.literalCreds == "" {
		return invalid("--literal-credentials: must be reject, warn or allow, got %q", f.literalCreds)
	}
	if err := checkAutostartInterval(f.autostartEvery); err != nil {
		return err
	}
	if err := checkOTLPEndpoint(f.otlpEndpoint); err != nil {
		return err
	}
	key, err := a.signingKey(f.signingKeyFile)
	if err != nil {
		return err
	}
	// The process log writes through a redactor that learns every secret
	// the engine resolves: log lines carry identifiers and redacted text
	// only, and this masks anything that slips through all the same.
	procRed := redact.New()
	logOut := procRed.NewWriter(a.io.Stderr)
	defer logOut.Close()
	logger, err := a.newLogger(logOut, slog.LevelInfo)
	if err != nil {
		return err
	}
	a.logger = logger

	// The order matters: the lock first, so that a second server on the
	// data dir touches nothing; the listener before anything is written,
	// so that a busy port does not create (and lose) the Admin credentials.
	if err := prepareDataDir(a.dataDir); err != nil {
		return err
	}
	lock, err := lockDataDir(a.dataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer lock.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return invalid("--addr: %w (nothing was written to the data dir)%s", err, listenHint(f.addr, err))
	}
	defer ln.Close()
	if f.debugAddr != "" {
		daddr, stop, err := startDebug(f.debugAddr, logger)
		if err != nil {
			return invalid("%w", err)
		}
		defer stop()
		logger.Info("profiler listening", "addr", daddr.String())
	}
	url := "http://" + ln.Addr().String()
	if err := lock.write(url); err != nil {
		return err
	}

	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := a.service(ctx, st)
	if err != nil {
		return err
	}
	cred, created, err := auth.Bootstrap(ctx, st, a.io.Getenv("SLUICE_ADMIN_CLIENT_ID"), a.io.Getenv("SLUICE_ADMIN_CLIENT_SECRET"))
	if err != nil {
		return invalid("%w", err)
	}
	if created {
		if a.io.Getenv("SLUICE_ADMIN_CLIENT_SECRET") != "" {
			fmt.Fprintf(a.io.Stdout, "created the Admin client %s from SLUICE_ADMIN_CLIENT_ID and SLUICE_ADMIN_CLIENT_SECRET\n", cred.ClientID)
		} else {
			fmt.Fprintf(a.io.Stdout, "created an Admin client; its secret is shown only this once:\n  clientId:     %s\n  clientSecret: %s\n", cred.ClientID, cred.ClientSecret)
		}
	}

	reg, cat, kafkaConfigured, closeKafka, err := a.serverRegistry(serverNodes{st: st, svc: svc, procRed: procRed, signingKey: key, kafka: &f.kafka, smtp: f.smtp, baseURL: url})
	if err != nil {
		return err
	}
	defer closeKafka()
	if !kafkaConfigured {
		logger.Info("no Kafka brokers are configured: KAFKA nodes fail until --kafka-brokers (SLUICE_KAFKA_BROKERS) or --dev-kafka is given")
	}
	cacheTTL := f.tokenCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1 // the flag's 0 disables the cache
	}
	authn := auth.New(st, auth.Options{TokenTTL: f.tokenTTL, CacheTTL: cacheTTL})
	// Traces (--otlp-endpoint): flushed at exit, after the runs' last steps.
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
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: authn, Logger: logger, MaxBodyBytes: f.maxBodyBytes, ProcessRedactor: procRed, LiteralCredentials: f.literalCreds, MaxTemplateBytes: f.maxTmplBytes,
		Catalog: cat, MaxRunning: f.maxRunning, AutostartInterval: f.autostartEvery, Tracer: tracer,
		LeaseOwner: engine.NewLeaseOwner(), LeaseTTL: f.leaseTTL, Events: events, OnEvent: onEvent,
		// On SQLite the data dir's lock (held above) makes this process the
		// only one: leases left in the store are a dead process's.
		ExclusiveStore: a.storeURL() == ""})
	if err != nil {
		return err
	}
	setBuildInfo(srv)
	stopRetention, err := a.startRetention(ctx, st, f.retain, srv, logger)
	if err != nil {
		return err
	}
	defer stopRetention()
	if n, err := srv.Resume(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("resuming runs", "count", n)
	}
	if n, err := authn.DeleteExpired(ctx); err == nil && n > 0 {
		logger.Info("deleted expired access tokens", "count", n)
	}

	// The web UI at / (internal/ui): pages over the same API handlers.
	web, err := ui.New(ui.Options{Store: st, API: srv.Handler(), Logger: logger, SessionTTL: f.uiSessionTTL, SecureCookies: f.uiSecure})
	if err != nil {
		return err
	}
	if n, err := web.DeleteExpiredSessions(ctx); err == nil && n > 0 {
		logger.Info("deleted expired UI sessions", "count", n)
	}
	go web.PurgeSessions(ctx, 10*time.Minute)

	hs := &http.Server{
		Handler:           web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Long polls and event streams end at once when shutting down.
	hs.RegisterOnShutdown(srv.StopWaiting)
	hs.RegisterOnShutdown(stopEvents)
	fmt.Fprintf(a.io.Stdout, "sluice listening on %s\n", url)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		// Serve never returns nil; anything but ErrServerClosed is a failure.
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace_ms", f.shutdownGrace.Milliseconds())
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(graceCtx); err != nil {
		logger.Warn("requests still open at the end of the grace period were cut", "error", err.Error())
		_ = hs.Close()
	}
	if err := srv.Shutdown(graceCtx); errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("node executions still running at the end of the grace period were cancelled; their runs resume at the next start")
	}
	logger.Info("stopped")
	return nil
}
