// Package retention deletes what sluice keeps once it is older than the
// retention settings of serve (--retain-runs, --retain-audit): completed
// runs with everything under them, and audit events, in small batches in a
// background loop, through the store's optional store.Retainer
// (docs/decisions/017-backup-and-retention.md).
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// Defaults of Options.
const (
	// DefaultInterval is the time between two sweeps.
	DefaultInterval = 10 * time.Minute
	// DefaultBatch is how many runs or audit events one transaction
	// deletes: small, so that the engine's commits wait little behind it.
	DefaultBatch = 100
	// DefaultPause is the pause between two batches of one sweep.
	DefaultPause = 20 * time.Millisecond
	// MinPeriod is the shortest retention period accepted, so that a
	// slip such as 30s for 30d does not empty the store.
	MinPeriod = time.Minute
)

// Kinds of deleted rows, for Options.OnDeleted and the metrics.
const (
	KindRuns  = "runs"
	KindAudit = "audit"
)

// Options configure Sweep and Run. A zero period keeps that kind forever.
type Options struct {
	// Runs is how long a completed run is kept after it completed.
	Runs time.Duration
	// Audit is how long an audit event is kept after it was written.
	Audit time.Duration
	// Interval is the time between sweeps (DefaultInterval when zero).
	Interval time.Duration
	// Batch is the most rows one transaction deletes (DefaultBatch when
	// zero).
	Batch int
	// Pause is the pause between two batches (DefaultPause when zero;
	// negative: none).
	Pause time.Duration
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
	// Logger gets a line per sweep that deleted something, and its
	// errors; nil discards them.
	Logger *slog.Logger
	// OnDeleted, when set, is called after each batch that deleted rows.
	OnDeleted func(kind string, n int)
}

// Enabled reports whether anything is to be deleted.
func (o Options) Enabled() bool { return o.Runs > 0 || o.Audit > 0 }

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Pause == 0 {
		o.Pause = DefaultPause
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ParsePeriod parses a retention period: a Go duration (720h, 90m) or a
// whole number of days (30d); "" and "0" mean keep forever (zero). A
// negative period, or one shorter than MinPeriod, is an error.
func ParsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: want a whole number of days such as 30d, or a Go duration such as 720h", s)
		}
		if n < 0 {
			return 0, fmt.Errorf("%q: must not be negative (0 keeps forever)", s)
		}
		if n > int64((1<<63-1)/(24*time.Hour)) {
			return 0, fmt.Errorf("%q: too long", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a number of days such as 30d, or a Go duration such as 720h", s)
		}
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q: must not be negative (0 keeps forever)", s)
	case d > 0 && d < MinPeriod:
		return 0, fmt.Errorf("%q: shorter than %v (0 keeps forever)", s, MinPeriod)
	}
	return d, nil
}

// FormatPeriod is the inverse of ParsePeriod for display: whole days as
// 30d, 0 as 0, anything else as a Go duration.
func FormatPeriod(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// Sweep deletes, batch after batch until none is left, the completed runs
// that completed more than o.Runs ago and the audit events older than
// o.Audit, and returns how many of each it deleted. It stops at the first
// error or when ctx is done.
func Sweep(ctx context.Context, r store.Retainer, o Options) (runs, audit int, err error) {
	o = o.withDefaults()
	now := o.Now()
	if o.Runs > 0 {
		runs, err = drain(ctx, o, KindRuns, func(ctx context.Context) (int, error) {
			return r.DeleteRunsBefore(ctx, now.Add(-o.Runs), o.Batch)
		})
		if err != nil {
			return runs, 0, err
		}
	}
	if o.Audit > 0 {
		audit, err = drain(ctx, o, KindAudit, func(ctx context.Context) (int, error) {
			return r.DeleteAuditBefore(ctx, now.Add(-o.Audit), o.Batch)
		})
	}
	return runs, audit, err
}

func drain(ctx context.Context, o Options, kind string, batch func(context.Context) (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch(ctx)
		if err != nil {
			return total, fmt.Errorf("retention: delete %s: %w", kind, err)
		}
		total += n
		if n > 0 && o.OnDeleted != nil {
			o.OnDeleted(kind, n)
		}
		if n < o.Batch {
			return total, nil
		}
		if o.Pause > 0 {
			t := time.NewTimer(o.Pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return total, ctx.Err()
			case <-t.C:
			}
		}
	}
}

// Run sweeps at once, then every o.Interval, until ctx is done. A failed
// sweep (the store busy, say) is logged and tried again at the next one.
func Run(ctx context.Context, r store.Retainer, o Options) {
	if !o.Enabled() {
		return
	}
	o = o.withDefaults()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		runs, audit, err := Sweep(ctx, r, o)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			o.Logger.Warn("retention sweep failed; trying again at the next", "error", err.Error(), "runs_deleted", runs, "audit_deleted", audit)
		case runs > 0 || audit > 0:
			o.Logger.Info("retention deleted old data", "runs", runs, "audit_events", audit)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
