package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// TestStmtCache checks that the catalog's statements end up prepared once
// on their pool: a writer statement after the transaction that first ran
// it (preparing it inside would wait for the writer's one connection for
// ever), a read on first use; and that concurrent writers and readers
// through the cache neither block nor race (run with -race).
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{})
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now().UTC()
	if err := s.CreateBlueprint(ctx, store.Blueprint{Identifier: "svc", Definition: []byte(`{"identifier":"svc"}`), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const workers, writes = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*writes*2)
	for w := range workers {
		wg.Go(func() {
			var at time.Time
			for i := range writes {
				id := fmt.Sprintf("e%d", w)
				e := store.Entity{Blueprint: "svc", Identifier: id, Data: []byte(`{"title":"x"}`), CreatedAt: now, UpdatedAt: now.Add(time.Duration(i+1) * time.Millisecond)}
				ev := store.CatalogEvent{Action: store.ActionUpdate, Blueprint: "svc", Entity: id}
				if i == 0 {
					ev.Action = store.ActionCreate
				}
				if err := s.WriteEntity(ctx, store.EntityWrite{Entity: e, IfUpdatedAt: at, Event: &ev}); err != nil {
					errs <- fmt.Errorf("write %s #%d: %w", id, i, err)
					return
				}
				at = e.UpdatedAt
				if _, err := s.GetEntity(ctx, "svc", id); err != nil {
					errs <- fmt.Errorf("read %s #%d: %w", id, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := s.PendingCatalogEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != workers*writes {
		t.Errorf("%d pending events, want %d", len(evs), workers*writes)
	}
	s.sc.mu.Lock()
	defer s.sc.mu.Unlock()
	var onW, onR int
	for k := range s.sc.m {
		switch k.db {
		case s.w:
			onW++
		case s.r:
			onR++
		}
	}
	if onW == 0 || onR == 0 {
		t.Errorf("prepared on the writer: %d, on the readers: %d; want some of each", onW, onR)
	}
	if len(s.sc.want) != 0 {
		t.Errorf("%d writer statements still waiting to be prepared after every transaction ended", len(s.sc.want))
	}
}
