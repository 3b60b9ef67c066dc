package autostart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// maxCatchUp bounds how many missed ticks FireSchedules steps over to find
// the latest one; past it the latest is older than one period anyway.
const maxCatchUp = 100_000

// FireSchedules starts one run for each schedule trigger whose next tick
// has come, and returns how many it started. The next tick of each trigger
// is stored: a new (or changed) schedule is stored with its first tick
// after now and fires nothing yet. A due tick fires, once, if it is less
// than one period (the time to the tick after it) old: a tick missed
// while no sluice ran fires at the next start when it is that recent, and
// is skipped with a warning otherwise. Then the next tick after now is
// stored, if no other process stored it first.
func (r *Runner) FireSchedules(ctx context.Context) (int, error) {
	return r.fireSchedules(ctx, &triggerList{})
}

// fireSchedules is FireSchedules with the triggers listed in l.
func (r *Runner) fireSchedules(ctx context.Context, l *triggerList) (int, error) {
	trigs, err := r.triggers(ctx, l, workflow.TypeScheduleTrigger)
	if err != nil {
		return 0, err
	}
	now := r.o.Now().UTC()
	started := 0
	var errs []error
	for _, t := range trigs {
		ok, err := r.fireOne(ctx, t, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule of %s/%s: %w", t.wf.Identifier, t.node.Identifier, err))
		}
		if ok {
			started++
		}
	}
	return started, errors.Join(errs...)
}

// fireOne handles one schedule trigger; it reports whether it started a
// run.
func (r *Runner) fireOne(ctx context.Context, t trigger, now time.Time) (bool, error) {
	sch, err := r.parser.Parse(t.node.Cron)
	if err != nil {
		return false, fmt.Errorf("cron %q: %w", t.node.Cron, err)
	}
	st, err := r.o.Schedules.GetSchedule(ctx, t.wf.Identifier, t.node.Identifier)
	switch {
	case errors.Is(err, store.ErrNotFound):
		next := store.Schedule{WorkflowID: t.wf.Identifier, Trigger: t.node.Identifier, Cron: t.node.Cron, NextAt: sch.Next(now)}
		if err := r.o.Schedules.PutSchedule(ctx, next, time.Time{}); err != nil && !errors.Is(err, store.ErrConflict) {
			return false, err
		}
		return false, nil
	case err != nil:
		return false, err
	}
	if st.Cron != t.node.Cron {
		// The schedule changed: its next tick is the new schedule's.
		next := st
		next.Cron, next.NextAt = t.node.Cron, sch.Next(now)
		if err := r.o.Schedules.PutSchedule(ctx, next, st.NextAt); err != nil && !errors.Is(err, store.ErrConflict) {
			return false, err
		}
		return false, nil
	}
	if now.Before(st.NextAt) {
		return false, nil
	}
	tick := st.NextAt.UTC()
	recent := true
	for i := 0; ; i++ {
		n := sch.Next(tick)
		if n.After(now) {
			break
		}
		if i == maxCatchUp {
			recent = false
			break
		}
		tick = n
	}
	period := sch.Next(tick).Sub(tick)
	recent = recent && now.Sub(tick) < period
	started := false
	if recent {
		key := fmt.Sprintf("schedule\x00%s\x00%s\x00%s", t.wf.Identifier, t.node.Identifier, tick.Format(time.RFC3339))
		out := map[string]any{"scheduledAt": tick.Format(time.RFC3339)}
		runID := engine.DerivedRunID(key, tick)
		if err := r.start(ctx, t, runID, out); err != nil {
			return false, err
		}
		started = true
	} else {
		r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "a schedule tick was missed by more than one period and is skipped",
			slog.String("workflow", t.wf.Identifier), slog.String("trigger", t.node.Identifier), slog.Time("tick", tick))
	}
	next := st
	next.NextAt = sch.Next(now)
	if err := r.o.Schedules.PutSchedule(ctx, next, st.NextAt); err != nil && !errors.Is(err, store.ErrConflict) {
		return started, err
	}
	return started, nil
}
