// Package autostart starts the runs that nobody starts by hand: those of
// EVENT_TRIGGER workflows, from the catalog's outbox of committed changes
// and from entity timers, and those of SCHEDULE_TRIGGER workflows, from
// their cron schedules. Everything it decides is durable in the store, and
// every run it starts has an identifier derived from what started it
// (engine.DerivedRunID), so a crash, a restart or a second process sharing
// the store never starts a run twice and never loses one
// (docs/decisions/011-runs-that-start-by-themselves.md).
package autostart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Actor is the createdBy of every run this package starts: the automation
// identity. No user or client can have it (their identifiers start with
// usr_ and cl_), and .workflowRun.trigger.by of such a run has a null
// email, firstName and lastName.
const Actor = "automation"

// Engine is what autostart needs of the engine (*engine.Engine).
type Engine interface {
	Start(ctx context.Context, req engine.StartRequest) (store.Run, error)
	Compiled(rec store.Workflow) (*workflow.Workflow, error)
	// NoteRedactor returns a redactor for text written about a run, ended
	// or not.
	NoteRedactor(ctx context.Context, runID string) (*redact.Redactor, error)
}

// Options configure a Runner.
type Options struct {
	Store     store.Store
	Catalog   store.CatalogStore  // nil: no event triggers
	Schedules store.ScheduleStore // nil: no schedule triggers
	Engine    Engine
	// Execute drives a run just started, in the background.
	Execute func(runID string)
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: discard
}

// Runner starts runs from catalog events, entity timers and schedules. Its
// methods are called from one loop (the server's); they may also run in
// several processes over one store at once.
type Runner struct {
	o      Options
	parser cron.Parser
}

// New returns a Runner.
func New(o Options) *Runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Execute == nil {
		o.Execute = func(string) {}
	}
	return &Runner{o: o, parser: cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)}
}

// Step fires due timers, starts the runs of pending catalog events and of
// due schedules, and reports whether there may be more events to drain
// at once.
func (r *Runner) Step(ctx context.Context) (more bool, err error) {
	var errs []error
	// The workflows are listed (and compiled) at most once per step, for
	// events and schedules alike: listing was 15 % of a catalog write's
	// step when it was done once for each (docs/performance.md).
	var list triggerList
	if r.o.Catalog != nil {
		if _, err := r.o.Catalog.FireDueTimers(ctx, r.o.Now(), 100); err != nil {
			errs = append(errs, fmt.Errorf("fire entity timers: %w", err))
		}
		n, err := r.drainEvents(ctx, batch, &list)
		if err != nil {
			errs = append(errs, err)
		}
		more = n == batch
	}
	if r.o.Schedules != nil {
		if _, err := r.fireSchedules(ctx, &list); err != nil {
			errs = append(errs, err)
		}
	}
	return more && len(errs) == 0, errors.Join(errs...)
}

// batch is how many events one step drains.
const batch = 100

// trigger is a published trigger node of the newest version of a workflow.
type trigger struct {
	wf      *workflow.Workflow
	version int
	node    *workflow.Node
}

// triggerList is the published triggers of every workflow, listed on
// first use and kept for the rest of a step.
type triggerList struct {
	all    []trigger
	err    error
	listed bool
}

// triggers returns the published triggers of the given type of every
// workflow, listing the workflows into l the first time.
func (r *Runner) triggers(ctx context.Context, l *triggerList, typ string) ([]trigger, error) {
	if !l.listed {
		l.all, l.err = r.listTriggers(ctx)
		l.listed = true
	}
	if l.err != nil {
		return nil, l.err
	}
	var out []trigger
	for _, t := range l.all {
		if t.node.Type == typ {
			out = append(out, t)
		}
	}
	return out, nil
}

// listTriggers returns the published triggers of every workflow.
func (r *Runner) listTriggers(ctx context.Context) ([]trigger, error) {
	recs, err := r.o.Store.ListWorkflows(ctx)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	var out []trigger
	for _, rec := range recs {
		wf, err := r.o.Engine.Compiled(rec)
		if err != nil {
			r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "a stored workflow does not parse; its triggers are skipped", slog.String("workflow", rec.Identifier), slog.String("error", err.Error()))
			continue
		}
		for _, n := range wf.Triggers() {
			if n.Published {
				out = append(out, trigger{wf: wf, version: rec.Version, node: n})
			}
		}
	}
	return out, nil
}

// DrainEvents starts the runs of at most limit pending catalog events,
// oldest first, marking each done once its runs are started, and returns
// how many events it handled.
func (r *Runner) DrainEvents(ctx context.Context, limit int) (int, error) {
	return r.drainEvents(ctx, limit, &triggerList{})
}

// drainEvents is DrainEvents with the triggers listed in l.
func (r *Runner) drainEvents(ctx context.Context, limit int, l *triggerList) (int, error) {
	evs, err := r.o.Catalog.PendingCatalogEvents(ctx, limit)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	trigs, err := r.triggers(ctx, l, workflow.TypeEventTrigger)
	if err != nil {
		return 0, err
	}
	for i, ev := range evs {
		if err := r.handle(ctx, ev, trigs); err != nil {
			return i, fmt.Errorf("catalog event %d: %w", ev.ID, err)
		}
		if err := r.o.Catalog.MarkCatalogEventDone(ctx, ev.ID); err != nil {
			return i, fmt.Errorf("catalog event %d: %w", ev.ID, err)
		}
	}
	return len(evs), nil
}

// matches reports whether an EVENT_TRIGGER listens to the event.
func matches(et *workflow.EventTrigger, ev store.CatalogEvent) bool {
	if et == nil || et.BlueprintIdentifier != ev.Blueprint {
		return false
	}
	switch et.Type {
	case "ENTITY_CREATED":
		return ev.Action == store.ActionCreate
	case "ENTITY_UPDATED":
		return ev.Action == store.ActionUpdate
	case "ENTITY_DELETED":
		return ev.Action == store.ActionDelete
	case "ANY_ENTITY_CHANGE":
		return ev.Action == store.ActionCreate || ev.Action == store.ActionUpdate || ev.Action == store.ActionDelete
	case "TIMER_EXPIRED":
		return ev.Action == store.ActionTimerExpired && et.PropertyIdentifier == ev.Property
	}
	return false
}

// Output is the trigger output of a run started by a catalog event:
// {"action", "diff": {"before", "after"}, "context": {"blueprintIdentifier",
// "entityIdentifier"}}, the members port-docs
// docs/workflows/build-workflows/event-trigger.md lists under "Outputs".
func Output(ev store.CatalogEvent, before, after any) map[string]any {
	return map[string]any{
		"action":  ev.Action,
		"diff":    map[string]any{"before": before, "after": after},
		"context": map[string]any{"blueprintIdentifier": ev.Blueprint, "entityIdentifier": ev.Entity},
	}
}

func decodeEntity(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode the event's entity: %w", err)
	}
	return v, nil
}

// handle starts the runs of one event.
func (r *Runner) handle(ctx context.Context, ev store.CatalogEvent, trigs []trigger) error {
	var hit bool
	for _, t := range trigs {
		if matches(t.node.Event, ev) {
			hit = true
			break
		}
	}
	if !hit {
		return nil
	}
	if ev.Depth > catalog.MaxDepth {
		r.loopGuard(ctx, ev)
		return nil
	}
	before, err := decodeEntity(ev.Before)
	if err != nil {
		return err
	}
	after, err := decodeEntity(ev.After)
	if err != nil {
		return err
	}
	if ev.Action == store.ActionTimerExpired {
		e, err := r.o.Catalog.GetEntity(ctx, ev.Blueprint, ev.Entity)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted since: nothing expired
		} else if err != nil {
			return err
		}
		pub, err := catalog.Public(e)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(pub)
		if after, err = decodeEntity(b); err != nil {
			return err
		}
		before = after
	}
	out := Output(ev, before, after)
	for _, t := range trigs {
		if !matches(t.node.Event, ev) {
			continue
		}
		ok, err := condition(t.node.Event.Condition, out)
		if err != nil {
			r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "an event trigger's condition failed; the event starts no run of it",
				slog.String("workflow", t.wf.Identifier), slog.String("trigger", t.node.Identifier), slog.Int64("event", ev.ID), slog.String("error", err.Error()))
			continue
		}
		if !ok {
			continue
		}
		key := fmt.Sprintf("event\x00%d\x00%s\x00%s", ev.ID, t.wf.Identifier, t.node.Identifier)
		runID := engine.DerivedRunID(key, ev.CreatedAt)
		if err := r.o.Catalog.RecordRunDepth(ctx, runID, ev.Depth); err != nil {
			return err
		}
		if err := r.start(ctx, t, runID, out); err != nil {
			return err
		}
	}
	return nil
}

// start starts one run, or nothing when it was started already.
func (r *Runner) start(ctx context.Context, t trigger, runID string, out map[string]any) error {
	_, err := r.o.Engine.Start(ctx, engine.StartRequest{
		Workflow: t.wf, Version: t.version, Trigger: t.node.Identifier, Output: out, RunID: runID,
		Actor: engine.Actor{ID: Actor},
	})
	switch {
	case errors.Is(err, store.ErrExists):
		return nil // started before a crash, or by another process
	case err != nil:
		return fmt.Errorf("start a run of %s: %w", t.wf.Identifier, err)
	}
	r.o.Logger.LogAttrs(ctx, slog.LevelInfo, "started a run by itself", slog.String("workflow", t.wf.Identifier), slog.String("trigger", t.node.Identifier), slog.String("run", runID))
	r.o.Execute(runID)
	return nil
}

// loopGuard records that an event too deep in a chain of event-started
// runs starts nothing: on the node run that made the change, and in the
// process log.
func (r *Runner) loopGuard(ctx context.Context, ev store.CatalogEvent) {
	msg := fmt.Sprintf("the %s of entity %s of blueprint %s starts no run: it is change %d of a chain of runs started by catalog events, and such a chain stops at %d (a workflow that changes the blueprint its own trigger watches would loop forever)",
		ev.Action, ev.Entity, ev.Blueprint, ev.Depth, catalog.MaxDepth)
	r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "catalog event loop stopped", slog.Int64("event", ev.ID), slog.String("run", ev.SourceRun), slog.Int("depth", ev.Depth))
	if ev.SourceNode == "" || ev.SourceRun == "" {
		return
	}
	// The message quotes catalog identifiers, which a run wrote: it goes
	// through a redactor that knows that run's secrets.
	red, err := r.o.Engine.NoteRedactor(ctx, ev.SourceRun)
	if err != nil {
		r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "could not log the loop guard on the node run", slog.String("nodeRun", ev.SourceNode), slog.String("error", err.Error()))
		return
	}
	err = r.o.Store.AppendLogs(ctx, []store.Log{{NodeRunID: ev.SourceNode, Level: "WARN", Message: red.Text(msg), CreatedAt: r.o.Now()}})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "could not log the loop guard on the node run", slog.String("nodeRun", ev.SourceNode), slog.String("error", err.Error()))
	}
}

// condition evaluates an EVENT_TRIGGER's condition over the trigger
// output: every expression must be truthy (and) or one (or). A missing
// condition is true.
func condition(c *workflow.EventCondition, out map[string]any) (bool, error) {
	if c == nil || len(c.Expressions) == 0 {
		return true, nil
	}
	ctx := &tmpl.Context{Extra: out}
	for i, x := range c.Expressions {
		v, err := x.Eval(ctx)
		if err != nil {
			return false, fmt.Errorf("condition.expressions[%d]: %w", i, err)
		}
		t := v != nil && v != false
		if c.Combinator == "or" && t {
			return true, nil
		}
		if c.Combinator != "or" && !t {
			return false, nil
		}
	}
	return c.Combinator != "or", nil
}
