package cli

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/retention"
	"github.com/sluice-run/sluice/internal/store"
)

// periodValue is a pflag.Value for a retention period: 30d or a Go
// duration, 0 for forever (retention.ParsePeriod). As a flag it is also
// read from SLUICE_<FLAG> and the config file like every serve flag.
type periodValue struct{ d *time.Duration }

func (p periodValue) Set(s string) error {
	d, err := retention.ParsePeriod(s)
	if err != nil {
		return err
	}
	*p.d = d
	return nil
}

func (p periodValue) String() string {
	if p.d == nil {
		return "0"
	}
	return retention.FormatPeriod(*p.d)
}

func (p periodValue) Type() string { return "period" }

// retainFlags are serve's retention settings.
type retainFlags struct {
	runs, audit time.Duration
}

func (r *retainFlags) add(fl *pflag.FlagSet) {
	fl.Var(periodValue{&r.runs}, "retain-runs", "delete COMPLETED runs (with their node runs, logs and inputs) this long after they completed, in small batches in the background: 30d, or a Go duration such as 720h; 0 keeps them forever (a run in progress is never deleted)")
	fl.Var(periodValue{&r.audit}, "retain-audit", "delete audit events this long after they were written (30d, 720h); 0 keeps them forever")
}

// startRetention starts the retention loop of serve when a period is set,
// feeding the deleted rows into /metrics, and returns the function that
// stops it and waits for the batch in flight (before the store closes). A
// store without store.Retainer refuses a period.
func (a *app) startRetention(ctx context.Context, st store.Store, r retainFlags, srv *api.Server, logger *slog.Logger) (stop func(), err error) {
	o := retention.Options{Runs: r.runs, Audit: r.audit, Logger: logger, OnDeleted: srv.CountRetained}
	if !o.Enabled() {
		return func() {}, nil
	}
	rt, ok := st.(store.Retainer)
	if !ok {
		return nil, invalid("--retain-runs, --retain-audit: this store cannot delete old data")
	}
	logger.Info("retention is on", "runs", retention.FormatPeriod(r.runs), "audit", retention.FormatPeriod(r.audit))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		retention.Run(ctx, rt, o)
	}()
	return func() { cancel(); <-done }, nil
}

// setBuildInfo sets sluice_build_info in /metrics from what sluice version
// prints.
func setBuildInfo(srv *api.Server) {
	commit, _, _ := buildDetails()
	srv.SetBuildInfo(buildVersion(), commit, runtime.Version())
}
