package storetest

import (
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// testCatalog checks store.CatalogStore and store.ScheduleStore, for stores
// that implement them; others skip it.
func testCatalog(t *testing.T, open opener) {
	probe := open(t)
	if _, ok := probe.(store.CatalogStore); !ok {
		t.Skip("the store does not implement store.CatalogStore")
	}
	cat := func(s store.Store) store.CatalogStore { return s.(store.CatalogStore) }

	t.Run("Blueprints", func(t *testing.T) {
		s := open(t)
		c := cat(s)
		must(t, "create", c.CreateBlueprint(ctx(t), store.Blueprint{Identifier: "service", Definition: []byte(`{"identifier":"service"}`), CreatedBy: "ann", CreatedAt: at(1)}))
		wantErr(t, "create again", c.CreateBlueprint(ctx(t), store.Blueprint{Identifier: "service", Definition: []byte(`{}`), CreatedBy: "bob"}), store.ErrExists)
		b, err := c.GetBlueprint(ctx(t), "service")
		must(t, "get", err)
		ch := checker{t, "blueprint"}
		ch.eq("UpdatedBy", b.UpdatedBy, "ann")
		ch.time("CreatedAt", b.CreatedAt, at(1))
		ch.time("UpdatedAt", b.UpdatedAt, at(1))
		ch.json("Definition", b.Definition, []byte(`{"identifier":"service"}`))
		wantErr(t, "update stale", c.UpdateBlueprint(ctx(t), store.Blueprint{Identifier: "service", Definition: []byte(`{"a":1}`), UpdatedBy: "bob", UpdatedAt: at(2)}, at(0)), store.ErrConflict)
		must(t, "update", c.UpdateBlueprint(ctx(t), store.Blueprint{Identifier: "service", Definition: []byte(`{"a":1}`), UpdatedBy: "bob", UpdatedAt: at(2)}, b.UpdatedAt))
		wantErr(t, "update missing", c.UpdateBlueprint(ctx(t), store.Blueprint{Identifier: "nope"}, at(1)), store.ErrNotFound)
		b, err = c.GetBlueprint(ctx(t), "service")
		must(t, "get", err)
		ch.eq("UpdatedBy", b.UpdatedBy, "bob")
		ch.time("UpdatedAt", b.UpdatedAt, at(2))
		ch.time("CreatedAt after update", b.CreatedAt, at(1))
		must(t, "create env", c.CreateBlueprint(ctx(t), store.Blueprint{Identifier: "env", Definition: []byte(`{}`), CreatedBy: "ann"}))
		bs, err := c.ListBlueprints(ctx(t))
		must(t, "list", err)
		if len(bs) != 2 || bs[0].Identifier != "env" || bs[1].Identifier != "service" {
			t.Fatalf("ListBlueprints = %v, want env, service", bs)
		}
		_, err = c.GetBlueprint(ctx(t), "nope")
		wantErr(t, "get missing", err, store.ErrNotFound)

		must(t, "entity", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod", Data: []byte(`{}`), CreatedBy: "ann"}}))
		wantErr(t, "delete with entities", c.DeleteBlueprint(ctx(t), "env"), store.ErrConflict)
		must(t, "delete entity", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod"}, Delete: true}))
		must(t, "delete", c.DeleteBlueprint(ctx(t), "env"))
		wantErr(t, "delete again", c.DeleteBlueprint(ctx(t), "env"), store.ErrNotFound)
	})

	t.Run("Entities", func(t *testing.T) {
		s := open(t)
		c := cat(s)
		for _, bp := range []string{"service", "env"} {
			must(t, "blueprint "+bp, c.CreateBlueprint(ctx(t), store.Blueprint{Identifier: bp, Definition: []byte(`{}`), CreatedBy: "ann"}))
		}
		wantErr(t, "entity of missing blueprint", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "nope", Identifier: "x", Data: []byte(`{}`)}}), store.ErrNotFound)
		ev := &store.CatalogEvent{Action: store.ActionCreate, Blueprint: "env", Entity: "prod", After: []byte(`{"identifier":"prod"}`), Depth: 1}
		must(t, "create prod", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod", Data: []byte(`{"title":"Prod"}`), CreatedBy: "ann", CreatedAt: at(1)}, Event: ev}))
		wantErr(t, "create twice", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod", Data: []byte(`{}`)}, Event: ev}), store.ErrExists)
		// A relation to a missing entity applies nothing, event included.
		wantErr(t, "missing ref", c.WriteEntity(ctx(t), store.EntityWrite{
			Entity: store.Entity{Blueprint: "service", Identifier: "api", Data: []byte(`{}`)},
			Refs:   []store.EntityRef{{Blueprint: "env", Identifier: "staging"}},
			Event:  &store.CatalogEvent{Action: store.ActionCreate, Blueprint: "service", Entity: "api", Depth: 1},
		}), store.ErrNotFound)
		if _, err := c.GetEntity(ctx(t), "service", "api"); err == nil {
			t.Fatal("an entity with a missing relation target was stored")
		}
		must(t, "create api", c.WriteEntity(ctx(t), store.EntityWrite{
			Entity: store.Entity{Blueprint: "service", Identifier: "api", Data: []byte(`{"relations":{"env":"prod"}}`), CreatedBy: "bob", CreatedAt: at(2)},
			Refs:   []store.EntityRef{{Blueprint: "env", Identifier: "prod"}},
		}))
		refs, err := c.ReferringEntities(ctx(t), store.EntityRef{Blueprint: "env", Identifier: "prod"})
		must(t, "referring", err)
		if len(refs) != 1 || refs[0] != (store.EntityRef{Blueprint: "service", Identifier: "api"}) {
			t.Fatalf("ReferringEntities = %v", refs)
		}
		wantErr(t, "delete a target", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod"}, Delete: true}), store.ErrConflict)

		e, err := c.GetEntity(ctx(t), "env", "prod")
		must(t, "get", err)
		ch := checker{t, "entity"}
		ch.time("CreatedAt", e.CreatedAt, at(1))
		ch.eq("UpdatedBy", e.UpdatedBy, "ann")
		ch.json("Data", e.Data, []byte(`{"title":"Prod"}`))
		wantErr(t, "stale update", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod", Data: []byte(`{}`)}, IfUpdatedAt: at(9)}), store.ErrConflict)
		wantErr(t, "update of missing", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "dev", Data: []byte(`{}`)}, IfUpdatedAt: at(9)}), store.ErrConflict)
		must(t, "update", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod", Data: []byte(`{"title":"Production"}`), UpdatedBy: "bob", UpdatedAt: at(3)}, IfUpdatedAt: e.UpdatedAt}))
		e, err = c.GetEntity(ctx(t), "env", "prod")
		must(t, "get", err)
		ch.time("CreatedAt after update", e.CreatedAt, at(1))
		ch.time("UpdatedAt after update", e.UpdatedAt, at(3))
		ch.eq("CreatedBy after update", e.CreatedBy, "ann")
		ch.eq("UpdatedBy after update", e.UpdatedBy, "bob")

		all, err := c.ListEntities(ctx(t), "")
		must(t, "list", err)
		if len(all) != 2 || all[0].Blueprint != "env" || all[1].Blueprint != "service" {
			t.Fatalf("ListEntities(\"\") = %v", all)
		}
		svc, err := c.ListEntities(ctx(t), "service")
		must(t, "list service", err)
		if len(svc) != 1 || svc[0].Identifier != "api" {
			t.Fatalf("ListEntities(service) = %v", svc)
		}
		// Deleting the referring entity frees the target.
		must(t, "delete api", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "service", Identifier: "api"}, Delete: true}))
		wantErr(t, "delete api again", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "service", Identifier: "api"}, Delete: true}), store.ErrNotFound)
		must(t, "delete prod", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "prod"}, Delete: true,
			Event: &store.CatalogEvent{Action: store.ActionDelete, Blueprint: "env", Entity: "prod", Before: []byte(`{"identifier":"prod"}`), Depth: 2, SourceRun: "wfr_1", SourceNode: "wfnr_1"}}))

		// The outbox: exactly the committed events, in order, until done.
		evs, err := c.PendingCatalogEvents(ctx(t), 0)
		must(t, "pending", err)
		if len(evs) != 2 || evs[0].Action != store.ActionCreate || evs[1].Action != store.ActionDelete || evs[0].ID >= evs[1].ID {
			t.Fatalf("PendingCatalogEvents = %+v, want CREATE then DELETE", evs)
		}
		d := evs[1]
		ch = checker{t, "event"}
		ch.json("Before", d.Before, []byte(`{"identifier":"prod"}`))
		ch.eq("After", d.After, []byte(nil))
		ch.eq("Depth", d.Depth, 2)
		ch.eq("SourceRun", d.SourceRun, "wfr_1")
		ch.eq("SourceNode", d.SourceNode, "wfnr_1")
		must(t, "done", c.MarkCatalogEventDone(ctx(t), evs[0].ID))
		must(t, "done again", c.MarkCatalogEventDone(ctx(t), evs[0].ID))
		wantErr(t, "done missing", c.MarkCatalogEventDone(ctx(t), 1<<40), store.ErrNotFound)
		evs, err = c.PendingCatalogEvents(ctx(t), 1)
		must(t, "pending", err)
		if len(evs) != 1 || evs[0].Action != store.ActionDelete {
			t.Fatalf("PendingCatalogEvents after done = %+v", evs)
		}
	})

	t.Run("Timers", func(t *testing.T) {
		s := open(t)
		c := cat(s)
		must(t, "blueprint", c.CreateBlueprint(ctx(t), store.Blueprint{Identifier: "env", Definition: []byte(`{}`)}))
		must(t, "dev", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "dev", Data: []byte(`{}`)},
			Timers: []store.EntityTimer{{Property: "ttl", At: at(10)}, {Property: "review", At: at(20)}}}))
		must(t, "gone", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "gone", Data: []byte(`{}`)},
			Timers: []store.EntityTimer{{Property: "ttl", At: at(5)}}}))
		must(t, "delete gone", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "gone"}, Delete: true}))
		n, err := c.FireDueTimers(ctx(t), at(9), 0)
		must(t, "fire early", err)
		if n != 0 {
			t.Fatalf("FireDueTimers before any is due (the deleted entity's timer went with it) = %d", n)
		}
		n, err = c.FireDueTimers(ctx(t), at(10), 0)
		must(t, "fire", err)
		if n != 1 {
			t.Fatalf("FireDueTimers at the deadline = %d, want 1", n)
		}
		n, err = c.FireDueTimers(ctx(t), at(15), 0)
		must(t, "fire again", err)
		if n != 0 {
			t.Fatalf("FireDueTimers fired a timer twice: %d", n)
		}
		evs, err := c.PendingCatalogEvents(ctx(t), 0)
		must(t, "pending", err)
		if len(evs) != 1 || evs[0].Action != store.ActionTimerExpired || evs[0].Entity != "dev" || evs[0].Property != "ttl" {
			t.Fatalf("events = %+v, want one TIMER_EXPIRED of dev.ttl", evs)
		}
		// Rewriting the entity replaces its timers.
		dev, err := c.GetEntity(ctx(t), "env", "dev")
		must(t, "get", err)
		must(t, "update dev", c.WriteEntity(ctx(t), store.EntityWrite{Entity: store.Entity{Blueprint: "env", Identifier: "dev", Data: []byte(`{}`)}, IfUpdatedAt: dev.UpdatedAt}))
		n, err = c.FireDueTimers(ctx(t), at(30), 0)
		must(t, "fire after rewrite", err)
		if n != 0 {
			t.Fatalf("a timer the entity no longer has fired: %d", n)
		}
	})

	t.Run("RunDepths", func(t *testing.T) {
		c := cat(open(t))
		d, err := c.RunDepth(ctx(t), "wfr_x")
		must(t, "depth of unknown run", err)
		if d != 0 {
			t.Fatalf("RunDepth of an unknown run = %d", d)
		}
		must(t, "record", c.RecordRunDepth(ctx(t), "wfr_x", 3))
		must(t, "record again", c.RecordRunDepth(ctx(t), "wfr_x", 3))
		if d, err = c.RunDepth(ctx(t), "wfr_x"); err != nil || d != 3 {
			t.Fatalf("RunDepth = %d, %v; want 3", d, err)
		}
	})

	t.Run("Schedules", func(t *testing.T) {
		s := open(t)
		ss, ok := s.(store.ScheduleStore)
		if !ok {
			t.Skip("the store does not implement store.ScheduleStore")
		}
		_, err := ss.GetSchedule(ctx(t), "nightly", "trigger")
		wantErr(t, "get missing", err, store.ErrNotFound)
		first := store.Schedule{WorkflowID: "nightly", Trigger: "trigger", Cron: "0 3 * * *", NextAt: at(1)}
		must(t, "create", ss.PutSchedule(ctx(t), first, time.Time{}))
		wantErr(t, "create twice", ss.PutSchedule(ctx(t), first, time.Time{}), store.ErrConflict)
		got, err := ss.GetSchedule(ctx(t), "nightly", "trigger")
		must(t, "get", err)
		checker{t, "schedule"}.time("NextAt", got.NextAt, at(1))
		next := first
		next.NextAt = at(2)
		must(t, "advance", ss.PutSchedule(ctx(t), next, got.NextAt))
		// A second process that read the old state loses.
		wantErr(t, "advance stale", ss.PutSchedule(ctx(t), next, got.NextAt), store.ErrConflict)
	})
}
